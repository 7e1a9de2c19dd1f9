/**
 * What a running sweep knows about itself: counters, per-node state, the event log the CLI
 * follows, the timeline the report draws, the warnings for the result, and which dispatched jobs
 * have confirmed their start. Plain data, deterministic.
 */
import { setCurrentDetails } from '@temporalio/workflow';
import { EventLog, type NewSweepEvent, type SweepProgress } from '../shared/progress';
import type { AttemptResult, JobResult, NodeCheck } from '../shared/results';
import type { TimelineEntry } from '../shared/timeline';
import { NodeBoard } from './node-board';
import { Steering } from './steering';
import { recordNodeState } from './sweep-metrics';

export class SweepTracker {
  phase: SweepProgress['phase'] = 'planning';
  sweepName = '';
  readonly startedAtMs = Date.now();
  resultsDir: string | null = null;
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
  /** startKeys whose process is confirmed running (or whose activity already ended). */
  readonly startedKeys = new Set<string>();
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
    this.nodes.publishChanges((node) => this.steering.excludedGpus(node), recordNodeState);
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

  progress(afterSeq = 0): SweepProgress {
    const { phase, sweepName, startedAtMs, resultsDir, batch, batchCount, totalJobs, done, failed, running, retries, steering } = this;
    return {
      phase,
      sweepName,
      startedAtMs,
      resultsDir,
      pauseRequested: steering.pauseRequested,
      settings: steering.settings,
      nodes: this.nodes.snapshot((node) => steering.excludedGpus(node)),
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
