/**
 * Everything a sweep knows about itself, in one plain JSON value: the plan, each node's lanes and
 * rhythm, the jobs waiting and the work in flight, counts, the progress log, what operators said.
 * The core updates it; the driver keeps it; continue-as-new carries it on. Pure code.
 */
import type { SweepJob } from '../jobs';
import type { SweepNode } from '../nodes';
import type { LiveSettings, NodeProgress, SweepEvent as ProgressEvent, SweepProgress } from '../progress';
import type { AttemptResult, AttemptSummary, JobResult, NodeCheck, ResultsJson } from '../results';
import type { SweepPlan } from '../sweep-plan';
import type { TimelineEntry } from '../timeline';
import type { NodeOutcome } from './events';

/** A job waiting for a GPU, with what its earlier attempts did. */
export interface QueuedJob {
  job: SweepJob;
  /** 1-based number of the attempt this entry will be. */
  attempt: number;
  previous: AttemptSummary[];
  /** Where the previous attempt failed: another GPU is preferred. */
  avoid?: { node: string; gpu: number };
  /** The previous attempt's result: the job's final one if no node is left to run this retry. */
  last?: AttemptResult;
  /** A retry waits out its backoff: not before this time (epoch ms). */
  notBeforeMs?: number;
}

/** One attempt of a job, from its dispatch to its end. */
export interface JobWork {
  kind: 'job';
  entry: QueuedJob;
  node: string;
  gpu: number;
  /** 1-based batch number as users see it. */
  batch: number;
  /** Counts as running: it holds its GPU (a standby, sent behind the attempt holding it, only once that one ended). */
  counted: boolean;
  /** Its process runs (the node gave it the GPU), when it reported so. */
  started: boolean;
  /** Withdrawn (a standby on a node or GPU taken out of service): it goes back to the queue. */
  withdrawn?: boolean;
  cancelRequested?: boolean;
}

/** Work the core asked for that has not ended yet, by work id. */
export type Work =
  | { kind: 'plan' }
  | { kind: 'check'; node: string }
  | { kind: 'warmup'; node: string; gpu: number }
  | { kind: 'load'; start: number; end: number }
  | JobWork
  | { kind: 'reset'; node: string; startedAtMs: number; cycle: boolean }
  | { kind: 'probe'; node: string; lost: boolean }
  | { kind: 'record' }
  | { kind: 'write' }
  | { kind: 'tell' };

/** A node's GPU lanes: which GPUs are free (the one idle longest first) and who sits on the busy ones. */
export interface Lanes {
  free: number[];
  /** Per busy GPU, the attempts (work ids) on it, oldest first: the holder, then perhaps a standby. */
  seats: Record<string, number[]>;
  /** Busy GPUs, the one whose current attempt began first leading. */
  busyOrder: number[];
}

/** What a node is doing within the sweep. */
export interface NodeRuntime {
  lanes: Lanes;
  /** First attempts it started in the current batch (its per-batch cap). */
  firstStarts: number;
  /** Rolling: attempts it started since its last reset and cooldown. */
  cycleStarts: number;
  /** Rolling: where the node is in its own upkeep (upkeep.ts); null while it works. */
  cycle: NodeCycle | null;
  /** The node's last attempt, until it reports its start (or ends): a staggered node times its next start from it. */
  awaitingStart: number | null;
  /** When the node's last attempt started (its report), or ended without starting: where its stagger counts from. */
  lastStartedAtMs: number | null;
  endedUnstartedAtMs: number | null;
  /** Shown state while upkeep runs on it. */
  upkeep: 'resetting' | 'cooling down' | null;
  /** A node lost mid-batch is probed again at this time. */
  reprobeAtMs: number | null;
  done: number;
  failed: number;
  lastFinished: NodeProgress['lastFinished'];
  /** Left out of the whole sweep by pre-flight. */
  leftOutByPreflight: boolean;
}

/** The batch (or, without batches, the segment) in progress. */
export interface Batch {
  /** 0-based count of batches (segments) this sweep began; carried across continue-as-new. */
  index: number;
  /** As users see it: 1 for every segment of a sweep without batches. */
  number: number;
  /** First attempts one node may start in it; null when unlimited. */
  perNodeCap: number | null;
  startedAtMs: number;
}

/** The batch as users see it: its start and end lines, across the segments that carry its number. */
export interface ShownBatch {
  number: number;
  jobs: number;
  finished: number;
  successful: number;
}

/** Between two batches: the cluster's upkeep (upkeep.ts) — a pause, the rigs' reset, the cooldown, the probes. */
export interface Between {
  step: 'pause' | 'drain' | 'reset' | 'cooldown' | 'probe' | 'probe-wait' | 'done';
  sinceMs: number;
  untilMs?: number;
  /** The step's work was asked for. */
  started?: boolean;
  /** The nodes the step's work runs on, and what each reported. */
  nodes?: string[];
  outcomes?: Record<string, NodeOutcome>;
  /** on_failure "wait": the nodes probed again. */
  failing?: string[];
}

/** A node's own upkeep, at the stages it rests at, under the names it always had. */
export type NodeCycle = Omit<Between, 'step' | 'sinceMs' | 'failing'> & { step: 'draining' | 'resetting' | 'cooling'; sinceMs?: number };

export interface Steering {
  pauseRequested: boolean;
  /** Excluded GPUs per node; `all` for a whole node. */
  excluded: Record<string, number[] | 'all'>;
  /** Nodes whose last probe failed (or that were lost mid-batch), with why: out until a probe passes. */
  leftOut: Record<string, string>;
  probeFailures: Record<string, number>;
  /** Nodes that failed `quarantine_after` probes in a row: out for the rest of the sweep. */
  quarantined: Record<string, string>;
  /** The batches still to come must be planned again from the live numbers and nodes. */
  replanNeeded: boolean;
}

export interface SweepState {
  phase: SweepProgress['phase'];
  sweepName: string;
  startedAtMs: number;
  /** After pre-flight: the nodes in service; batches planned over them. */
  plan: SweepPlan | null;
  /** Every node planned, those pre-flight left out too (shown as left out). */
  allNodes: SweepNode[];
  settings: LiveSettings | null;
  steering: Steering;
  nextWork: number;
  work: Record<string, Work>;
  nodes: Record<string, NodeRuntime>;
  /** Pre-flight: checking nodes, warming up GPUs (node → its next GPU), or over. */
  preflightStage: 'checks' | 'warm-ups' | 'done';
  warmups: Record<string, number>;
  /** Batches (segments) begun so far. */
  batchesBegun: number;
  batchCount: number;
  batch: Batch | null;
  shown: ShownBatch | null;
  between: Between | null;
  /** First job index not yet loaded. */
  cursor: number;
  queue: QueuedJob[];
  unrecorded: JobResult[];
  timeline: TimelineEntry[];
  counts: { done: number; failed: number; retries: number; running: number };
  log: { events: ProgressEvent[]; seq: number };
  warnings: string[];
  preflight: NodeCheck[];
  stoppedReason: string | null;
  waitingFor: string | null;
  /** The earliest time a timer was asked for and has not fired (null: none pending). */
  timerAtMs: number | null;
  runDue: boolean;
  cancelled: boolean;
  /** Work a cancel asked to stop. */
  cancelling: number[];
  finalResults: ResultsJson | null;
  over: boolean;
}

/** A sweep the plan activity has planned: from pre-flight on, it has its plan. */
export type PlannedState = SweepState & { plan: SweepPlan };

/** A sweep in service: pre-flight is over and the operators' numbers are in force. */
export type ServingState = PlannedState & { settings: LiveSettings };

/** Warnings are kept in the result; a sweep that warns at every batch must not grow its payload forever. */
export const MAX_CARRIED_WARNINGS = 200;

/** Progress events a continued run keeps: enough for a follower that polls every half second to miss nothing across the hand-over. */
export const CARRIED_EVENTS = 100;
