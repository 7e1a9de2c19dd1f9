/**
 * What a running sweep knows about itself: counters, the event log the CLI follows, the warnings
 * for the result, and which dispatched jobs have confirmed their start. Plain data, deterministic.
 */
import { EventLog, type NewSweepEvent, type SweepProgress } from '../shared/progress';
import type { JobResult } from '../shared/results';

export class SweepTracker {
  phase: SweepProgress['phase'] = 'planning';
  batch = 0;
  batchCount = 0;
  totalJobs = 0;
  done = 0;
  failed = 0;
  running = 0;
  readonly warnings: string[] = [];
  /** startKeys whose process is confirmed running (or whose activity already ended). */
  readonly startedKeys = new Set<string>();
  private readonly events = new EventLog();

  record(event: NewSweepEvent): void {
    this.events.add(event);
  }

  jobFinished(result: JobResult): void {
    this.running--;
    this.done++;
    if (!result.success) this.failed++;
    const { job_id, success, node, gpu_id, runtime, failure_mode, error } = result;
    this.record({ kind: 'job', batch: result.batch, job: { job_id, success, node, gpu_id, runtime, failure_mode, error } });
  }

  progress(afterSeq = 0): SweepProgress {
    const { phase, batch, batchCount, totalJobs, done, failed, running } = this;
    return { phase, batch, batchCount, totalJobs, done, failed, running, events: this.events.since(afterSeq), lastSeq: this.events.lastSeq };
  }
}
