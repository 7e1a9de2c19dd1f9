/**
 * rigsweep's activity-side metrics, emitted through the activity's metric meter so they leave by
 * the worker's Prometheus endpoint next to the SDK's own (which adds the `namespace`, `task_queue`
 * and `activity_type` tags). Counters count attempts: the activity cannot know whether a retry follows.
 * Without an exporter, or outside an activity, the meter is a no-op and nothing is recorded.
 */
import { Context } from '@temporalio/activity';
import { type MetricMeter, noopMetricMeter } from '@temporalio/common';
import type { AttemptResult } from '../shared/results';

export const JOB_METRICS = {
  started: 'rigsweep_jobs_started',
  succeeded: 'rigsweep_jobs_succeeded',
  failed: 'rigsweep_jobs_failed',
  trialDuration: 'rigsweep_trial_duration_seconds',
  nodeResets: 'rigsweep_node_resets',
} as const;

function activityMeter(): MetricMeter {
  try {
    return Context.current().metricMeter;
  } catch {
    return noopMetricMeter; // called outside an activity, e.g. by a unit test
  }
}

/** A job's process is running on its GPU: its start marker was seen. */
export function recordJobStarted(node: string, gpu: number): void {
  activityMeter().createCounter(JOB_METRICS.started, '', 'job attempts whose process started on its GPU').add(1, { node, gpu });
}

/** An attempt ended with a result: counted as succeeded or failed (by mode), its runtime recorded. */
export function recordJobFinished(result: Pick<AttemptResult, 'node' | 'gpu_id' | 'success' | 'failure_mode' | 'runtime'>): void {
  const meter = activityMeter();
  const tags = { node: result.node, gpu: result.gpu_id };
  if (result.success) meter.createCounter(JOB_METRICS.succeeded, '', 'job attempts that succeeded').add(1, tags);
  else
    meter
      .createCounter(JOB_METRICS.failed, '', 'job attempts that failed, by failure mode')
      .add(1, { ...tags, failure_mode: result.failure_mode ?? 'UNKNOWN' });
  meter
    .createHistogram(JOB_METRICS.trialDuration, 'float', 's', 'runtime of a job attempt, from its start marker to its end')
    .record(Math.max(0, result.runtime), { node: result.node });
}

/** A rig's allocator reset between batches ran, and whether it worked. */
export function recordNodeReset(node: string, ok: boolean): void {
  activityMeter().createCounter(JOB_METRICS.nodeResets, '', 'allocator resets (sync + drop caches) between batches').add(1, { node, ok });
}
