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
 * Quick node checks — pre-flight's reachability check, a standby's withdrawal: short, and a failure
 * is an unreachable node, so one retry is enough.
 */
export const upkeep = proxyActivities<SweepActivities>({ startToCloseTimeout: '1 minute', retry: { maximumAttempts: 2 } });

/**
 * Commands that run a while on a node — resets, health probes, warm-ups (these set their own
 * timeout). They heartbeat, and a cancelled sweep waits until each has killed its process group
 * on the node: nothing the sweep started outlives it.
 */
export const nodeUpkeep = proxyActivities<SweepActivities>({
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: '10 seconds',
  cancellationType: 'WAIT_CANCELLATION_COMPLETED',
  retry: { maximumAttempts: 2 },
});
