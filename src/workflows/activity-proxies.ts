/**
 * One activity proxy per timeout profile, declared together: bookkeeping on the results host,
 * a quick word to a node, node commands that run a while, and trial runs.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { SweepActivities } from '../activities/create-activities';
import { NON_RETRYABLE_ERROR_TYPES } from '../shared/names';

/**
 * Work on the results host is retried without limit, at most 10 s apart: it is cheap, and a
 * host whose worker is back or whose disk has room again should not wait long to be used.
 */
const RESULTS_HOST_RETRY = {
  initialInterval: '2 seconds',
  backoffCoefficient: 2,
  maximumInterval: '10 seconds',
  nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
};

/**
 * Planning, job loading and result files, on the results host: short. Retried without limit (bad
 * input aside): a results host that is away, or out of disk, holds the sweep until it is back —
 * and the sweep says so (results-host-watch.ts) — rather than failing it.
 */
export const bookkeeping = proxyActivities<SweepActivities>({
  startToCloseTimeout: '2 minutes',
  // They heartbeat: work lost with the results host's worker is retried within 10 s.
  heartbeatTimeout: '10 seconds',
  retry: RESULTS_HOST_RETRY,
});

/** A standby's withdrawal: one quick command; a failure is an unreachable node, so one retry is enough. */
export const upkeep = proxyActivities<SweepActivities>({ startToCloseTimeout: '1 minute', retry: { maximumAttempts: 2 } });

/**
 * Commands that run a while on a node — probes, resets, warm-ups (these set their own timeout). They heartbeat, and a cancel waits until each has killed its process group on the
 * node: nothing the sweep started outlives it.
 */
export const nodeUpkeep = proxyActivities<SweepActivities>({
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: '10 seconds',
  cancellationType: 'WAIT_CANCELLATION_COMPLETED',
  retry: { maximumAttempts: 2 },
});

/**
 * Trial runs: heartbeating; Temporal retries only infrastructure errors (with backoff, up to a
 * per-job deadline), never a trial that ran and failed. A cancel waits until the job has killed
 * its process group.
 */
export const trialRuns = proxyActivities<SweepActivities>({
  startToCloseTimeout: '2 hours', // replaced per job by the timeouts its decision carries
  // Heartbeats come every 2 s: a lost worker is noticed, and its job retried, within 10 s.
  heartbeatTimeout: '10 seconds',
  cancellationType: 'WAIT_CANCELLATION_COMPLETED',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '30 seconds', nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES },
});

/**
 * A trial's output fetched by the results host from the node that ran it: an infrastructure step,
 * retried without limit (a full disk or a host away waits for room or for the host), never a
 * reason to fail a trial that succeeded.
 */
export const outputCopies = proxyActivities<SweepActivities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '10 seconds',
  retry: RESULTS_HOST_RETRY,
});
