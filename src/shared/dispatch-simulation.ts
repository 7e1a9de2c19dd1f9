/**
 * The dispatcher on paper: where and when every job of a sweep would run if each trial took a
 * known time. `rigsweep plan` and `--dry-run` print it; comparing dispatch policies starts from it.
 *
 * It follows the rules of `src/workflows/dispatch.ts` and `trialSweep`, which are the truth, for a
 * sweep in which every job succeeds at its first attempt: batches are barriers, run in order;
 * before every batch but the first the rigs reset, then a cooldown runs; inside a batch every
 * node, in config order, feeds from one shared queue of the batch's jobs (in job order), at most
 * `perNodeCap` jobs per node, one job per free lane, on the GPU idle longest. After each start a
 * node waits its stagger before it may start again — `feedNode` sleeps while the batch is not
 * done, which it never is right after a start — so a batch ends when its last job has ended and
 * every node's last stagger wait has run out.
 *
 * It is a small discrete-event simulation on whole milliseconds (the workflow's timers count in
 * milliseconds too), so equal instants compare equal and ties break the same way every time:
 * at one instant, jobs that end release their GPUs first (the one started first, first), then
 * nodes that may start take the queue head in rounds, earlier-listed nodes first, one job per
 * node per round (a node without stagger may take again in the next round, after the others,
 * as the workflow's feeders take turns while their start signals come in). A start counts as
 * confirmed at once.
 * Pure code: it imports nothing from Node.
 */
import type { SweepNode } from './nodes';
import type { BatchRange } from './planner';
import type { SweepPlan } from './sweep-plan';

export type SimulationPlan = Pick<SweepPlan, 'nodes' | 'batches' | 'perNodeCap' | 'cooldownSeconds' | 'resetBetweenBatches'>;

export interface SimulationOptions {
  /** A trial's duration in seconds: the same for all, or per job index (0-based, in job order). */
  trialSeconds: number | ((jobIndex: number) => number);
  /** How long the reset of the rigs between batches takes; default 0. */
  resetSeconds?: number;
}

/** One job as the dispatcher would run it; times are seconds from the start of the sweep. */
export interface SimulatedJob {
  jobId: string;
  /** 1-based, as in the Results JSON. */
  batch: number;
  node: string;
  gpu: number;
  start: number;
  end: number;
}

/** One batch: from its first start to its barrier (last job ended, last stagger wait over). */
export interface SimulatedBatch {
  /** 1-based. */
  batch: number;
  jobs: number;
  start: number;
  end: number;
}

export interface SimulatedSweep {
  /** Every job, in job order. */
  jobs: SimulatedJob[];
  batches: SimulatedBatch[];
  /** Seconds from the sweep's start to the end of its last batch. */
  makespan: number;
}

/** Plays the sweep through the dispatcher's rules; throws when a batch could never finish. */
export function simulateSweep(plan: SimulationPlan, jobIds: string[], options: SimulationOptions): SimulatedSweep {
  const lastEnd = plan.batches.at(-1)?.end ?? 0;
  if (jobIds.length !== lastEnd) throw new RangeError(`simulateSweep: ${jobIds.length} job ids for batches that cover ${lastEnd} jobs`);
  const trialMs = trialDurations(options.trialSeconds);
  const betweenBatchesMs = resetMs(plan, options.resetSeconds ?? 0) + toMs(plan.cooldownSeconds);

  const runs: JobRun[] = [];
  const batches: SimulatedBatch[] = [];
  let clock = 0;
  for (const batch of plan.batches) {
    if (batch.index > 0) clock += betweenBatchesMs;
    const result = simulateBatch(plan, batch, clock, trialMs);
    runs.push(...result.runs);
    batches.push({ batch: batch.index + 1, jobs: batch.end - batch.start, start: toSeconds(clock), end: toSeconds(result.endMs) });
    clock = result.endMs;
  }
  runs.sort((a, b) => a.jobIndex - b.jobIndex);
  const jobs = runs.map((run) => ({
    jobId: jobIds[run.jobIndex],
    batch: run.batch,
    node: run.node,
    gpu: run.gpu,
    start: toSeconds(run.startMs),
    end: toSeconds(run.endMs),
  }));
  return { jobs, batches, makespan: toSeconds(clock) };
}

const toMs = (seconds: number): number => Math.round(seconds * 1000);
const toSeconds = (ms: number): number => ms / 1000;

function trialDurations(trialSeconds: SimulationOptions['trialSeconds']): (jobIndex: number) => number {
  return (jobIndex) => {
    const seconds = typeof trialSeconds === 'number' ? trialSeconds : trialSeconds(jobIndex);
    if (!Number.isFinite(seconds) || seconds < 0) throw new RangeError(`simulateSweep: trial seconds of job ${jobIndex} must be a finite number ≥ 0, got ${seconds}`);
    return toMs(seconds);
  };
}

/** `trialSweep` resets only rigs (not localhost), and only when the plan asks for resets. */
function resetMs(plan: SimulationPlan, resetSeconds: number): number {
  return plan.resetBetweenBatches && plan.nodes.some((node) => !node.isLocal) ? toMs(resetSeconds) : 0;
}

interface JobRun {
  jobIndex: number;
  batch: number;
  node: string;
  gpu: number;
  startMs: number;
  endMs: number;
  feeder: NodeFeeder;
}

/** One node's feeder in one batch: its lanes, its GPUs (idle longest first), its count and stagger. */
class NodeFeeder {
  private readonly freeGpus: number[];
  private busy = 0;
  private started = 0;
  /** Until when the node waits its stagger after its last start (the batch waits for it too). */
  staggerUntilMs = -Infinity;

  constructor(
    readonly node: SweepNode,
    private readonly cap: number,
  ) {
    this.freeGpus = Array.from({ length: node.gpuCount }, (_, gpu) => gpu);
  }

  /** The dispatcher's `nextTakeable() >= 0` when every entry is a first attempt: a job left, the cap not reached. */
  wantsMore(queue: number[]): boolean {
    return queue.length > 0 && this.started < this.cap;
  }

  canStartAt(nowMs: number): boolean {
    return nowMs >= this.staggerUntilMs && this.busy < this.node.maxConcurrent && this.freeGpus.length > 0;
  }

  take(): number {
    this.busy++;
    this.started++;
    return this.freeGpus.shift()!;
  }

  release(gpu: number): void {
    this.busy--;
    this.freeGpus.push(gpu);
  }
}

interface BatchState {
  batch: BatchRange;
  queue: number[];
  feeders: NodeFeeder[];
  running: JobRun[];
  runs: JobRun[];
  trialMs: (jobIndex: number) => number;
}

/** Runs one batch from `startMs` to its barrier. */
function simulateBatch(plan: SimulationPlan, batch: BatchRange, startMs: number, trialMs: (jobIndex: number) => number): { runs: JobRun[]; endMs: number } {
  const state: BatchState = {
    batch,
    queue: Array.from({ length: batch.end - batch.start }, (_, i) => batch.start + i),
    feeders: plan.nodes.map((node) => new NodeFeeder(node, plan.perNodeCap ?? Infinity)),
    running: [],
    runs: [],
    trialMs,
  };
  let endMs = startMs;
  for (let nowMs: number | undefined = startMs; nowMs !== undefined; nowMs = nextEventMs(state, nowMs)) {
    releaseEndedJobs(state, nowMs);
    startJobsInRounds(state, nowMs);
    endMs = nowMs;
  }
  if (state.queue.length > 0) {
    throw new RangeError(`simulateSweep: batch ${batch.index + 1} leaves ${state.queue.length} jobs unstarted (the nodes' per-batch caps or lanes cannot take them)`);
  }
  return { runs: state.runs, endMs };
}

/** Jobs ending now free their GPUs, the one started first first, so those GPUs go to the back. */
function releaseEndedJobs(state: BatchState, nowMs: number): void {
  const ended = state.running.filter((run) => run.endMs <= nowMs);
  state.running = state.running.filter((run) => run.endMs > nowMs);
  for (const run of ended) run.feeder.release(run.gpu);
}

/** Each round every node that may start takes the queue head, in config order, until none may. */
function startJobsInRounds(state: BatchState, nowMs: number): void {
  for (;;) {
    let started = false;
    for (const feeder of state.feeders) {
      if (feeder.wantsMore(state.queue) && feeder.canStartAt(nowMs)) {
        startJob(state, feeder, nowMs);
        feeder.staggerUntilMs = nowMs + toMs(feeder.node.staggerSeconds);
        started = true;
      }
    }
    if (!started) return;
  }
}

/** Takes the queue head onto the node's GPU idle longest; the start counts as confirmed at once. */
function startJob(state: BatchState, feeder: NodeFeeder, nowMs: number): void {
  const jobIndex = state.queue.shift()!;
  const run: JobRun = {
    jobIndex,
    batch: state.batch.index + 1,
    node: feeder.node.name,
    gpu: feeder.take(),
    startMs: nowMs,
    endMs: nowMs + state.trialMs(jobIndex),
    feeder,
  };
  state.running.push(run);
  state.runs.push(run);
}

/** The next instant something happens (a job ends, a stagger wait runs out); none once all is over. */
function nextEventMs(state: BatchState, nowMs: number): number | undefined {
  // A job of 0 ms that started now still has to end now, and free its GPU.
  const times = [...state.running.map((run) => run.endMs), ...state.feeders.map((feeder) => feeder.staggerUntilMs).filter((t) => t > nowMs)];
  return times.length > 0 ? Math.min(...times) : undefined;
}
