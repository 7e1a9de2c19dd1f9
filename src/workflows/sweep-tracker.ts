/**
 * What a running sweep knows about itself: counters, the event log the CLI follows, the warnings
 * for the result, and which dispatched jobs have confirmed their start. Plain data, deterministic.
 */
import { setCurrentDetails } from '@temporalio/workflow';
import { EventLog, type NewSweepEvent, type SweepProgress } from '../shared/progress';
import type { AttemptResult, JobResult, NodeCheck } from '../shared/results';

export class SweepTracker {
  phase: SweepProgress['phase'] = 'planning';
  batch = 0;
  batchCount = 0;
  totalJobs = 0;
  done = 0;
  failed = 0;
  running = 0;
  retries = 0;
  readonly warnings: string[] = [];
  readonly preflight: NodeCheck[] = [];
  /** startKeys whose process is confirmed running (or whose activity already ended). */
  readonly startedKeys = new Set<string>();
  private readonly events = new EventLog();

  record(event: NewSweepEvent): void {
    this.events.add(event);
    this.refreshDetails();
  }

  /** Temporal Web shows this as the workflow's current details: where the sweep is, at a glance. */
  refreshDetails(): void {
    setCurrentDetails(this.details());
  }

  /** One line a person reads in Temporal Web, e.g. `batch 2/3 running: 25/50 done, 1 failed, 6 running`. */
  details(): string {
    const where = this.batch ? `batch ${this.batch}/${this.batchCount} ${this.phase}` : this.phase;
    return `${where}: ${this.done}/${this.totalJobs} done, ${this.failed} failed, ${this.running} running${this.retries ? `, ${this.retries} retried` : ''}`;
  }

  /** A job has its final result. */
  jobFinished(result: JobResult): void {
    this.done++;
    if (!result.success) this.failed++;
    this.record({ kind: 'job', batch: result.batch, job: jobLine(result) });
  }

  /** An attempt failed and the job will run again. */
  attemptFailed(result: AttemptResult, retry: { nextAttempt: number; maxAttempts: number; inSeconds: number }): void {
    this.retries++;
    this.record({ kind: 'job', batch: result.batch, job: jobLine(result), retry });
  }

  progress(afterSeq = 0): SweepProgress {
    const { phase, batch, batchCount, totalJobs, done, failed, running, retries } = this;
    return { phase, batch, batchCount, totalJobs, done, failed, running, retries, events: this.events.since(afterSeq), lastSeq: this.events.lastSeq };
  }
}

function jobLine({ job_id, success, node, gpu_id, runtime, failure_mode, error, attempt }: AttemptResult) {
  return { job_id, success, node, gpu_id, runtime, failure_mode, error, attempt };
}
