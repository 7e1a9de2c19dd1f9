/**
 * What a running sweep knows about itself: counters, per-node state, the event log the CLI
 * follows, the timeline the report draws, the warnings for the result, and which dispatched jobs
 * have confirmed their start. Plain data, deterministic.
 */
import { setCurrentDetails } from '@temporalio/workflow';
import { EventLog, type NewSweepEvent, type SweepProgress } from '../shared/progress';
import type { AttemptResult, JobResult, NodeCheck, ResultsJson } from '../shared/results';
import { CARRIED_EVENTS, MAX_CARRIED_WARNINGS, type SweepCarry } from '../shared/sweep-carry';
import type { SweepPlan } from '../shared/sweep-plan';
import type { TimelineEntry } from '../shared/timeline';
import { NodeBoard } from './node-board';
import { Steering } from './steering';
import { recordNodeState } from './sweep-metrics';

export class SweepTracker {
  phase: SweepProgress['phase'] = 'planning';
  sweepName = '';
  startedAtMs = Date.now();
  resultsDir: string | null = null;
  /** The run id users see; the workflow id is the sweep's identity. */
  runId: string | null = null;
  /** The Results JSON once written (the `results` query). */
  finalResults: ResultsJson | null = null;
  batch = 0;
  batchCount = 0;
  totalJobs = 0;
  done = 0;
  failed = 0;
  running = 0;
  retries = 0;
  /** Said in Temporal Web's current details when the sweep waits for something other than jobs. */
  waitingFor: string | null = null;
  readonly warnings: string[] = [];
  readonly preflight: NodeCheck[] = [];
  /** startKeys whose process is confirmed running, with when it started (worker clock, epoch ms). */
  readonly startedKeys = new Map<string, number>();
  /** Rolling mode: jobs each node started since its last reset and cooldown (kept across segments). */
  readonly cycleStarts = new Map<string, number>();
  readonly nodes = new NodeBoard();
  readonly steering = new Steering(() => this.refreshDetails());
  private readonly events = new EventLog();
  private timeline: TimelineEntry[] = [];

  record(event: NewSweepEvent): void {
    this.events.add(event);
    this.refreshDetails();
  }

  /** Notes a span for the report's timeline; written with the next batch's records. */
  addTimeline(entry: TimelineEntry): void {
    this.timeline.push(entry);
  }

  /** The timeline entries not yet written. */
  takeTimeline(): TimelineEntry[] {
    const entries = this.timeline;
    this.timeline = [];
    return entries;
  }

  /** Temporal Web shows this as the workflow's current details: where the sweep is, at a glance. */
  refreshDetails(): void {
    setCurrentDetails(this.details());
    this.nodes.publishChanges((node) => this.steering.excludedGpus(node), recordNodeState, (node) => this.steering.probeVerdict(node));
  }

  /** One line a person reads in Temporal Web, e.g. `batch 2/3 running: 25/50 done, 1 failed, 6 running`. */
  details(): string {
    const where = this.batch ? `batch ${this.batch}/${this.batchCount} ${this.phase}` : this.phase;
    const counts = `${this.done}/${this.totalJobs} done, ${this.failed} failed, ${this.running} running${this.retries ? `, ${this.retries} retried` : ''}`;
    const pause = this.steering.pauseRequested && this.phase !== 'paused' ? ' (pause requested: pauses after this batch)' : '';
    return `${where}: ${counts}${pause}${this.waitingFor ? ` — waiting for ${this.waitingFor}` : ''}`;
  }

  /** A job has its final result. */
  jobFinished(result: JobResult): void {
    this.done++;
    if (!result.success) this.failed++;
    this.nodes.jobFinished(result);
    this.record({ kind: 'job', batch: result.batch, job: jobLine(result) });
  }

  /** An attempt failed and the job will run again. */
  attemptFailed(result: AttemptResult, retry: { nextAttempt: number; maxAttempts: number; inSeconds: number }): void {
    this.retries++;
    this.record({ kind: 'job', batch: result.batch, job: jobLine(result), retry });
  }

  /** What the next run needs when this one continues as new at a quiet point. */
  toCarry(plan: SweepPlan, nextBatch: number, nextJob: number): SweepCarry {
    const nodes = this.nodes.snapshot((node) => this.steering.excludedGpus(node));
    return {
      plan, nextBatch, nextJob,
      startedAtMs: this.startedAtMs,
      sweepName: this.sweepName,
      counts: { done: this.done, failed: this.failed, retries: this.retries, batchCount: this.batchCount },
      warnings: this.warnings.slice(-MAX_CARRIED_WARNINGS),
      preflight: this.preflight,
      events: this.events.newest(CARRIED_EVENTS),
      nodes: nodes.map(({ name, done, failed, lastFinished, state }) => ({ name, done, failed, lastFinished, state })),
      cycleStarts: Object.fromEntries(this.cycleStarts),
      steering: this.steering.snapshot(),
    };
  }

  /** Takes over where the previous run of the sweep stopped; returns its plan. */
  resume(carry: SweepCarry): SweepPlan {
    const { plan } = carry;
    Object.assign(this, { startedAtMs: carry.startedAtMs, sweepName: carry.sweepName, resultsDir: plan.resultsDir, runId: plan.runId, totalJobs: plan.totalJobs, ...carry.counts });
    this.warnings.push(...carry.warnings);
    this.preflight.push(...carry.preflight);
    this.events.continueFrom(carry.events, carry.events.at(-1)?.seq ?? 0);
    this.nodes.setNodes(plan.nodes, plan.nodes);
    this.nodes.restore(carry.nodes);
    for (const [node, starts] of Object.entries(carry.cycleStarts)) this.cycleStarts.set(node, starts);
    this.steering.restore(plan, carry.steering);
    return plan;
  }

  progress(afterSeq = 0): SweepProgress {
    const { phase, sweepName, startedAtMs, resultsDir, runId, batch, batchCount, totalJobs, done, failed, running, retries, steering } = this;
    return {
      phase,
      sweepName,
      startedAtMs,
      resultsDir,
      runId,
      pauseRequested: steering.pauseRequested,
      settings: steering.settings,
      nodes: this.nodes.snapshot((node) => steering.excludedGpus(node), (node) => steering.probeVerdict(node)),
      batch,
      batchCount,
      totalJobs,
      done,
      failed,
      running,
      retries,
      events: this.events.since(afterSeq),
      lastSeq: this.events.lastSeq,
    };
  }
}

function jobLine({ job_id, success, node, gpu_id, runtime, failure_mode, error, attempt }: AttemptResult) {
  return { job_id, success, node, gpu_id, runtime, failure_mode, error, attempt };
}
