/**
 * What Temporal Web and `temporal workflow list` can filter and show without a query: search
 * attributes (sweep name, batch, done, failed) and a memo (config file and digest, job source).
 * Behind a patch, because these are commands: histories recorded before them must still replay.
 */
import { patched, upsertMemo, upsertSearchAttributes } from '@temporalio/workflow';
import { BATCH_ATTRIBUTE, DONE_ATTRIBUTE, FAILED_ATTRIBUTE, SWEEP_NAME_ATTRIBUTE } from '../shared/search-attributes';
import type { JobSource, SweepPlan } from '../shared/sweep-plan';
import type { SweepTracker } from './sweep-tracker';

const VISIBILITY_PATCH = 'search-attributes-and-memo';

/** The name users filter by: the jobs file's base name, else how the jobs were given. */
export function sweepNameOf(source: JobSource): string {
  if (source.kind !== 'file') return source.kind;
  return source.path.split('/').pop()!.replace(/\.json$/i, '');
}

/** Once planned: the memo and the first values of the search attributes. */
export function publishPlan(plan: SweepPlan, tracker: SweepTracker): void {
  if (!patched(VISIBILITY_PATCH)) return;
  const source = plan.jobSource;
  upsertMemo({
    config_file: plan.configFile,
    config_digest: plan.configDigest ?? null,
    job_source: source.kind === 'file' ? `${source.path} (sha256 ${source.digest})` : source.kind === 'trials' ? `trials: ${source.command}` : 'inline jobs',
    total_jobs: plan.totalJobs,
    run_id: plan.runId,
    results_dir: plan.resultsDir,
  });
  upsertSearchAttributes([{ key: SWEEP_NAME_ATTRIBUTE, value: tracker.sweepName }]);
  publishCounts(tracker);
}

/** At each batch's start and end: where the sweep is, for filters such as `RigsweepFailed > 0`. */
export function publishCounts(tracker: SweepTracker): void {
  if (!patched(VISIBILITY_PATCH)) return;
  upsertSearchAttributes([
    { key: BATCH_ATTRIBUTE, value: tracker.batch },
    { key: DONE_ATTRIBUTE, value: tracker.done },
    { key: FAILED_ATTRIBUTE, value: tracker.failed },
  ]);
}
