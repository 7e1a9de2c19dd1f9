/**
 * One activity proxy per timeout profile, for every workflow module. Trial runs have their own
 * profile in job-attempt.ts, next to the per-job timeouts they are given.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { SweepActivities } from '../activities/create-activities';
import { NON_RETRYABLE_ERROR_TYPES } from '../shared/names';

/** Planning, job loading and result files: short, local to the worker host. */
export const bookkeeping = proxyActivities<SweepActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES },
});

/**
 * Node upkeep — resets between batches, pre-flight checks, warm-ups: short, and a failure is a
 * warning or an unreachable node, so one retry is enough.
 */
export const upkeep = proxyActivities<SweepActivities>({ startToCloseTimeout: '1 minute', retry: { maximumAttempts: 2 } });
