/**
 * The dispatcher core on paper: the same `decide` the workflow runs, played on a virtual clock
 * against an ideal cluster where every trial succeeds after a known time, so `rigsweep plan`, the
 * dry run and the benchmark's estimates show where and when each job would run. The nodes keep
 * their own start permits as real ones do: one trial per GPU, starts `stagger_delay` apart.
 * Pure code.
 */
import type { SweepJob } from '../jobs';
import { buildResultsJson, type JobResult } from '../results';
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
  const ideal: SweepPlan = {
    ...plan,
    preflight: { ...plan.preflight, enabled: false },
    ...(plan.nodeHealth ? { nodeHealth: { ...plan.nodeHealth, probe_before_batch: false } } : {}),
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
  private readonly queue: { at: number; seq: number; event: SweepEvent }[] = [];
  private seq = 0;
  private readonly jobs: SimulatedJob[] = [];
  private readonly spans: SimulatedBatch[] = [];
  private readonly records: JobResult[] = [];
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
    this.at(0, { type: 'begin' });
    for (let steps = 0; this.endedAt === null; steps++) {
      const next = this.queue.shift();
      if (!next || steps > 1_000_000) throw new Error('simulateSweep: the sweep would not finish');
      for (const decision of decide(this.state, next.event, next.at)) this.carryOut(decision, next.at);
    }
    this.jobs.sort((a, b) => this.ids.indexOf(a.jobId) - this.ids.indexOf(b.jobId));
    return { jobs: this.jobs, batches: this.spans, makespan: this.endedAt / 1000 };
  }

  private at(at: number, event: SweepEvent): void {
    this.queue.push({ at, seq: this.seq++, event });
    this.queue.sort((a, b) => a.at - b.at || a.seq - b.seq);
  }

  private carryOut(decision: Decision, now: number): void {
    switch (decision.type) {
      case 'plan':
        return this.at(now, { type: 'planned', work: decision.work, plan: this.plan });
      case 'loadJobs': {
        const jobs: SweepJob[] = this.ids
          .slice(decision.start, decision.end)
          .map((job_id) => ({ kind: 'script', job_id, script: '', args: [], timeout: 7200 }));
        return this.at(now, { type: 'jobsLoaded', work: decision.work, jobs });
      }
      case 'startJob':
        return this.start(decision, now);
      case 'resetNode':
        return this.at(now + this.resetMs, { type: 'nodeReset', work: decision.work, outcome: { ok: true, message: 'caches dropped' } });
      case 'probeNode':
        return this.at(now, {
          type: 'nodeProbed',
          work: decision.work,
          probe: { node: decision.node.name, reachable: true, latency_ms: 0, hip_cache_cleared: null, healthy: true, message: 'healthy' },
        });
      case 'record':
        this.records.push(...decision.results);
        for (const entry of decision.timeline) {
          if (entry.kind === 'batch') this.spans.push({ batch: entry.batch, jobs: 0, start: entry.start_ms / 1000, end: entry.end_ms / 1000 });
        }
        return this.at(now, { type: 'recorded', work: decision.work });
      case 'writeResults': {
        const results = buildResultsJson(
          {
            runId: this.plan.runId,
            totalJobs: this.plan.totalJobs,
            runtimeSeconds: now / 1000,
            timestamp: '',
            outputDir: '',
            resultsFile: '',
            preservePaths: true,
            batches: 0,
            nodes: this.plan.nodes,
            warnings: [],
            preflight: [],
          },
          this.records,
        );
        return this.at(now, { type: 'resultsWritten', work: decision.work, results });
      }
      case 'wakeAt':
        return this.at(decision.at, { type: 'timerFired' });
      case 'sweepOver':
        this.endedAt = now;
        this.countBatchJobs();
        return;
      case 'failSweep':
        throw new Error(`simulateSweep: ${decision.message}`);
      default:
        return;
    }
  }

  /** The node's start permit: the GPU's lock, and the spacing since its last start. */
  private start(decision: Extract<Decision, { type: 'startJob' }>, now: number): void {
    const lane = `${decision.node.name}#${decision.gpu}`;
    const startAt = Math.max(now, this.gpuFreeAt.get(lane) ?? 0, (this.lastStart.get(decision.node.name) ?? -Infinity) + decision.spacingSeconds * 1000);
    const endAt = startAt + this.trialMs(this.ids.indexOf(decision.job.job_id));
    this.lastStart.set(decision.node.name, startAt);
    this.gpuFreeAt.set(lane, endAt);
    this.jobs.push({
      jobId: decision.job.job_id,
      batch: decision.batch,
      node: decision.node.name,
      gpu: decision.gpu,
      start: startAt / 1000,
      end: endAt / 1000,
    });
    if (decision.reportStart) this.at(startAt, { type: 'jobStarted', work: decision.work, startedAtMs: startAt });
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
        runtime: (endAt - startAt) / 1000,
        started_at: iso(startAt),
        ended_at: iso(endAt),
        stderr_tail: '',
      },
    });
  }

  private countBatchJobs(): void {
    for (const span of this.spans) span.jobs = this.jobs.filter((job) => job.batch === span.batch).length;
  }
}
