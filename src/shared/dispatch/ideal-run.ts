/**
 * The dispatcher core on paper: the same `decide` the workflow runs, played on a virtual clock
 * against an ideal cluster where every trial succeeds after a known time, so `rigsweep plan`, the
 * dry run and the benchmark's estimates show where and when each job would run. The nodes keep
 * their own start permits as real ones do: one trial per GPU, starts `stagger_delay` apart.
 * Pure code.
 */
import type { SweepJob } from '../jobs';
import type { SweepPlan } from '../sweep-plan';
import { decide } from './core';
import type { Decision } from './decisions';
import type { SweepEvent } from './events';
import { initialState } from './init';

export interface IdealRunOptions {
  /** A trial's duration in seconds: the same for all, or per job index (0-based, in job order). */
  trialSeconds: number | ((jobIndex: number) => number);
  /** How long a rig's reset takes; default 0. */
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

/** One batch: from its beginning to its end (last job ended). */
export interface SimulatedBatch {
  batch: number;
  jobs: number;
  start: number;
  end: number;
}

export interface SimulatedSweep {
  /** Every job, in job order. */
  jobs: SimulatedJob[];
  batches: SimulatedBatch[];
  /** Seconds from the sweep's start to its Results JSON. */
  makespan: number;
}

/** Plays a sweep of `jobIds` (in job order) through the core; throws when it would not finish. */
export function simulateSweep(plan: SweepPlan, jobIds: string[], options: IdealRunOptions): SimulatedSweep {
  if (jobIds.length !== plan.totalJobs) throw new RangeError(`simulateSweep: ${jobIds.length} job ids for a plan of ${plan.totalJobs} jobs`);
  // No pre-flight and no probes before batches (a plan without node_health probes none): the
  // estimate is of the trials.
  const ideal: SweepPlan = {
    ...plan,
    // Stryker disable next-line ObjectLiteral: equivalent — with pre-flight off (an absent `enabled` is off too) no other field of it is read
    preflight: { ...plan.preflight, enabled: false },
    nodeHealth: undefined,
  };
  const trialMs = (index: number) => {
    const seconds = typeof options.trialSeconds === 'number' ? options.trialSeconds : options.trialSeconds(index);
    if (!Number.isFinite(seconds) || seconds < 0)
      throw new RangeError(`simulateSweep: trial seconds of job ${index} must be a finite number ≥ 0, got ${seconds}`);
    return Math.round(seconds * 1000);
  };
  const run = new IdealCluster(ideal, jobIds, trialMs, Math.round((options.resetSeconds ?? 0) * 1000));
  return run.play();
}

class IdealCluster {
  private readonly state = initialState(0);
  /** What happens next, by time; what happens at one moment in the order it was caused. */
  private readonly queue: { at: number; event: SweepEvent }[] = [];
  /** By job index: the list comes out in job order whatever order the jobs started in. */
  private readonly jobs: SimulatedJob[] = [];
  private readonly spans: SimulatedBatch[] = [];
  /** Per node: when the GPU frees up, and the last start (the node's start permit). */
  private readonly gpuFreeAt = new Map<string, number>();
  private readonly lastStart = new Map<string, number>();
  private endedAt: number | null = null;

  constructor(
    private readonly plan: SweepPlan,
    private readonly ids: string[],
    private readonly trialMs: (index: number) => number,
    private readonly resetMs: number,
  ) {}

  play(): SimulatedSweep {
    // Stryker disable next-line ObjectLiteral,StringLiteral: equivalent — the core asks for its plan on its first event, whatever it is; 'begin' names it for readers
    this.at(0, { type: 'begin' });
    // A core that kept asking for timers would keep this loop going for ever, and `rigsweep
    // plan` with it. A sweep takes a few events a job; the limit is far past any that finishes.
    // Stryker disable next-line ArithmeticOperator: equivalent — only a core that never finishes reaches the limit, whatever its size
    const limit = 100 * this.ids.length + 1000;
    // Stryker disable next-line UpdateOperator: equivalent — as the limit: steps only count towards it
    for (let steps = 0; this.endedAt === null; steps++) {
      const next = this.queue.shift();
      if (!next) throw new Error('simulateSweep: the sweep would not finish');
      // Stryker disable next-line ConditionalExpression,EqualityOperator,BlockStatement: equivalent — as the limit
      if (steps > limit) throw new Error(`simulateSweep: the core still had not finished after ${limit} steps`);
      for (const decision of decide(this.state, next.event, next.at)) this.carryOut(decision, next.at);
    }
    return { jobs: this.jobs, batches: this.spans, makespan: this.endedAt / 1000 };
  }

  private at(at: number, event: SweepEvent): void {
    const later = this.queue.findIndex((queued) => queued.at > at);
    this.queue.splice(later < 0 ? this.queue.length : later, 0, { at, event });
  }

  private carryOut(decision: Decision, now: number): void {
    switch (decision.type) {
      case 'plan':
        return this.at(now, { type: 'planned', work: decision.work, plan: this.plan });
      case 'loadJobs': {
        // Stryker disable next-line StringLiteral,ArrayDeclaration: equivalent — the ideal cluster reads only a job's id; the core passes the rest on to a node it does not run
        const job = (job_id: string): SweepJob => ({ kind: 'script', job_id, script: '', args: [], timeout: 7200 });
        return this.at(now, { type: 'jobsLoaded', work: decision.work, jobs: this.ids.slice(decision.start, decision.end).map(job) });
      }
      case 'startJob':
        return this.start(decision, now);
      case 'resetNode': {
        // Stryker disable next-line ObjectLiteral,BooleanLiteral,StringLiteral: equivalent — a failed reset only warns and marks the timeline, neither of which the estimate reads
        const outcome = { ok: true, message: 'caches dropped' };
        return this.at(now + this.resetMs, { type: 'nodeReset', work: decision.work, outcome });
      }
      case 'record':
        for (const entry of decision.timeline) {
          if (entry.kind === 'batch') this.spans.push({ batch: entry.batch, jobs: 0, start: entry.start_ms / 1000, end: entry.end_ms / 1000 });
        }
        return this.at(now, { type: 'recorded', work: decision.work });
      case 'writeResults':
        // The sweep ends with its Results JSON (the makespan): nothing after it changes the estimate.
        this.endedAt = now;
        this.countBatchJobs();
        return;
      case 'wakeAt':
        // Stryker disable next-line ObjectLiteral,StringLiteral: equivalent — the core looks at its clock on every event; 'timerFired' names this one for readers
        return this.at(decision.at, { type: 'timerFired' });
    }
  }

  /** The node's start permit: the GPU's lock, and the spacing since its last start. */
  private start(decision: Extract<Decision, { type: 'startJob' }>, now: number): void {
    const lane = `${decision.node.name}#${decision.gpu}`;
    const startAt = Math.max(now, this.gpuFreeAt.get(lane) ?? 0, (this.lastStart.get(decision.node.name) ?? -Infinity) + decision.spacingSeconds * 1000);
    const index = this.ids.indexOf(decision.job.job_id);
    const endAt = startAt + this.trialMs(index);
    this.lastStart.set(decision.node.name, startAt);
    this.gpuFreeAt.set(lane, endAt);
    this.jobs[index] = {
      jobId: decision.job.job_id,
      batch: decision.batch,
      node: decision.node.name,
      gpu: decision.gpu,
      start: startAt / 1000,
      end: endAt / 1000,
    };
    // Every start is reported, asked for or not: a job needs not report it only on a node without
    // stagger or standbys, where the core reads nothing from it.
    this.at(startAt, { type: 'jobStarted', work: decision.work, startedAtMs: startAt });
    // Stryker disable next-line ArrowFunction: equivalent — the times and runtime of a result go only into its record, which the estimate does not read
    const iso = (ms: number) => new Date(ms).toISOString();
    this.at(endAt, {
      type: 'jobEnded',
      work: decision.work,
      result: {
        job_id: decision.job.job_id,
        node: decision.node.name,
        gpu_id: decision.gpu,
        batch: decision.batch,
        attempt: decision.attempt,
        success: true,
        failure_mode: null,
        exit_code: 0,
        signal: null,
        error: null,
        output_file: null,
        local_output: null,
        // Stryker disable next-line ArithmeticOperator: equivalent — as the times above
        runtime: (endAt - startAt) / 1000,
        started_at: iso(startAt),
        ended_at: iso(endAt),
        // Stryker disable next-line StringLiteral: equivalent — as the times above
        stderr_tail: '',
      },
    });
  }

  private countBatchJobs(): void {
    for (const span of this.spans) span.jobs = this.jobs.filter((job) => job.batch === span.batch).length;
  }
}
