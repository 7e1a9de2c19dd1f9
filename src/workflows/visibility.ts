/**
 * What Temporal Web and `temporal workflow list` can filter and show without a query: search
 * attributes (sweep name, batch, done, failed) and a memo (config file and digest, job source,
 * run id, results folder).
 */
import { upsertMemo, upsertSearchAttributes } from '@temporalio/workflow';
import type { SweepState } from '../shared/dispatch/state';
import { BATCH_ATTRIBUTE, DONE_ATTRIBUTE, FAILED_ATTRIBUTE, SWEEP_NAME_ATTRIBUTE } from '../shared/search-attributes';

/** Once planned: the memo and the first values of the search attributes. */
export function publishPlan(state: SweepState): void {
  const plan = state.plan!;
  const source = plan.jobSource;
  upsertMemo({
    config_file: plan.configFile,
    config_digest: plan.configDigest ?? null,
    job_source: source.kind === 'file' ? `${source.path} (sha256 ${source.digest})` : source.kind === 'trials' ? `trials: ${source.command}` : 'inline jobs',
    total_jobs: plan.totalJobs,
    run_id: plan.runId,
    results_dir: plan.resultsDir,
  });
  upsertSearchAttributes([{ key: SWEEP_NAME_ATTRIBUTE, value: state.sweepName }]);
  publishCounts(state);
}

/** At each batch's start and end: where the sweep is, for filters such as `RigsweepFailed > 0`. */
export function publishCounts(state: SweepState): void {
  upsertSearchAttributes([
    { key: BATCH_ATTRIBUTE, value: state.shown?.number ?? 0 },
    { key: DONE_ATTRIBUTE, value: state.counts.done },
    { key: FAILED_ATTRIBUTE, value: state.counts.failed },
  ]);
}
