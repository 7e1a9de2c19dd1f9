/**
 * How long the work the core asks for may take: an attempt's activity timeouts and a warm-up's.
 * The core puts them in its decisions, so the workflow and the simulator read the same numbers
 * instead of each working them out. Pure code.
 */

/** Margin over a job's own timeout: the activity enforces the job timeout and still has to kill and report. */
const JOB_TIMEOUT_MARGIN_SECONDS = 120;
/** How long infrastructure errors of one job are retried before the job counts as failed. */
const INFRASTRUCTURE_RETRY_WINDOW_SECONDS = 600;
/** Margin over a warm-up's own timeout, for the same reason. */
const WARMUP_MARGIN_SECONDS = 60;

/** An attempt's activity limits. */
export interface AttemptTimeouts {
  /** One activity attempt. */
  startToCloseSeconds: number;
  /** How long infrastructure errors (a node that cannot be reached) are retried beyond one attempt. */
  retryWindowSeconds: number;
  /** The whole activity, its retries included: one attempt and the retry window. */
  scheduleToCloseSeconds: number;
}

/**
 * A job's activity timeouts. Before its own timeout starts a job may wait on its node for its start
 * permit — behind another sweep's job on the same GPU, say — so an attempt may last about two.
 */
export function attemptTimeouts(jobTimeoutSeconds: number): AttemptTimeouts {
  const startToCloseSeconds = 2 * jobTimeoutSeconds + JOB_TIMEOUT_MARGIN_SECONDS;
  return {
    startToCloseSeconds,
    retryWindowSeconds: INFRASTRUCTURE_RETRY_WINDOW_SECONDS,
    scheduleToCloseSeconds: startToCloseSeconds + INFRASTRUCTURE_RETRY_WINDOW_SECONDS,
  };
}

/** A warm-up's activity limit: its own timeout (the command's, enforced by the activity) and a margin. */
export function warmUpLimitSeconds(timeoutSeconds: number): number {
  return timeoutSeconds + WARMUP_MARGIN_SECONDS;
}
