/**
 * What the oracle knows of one sweep: the scenario it was given and everything it heard and
 * judged since. One mutable object shared by the rule modules (nodes, lanes, attempts, batches,
 * pre-flight, end), so each concern's rules read the others' facts without a copy to keep in step.
 */
import type { Scenario } from '../scenario';
import type { SimProcess } from '../sim-process';
import { RuleBroken } from './rule';
import type { ExpectedPreflightLine } from './shown';
import { Timeline } from './timeline';

export type Mode = 'barrier' | 'rolling' | 'unbatched' | 'other';

/** The scenario as the oracle reads it: the config the test wrote, the jobs, the retries. */
export interface OracleInput {
  sweep: string;
  scenario: Pick<Scenario, 'nodes' | 'batching' | 'preflight' | 'nodeHealth' | 'retryBackoffSeconds'>;
  jobCount: number;
  maxRetries: number;
  /** The mode the sweep runs under when it is not the config's (a policy handed to the simulator). */
  mode?: string;
}

export interface NodeRules {
  name: string;
  gpus: number;
  maxConcurrent: number;
  local: boolean;
  stagger: number;
  /** Out of service, each for its own reason. */
  preflightOut: boolean;
  leftOut: boolean;
  /** Failed probes in a row. */
  probeFailures: number;
  quarantined: boolean;
  excluded: 'all' | Set<number>;
  /** When its service last changed: a rig taken out or put back between batches may have missed the reset. */
  serviceChangedAt: number;
  /** Stagger: the last dispatch not yet confirmed started (nor ended), the latest confirmed start. */
  awaiting: number | null;
  lastStartMs: number | null;
  /** When a health probe of it last answered; it was left out by one before a batch (not as a lost node). */
  probedAt: number;
  leftOutByProbe: boolean;
  /** When a lost node's probe last failed without quarantining it: the next waits 5 s (docs/sweeps.md). */
  lostProbeFailedAt: number;
  /** Rolling: starts since its last upkeep, when it last drained, its last reset's end. */
  cycleStarts: number;
  /** Rolling: its reset ended here; its next start waits out the cooldown. */
  cooldownFrom: number | null;
  drainedAt: number;
  resetDoneAt: number;
}

/** An attempt in flight, as the oracle follows it: where it was sent, and what it heard since. */
export interface Attempt extends Pick<SimProcess, 'work' | 'jobId' | 'node' | 'gpu' | 'attempt' | 'batch'> {
  startedConfirmed: boolean;
  /** Sent behind another attempt on its GPU, waiting there for that one to end. */
  standby: boolean;
  withdrawn: boolean;
}

export interface JobHistory {
  live: number | null;
  /** The latest attempt dispatched (withdrawn ones are dispatched again as the same attempt). */
  lastAttempt: number;
  lastWithdrawn: boolean;
  /** The batch its last attempt ran in. */
  batch: number;
  /** How the last attempt that ended ended. */
  endedAt: number;
  retryable: boolean;
  final: boolean;
}

/** A piece of work in flight, with its kind (and node, for node work). */
export interface PendingWork {
  kind: string;
  node?: string;
  /** When the work was asked for. */
  at?: number;
  health?: boolean;
  lost?: boolean;
  /** A warm-up's GPU. */
  gpu?: number;
}

/** A batch's first attempts, in all and per node, against the caps it began with. */
export interface BatchStarts {
  total: Set<string>;
  perNode: Map<string, Set<string>>;
  maxJobs: number;
  perNodeCap: number;
}

export interface OracleState {
  readonly input: OracleInput;
  readonly mode: Mode;
  readonly nodes: Map<string, NodeRules>;
  /** Settings an operator may `set` while the sweep runs. */
  readonly maxJobsPerBatch: Timeline<number>;
  readonly perNodeCap: Timeline<number>;
  readonly cooldown: Timeline<number>;
  paused: boolean;
  cancelled: boolean;
  over: boolean;
  readonly attempts: Map<number, Attempt>;
  readonly jobs: Map<string, JobHistory>;
  /** Work in flight by id. */
  readonly pending: Map<number, PendingWork>;
  readonly cancelAsked: Set<number>;
  /** Pre-flight's checks: asked, answered unreachable, and whether every one has answered. */
  preflightAsked: number;
  preflightAnswered: number;
  readonly unreachable: string[];
  preflightVerdictAt: number | null;
  firstBatchBegun: boolean;
  /** Barrier batches and rolling segments: the highest batch begun, its starts, when the cluster last drained. */
  batch: number;
  readonly batchStarts: Map<number, BatchStarts>;
  drainedAt: number;
  /** Jobs were read since the cluster last drained: the next batch began then (a pause after it lets it run). */
  readSinceDrained: boolean;
  /** Final records by batch, as the core appended them; batches the core declared over. */
  readonly records: Map<number, { finished: number; failed: number }>;
  readonly recorded: Set<string>;
  readonly overBatches: Set<number>;
  thresholdStop: boolean;
  /** A batch ended above max_fail_percentage with jobs left: the sweep must stop and say why. */
  stopRequired: boolean;
  /** A node failed its probe before a batch under on_failure "fail". */
  mustFailForHealth: boolean;
  /** The stagger in force when each attempt was dispatched: what the node must space its start by. */
  readonly staggerAt: Map<number, number>;
  /** Resets that ended, as they happened, not yet found in the timeline the sweep records. */
  readonly resetsUnrecorded: ResetSpan[];
  /** What users see: the plan heard and its memo published, jobs asked to be read, the batch lines shown. */
  planned: boolean;
  /** Jobs recorded when the cancel was heard. */
  recordedAtCancel: number | null;
  /** The Results JSON asked for: the sweep's last work. */
  writing: boolean;
  /** The run is due to continue as new (heard `runDue`, no continue-as-new decided since). */
  runDue: boolean;
  planPublished: boolean;
  loaded: number;
  readonly batchStartShown: Set<number>;
  readonly batchEndShown: Map<number, { jobs: number; successful: number }>;
  /** The pre-flight lines the step being judged must show (its check answers and warm-up outcomes). */
  preflightLines: ExpectedPreflightLine[];
  /** The probe lines the step must show when it answered a lost node's probe (null: it did not). */
  probeLines: { node: string; verdict: string }[] | null;
  /** Per node with a warmup_command: the next GPU to warm up (one after another from 0). */
  readonly warmedUpTo: Map<string, number>;
}

/** One reset of a rig, from when it was asked for to its outcome. */
export interface ResetSpan {
  node: string;
  start_ms: number;
  end_ms: number;
  ok: boolean;
}

/** The sweep before anything happened: every node with GPUs in service, the settings as configured. */
export function initialState(input: OracleInput): OracleState {
  const { scenario } = input;
  const batching = scenario.batching;
  const batched = batching.enabled && input.jobCount > batching.max_jobs_per_batch;
  const named = input.mode ?? batching.mode;
  const mode: Mode = input.mode === undefined && !batched ? 'unbatched' : named === 'barrier' || named === 'rolling' ? named : 'other';
  const nodes = new Map<string, NodeRules>();
  for (const node of scenario.nodes) {
    if (node.gpus === 0) continue;
    nodes.set(node.name, {
      name: node.name,
      gpus: node.gpus,
      maxConcurrent: Math.min(node.gpus, node.maxConcurrent),
      local: node.local,
      stagger: node.stagger,
      preflightOut: false,
      leftOut: false,
      probeFailures: 0,
      quarantined: false,
      excluded: new Set(),
      serviceChangedAt: -Infinity,
      awaiting: null,
      lastStartMs: null,
      probedAt: -Infinity,
      leftOutByProbe: false,
      lostProbeFailedAt: -Infinity,
      cycleStarts: 0,
      cooldownFrom: null,
      drainedAt: -Infinity,
      resetDoneAt: -Infinity,
    });
  }
  return {
    input,
    mode,
    nodes,
    maxJobsPerBatch: new Timeline(batching.max_jobs_per_batch),
    perNodeCap: new Timeline(batching.max_jobs_per_node_per_batch),
    cooldown: new Timeline(batched ? batching.inter_batch_cooldown_seconds : 0),
    paused: false,
    cancelled: false,
    over: false,
    attempts: new Map(),
    jobs: new Map(),
    pending: new Map(),
    cancelAsked: new Set(),
    preflightAsked: 0,
    preflightAnswered: 0,
    unreachable: [],
    preflightVerdictAt: null,
    firstBatchBegun: false,
    batch: 0,
    batchStarts: new Map(),
    drainedAt: -Infinity,
    readSinceDrained: false,
    records: new Map(),
    recorded: new Set(),
    overBatches: new Set(),
    thresholdStop: false,
    stopRequired: false,
    mustFailForHealth: false,
    staggerAt: new Map(),
    resetsUnrecorded: [],
    planned: false,
    recordedAtCancel: null,
    writing: false,
    runDue: false,
    planPublished: false,
    loaded: 0,
    batchStartShown: new Set(),
    batchEndShown: new Map(),
    preflightLines: [],
    probeLines: null,
    warmedUpTo: new Map(),
  };
}

/** The node work was sent to; work on a node the sweep does not have is itself a broken rule. */
export function nodeNamed(state: OracleState, name: string): NodeRules {
  const node = state.nodes.get(name);
  if (!node) throw new RuleBroken(`work on a node the sweep does not have: ${name}`);
  return node;
}

/** The sweep's attempts in flight on a node (standbys included). */
export function liveOn(state: OracleState, name: string): Attempt[] {
  return [...state.attempts.values()].filter((a) => a.node === name);
}

/** Attempts on the node that hold a GPU: the first live attempt on each GPU. */
export function holdingOn(state: OracleState, name: string): number {
  return new Set(liveOn(state, name).map((a) => a.gpu)).size;
}
