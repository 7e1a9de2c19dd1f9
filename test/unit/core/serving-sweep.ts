/**
 * A small sweep driven through the core's public `decide`, for the unit tests of the dispatcher's
 * rule files: plans written out by hand (a reader can check every batch), events as the workflow
 * would send them, and the decisions each step returns. Nothing here computes an expected value.
 */
import { jobBatchingSchema, nodeHealthSchema } from '../../../src/shared/config';
import { decide } from '../../../src/shared/dispatch/core';
import type { Decision } from '../../../src/shared/dispatch/decisions';
import type { SweepEvent } from '../../../src/shared/dispatch/events';
import { initialState } from '../../../src/shared/dispatch/init';
import type { SweepState } from '../../../src/shared/dispatch/state';
import type { SweepJob } from '../../../src/shared/jobs';
import type { SweepNode } from '../../../src/shared/nodes';
import type { AttemptResult } from '../../../src/shared/results';
import type { BatchRange, SweepPlan } from '../../../src/shared/sweep-plan';
import { node as baseNode, plan as basePlan } from './sweep-fixtures';

export function node(name: string, gpuCount: number, staggerSeconds = 0, extra: Partial<SweepNode> = {}): SweepNode {
  return baseNode(name, gpuCount, { staggerSeconds, ...extra });
}

export const jobs = (count: number): SweepJob[] =>
  Array.from({ length: count }, (_, i) => ({ kind: 'script', job_id: `j${i}`, script: 'train.py', args: [], timeout: 60 }));

export interface PlanShape {
  nodes: SweepNode[];
  totalJobs: number;
  /** Barrier batches as written; absent: a sweep without batches (one batch, read in segments). */
  batches?: { ranges: [number, number][]; perNodeCap: number; maxJobsPerBatch: number };
  mode?: 'barrier' | 'rolling';
  maxRetries?: number;
  retryBackoffSeconds?: number;
  cooldownSeconds?: number;
  nodeHealth?: Partial<SweepPlan['nodeHealth']>;
}

/** A plan with pre-flight off, so the sweep is in service as soon as it is planned. */
export function plan(shape: PlanShape): SweepPlan {
  const batched = shape.batches;
  const ranges: BatchRange[] = (batched?.ranges ?? [[0, shape.totalJobs]]).map(([start, end], index) => ({ index, start, end }));
  return basePlan(shape.nodes, shape.totalJobs, {
    batches: ranges,
    perNodeCap: batched ? batched.perNodeCap : null,
    resetBetweenBatches: batched !== undefined,
    cooldownSeconds: shape.cooldownSeconds ?? 0,
    maxRetries: shape.maxRetries ?? 0,
    retryBackoffSeconds: shape.retryBackoffSeconds ?? 5,
    batching: jobBatchingSchema.parse({
      enabled: batched !== undefined,
      mode: shape.mode ?? 'barrier',
      ...(batched ? { max_jobs_per_batch: batched.maxJobsPerBatch, max_jobs_per_node_per_batch: batched.perNodeCap } : {}),
      inter_batch_cooldown_seconds: shape.cooldownSeconds ?? 0,
    }),
    nodeHealth: nodeHealthSchema.parse({ probe_before_batch: false, ...shape.nodeHealth }),
  });
}

/** Two barrier batches of two jobs over two one-GPU nodes, a and b (one job per node per batch), with what else the case sets. */
export function twoBatchesOfTwo(rest: Omit<PlanShape, 'nodes' | 'totalJobs' | 'batches'> = {}): SweepPlan {
  const batches = {
    ranges: [
      [0, 2],
      [2, 4],
    ] as [number, number][],
    perNodeCap: 1,
    maxJobsPerBatch: 2,
  };
  return plan({ nodes: [node('a', 1), node('b', 1)], totalJobs: 4, batches, ...rest });
}

/** A sweep being driven: its state, the clock, and the work it asked for that has not ended. */
export class Sweep {
  readonly state: SweepState = initialState(0);
  now = 0;
  /** Every decision so far, in order. */
  readonly decided: Decision[] = [];

  constructor(
    readonly plan: SweepPlan,
    readonly jobList: SweepJob[] = jobs(plan.totalJobs),
  ) {}

  /** Feeds one event at `at` (default: the current time) and returns the step's decisions. */
  send(event: SweepEvent, at = this.now): Decision[] {
    this.now = at;
    const made = decide(this.state, event, at);
    this.decided.push(...made);
    return made;
  }

  /** Planned and in service; jobs read as the core asks for them. Returns the decisions after the first read. */
  start(): Decision[] {
    const [asked] = this.send({ type: 'begin' });
    return this.load(this.send({ type: 'planned', work: (asked as Extract<Decision, { type: 'plan' }>).work, plan: this.plan }));
  }

  /** Answers every `loadJobs` among `decisions` with the jobs it names, and returns what followed. */
  load(decisions: Decision[]): Decision[] {
    const loads = decisions.filter((d): d is Extract<Decision, { type: 'loadJobs' }> => d.type === 'loadJobs');
    let after: Decision[] = decisions.filter((d) => d.type !== 'loadJobs');
    for (const read of loads) after = [...after, ...this.send({ type: 'jobsLoaded', work: read.work, jobs: this.jobList.slice(read.start, read.end) })];
    return after;
  }

  /** The attempt of `jobId` in flight, by its start decision. */
  attempt(jobId: string): StartJob {
    const start = [...this.decided].reverse().find((d): d is StartJob => d.type === 'startJob' && d.job.job_id === jobId);
    if (!start) throw new Error(`no start of ${jobId}`);
    return start;
  }

  started(jobId: string, at = this.now): Decision[] {
    return this.send({ type: 'jobStarted', work: this.attempt(jobId).work, startedAtMs: at }, at);
  }

  ended(jobId: string, success: boolean, at = this.now): Decision[] {
    return this.send({ type: 'jobEnded', work: this.attempt(jobId).work, result: resultOf(this.attempt(jobId), success, at) }, at);
  }

  /** The attempt of `jobId` comes back as its node lost past the job's lease (SSH_ERROR, lost contact). */
  lost(jobId: string, at = this.now): Decision[] {
    const result: AttemptResult = {
      ...resultOf(this.attempt(jobId), false, at),
      failure_mode: 'SSH_ERROR',
      exit_code: null,
      error: 'lost contact',
      lost_contact: true,
    };
    return this.send({ type: 'jobEnded', work: this.attempt(jobId).work, result }, at);
  }

  /** Answers a probe: the node reachable, its health command passing (`healthy`) or not; unreachable when `healthy` is null. */
  probed(probe: Extract<Decision, { type: 'probeNode' }>, healthy: boolean | null, at = this.now): Decision[] {
    const reachable = healthy !== null;
    const message = healthy ? 'ok' : reachable ? 'health_command exited 1' : 'unreachable';
    return this.send(
      { type: 'nodeProbed', work: probe.work, probe: { node: probe.node.name, reachable, latency_ms: 1, hip_cache_cleared: null, message, healthy } },
      at,
    );
  }

  /**
   * Answers at once the housekeeping among `decisions` and all that follows from it — reads with
   * their jobs, records, resets (each fine) — and returns every decision made, these included.
   */
  settle(decisions: Decision[], at = this.now): Decision[] {
    const made = [...decisions];
    for (let i = 0; i < made.length; i++) {
      const d = made[i];
      if (d.type === 'loadJobs') made.push(...this.send({ type: 'jobsLoaded', work: d.work, jobs: this.jobList.slice(d.start, d.end) }, at));
      else if (d.type === 'record') made.push(...this.send({ type: 'recorded', work: d.work }, at));
      else if (d.type === 'resetNode') made.push(...this.send({ type: 'nodeReset', work: d.work, outcome: { ok: true, message: 'reset' } }, at));
    }
    return made;
  }
}

export type StartJob = Extract<Decision, { type: 'startJob' }>;

export const starts = (decisions: Decision[]): StartJob[] => decisions.filter((d): d is StartJob => d.type === 'startJob');
export const ofType = <T extends Decision['type']>(decisions: Decision[], type: T): Extract<Decision, { type: T }>[] =>
  decisions.filter((d): d is Extract<Decision, { type: T }> => d.type === type);

/** What the attempt a start decision asked for reports at its end: an exit 0, or a retryable exit 1. */
export function resultOf(start: StartJob, success: boolean, endedAtMs: number): AttemptResult {
  return {
    job_id: start.job.job_id,
    success,
    node: start.node.name,
    gpu_id: start.gpu,
    batch: start.batch,
    attempt: start.attempt,
    runtime: 1,
    exit_code: success ? 0 : 1,
    signal: null,
    failure_mode: success ? null : 'EXIT_CODE',
    error: success ? null : 'exit 1',
    output_file: null,
    local_output: null,
    started_at: new Date(endedAtMs - 1000).toISOString(),
    ended_at: new Date(endedAtMs).toISOString(),
    stderr_tail: '',
  };
}
