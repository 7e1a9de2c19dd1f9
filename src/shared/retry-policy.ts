/**
 * When a job gets another attempt. Exactly one layer decides each retry: Temporal's activity
 * retries handle infrastructure (a lost connection, a lost worker) without counting; this policy
 * handles runs that failed, counted against `maxRetries`. A trial that ran to its end and
 * reported an error is a result, never retried. Pure code.
 */
import type { FailureMode, JobResult } from './results';

/** Failures of the run itself, which another attempt (on any healthy GPU) may not repeat. */
export const RETRYABLE_FAILURE_MODES: readonly FailureMode[] = ['EXIT_CODE', 'KILLED', 'TIMEOUT', 'FILE_MISSING', 'STALE_OUTPUT', 'FILE_EMPTY', 'INVALID_JSON'];

export const DEFAULT_MAX_RETRIES = 3;

/**
 * True when a job that ended like this, on its `attempt` (1-based), gets one more. A node lost past
 * the job's lease (SSH_ERROR with `lost_contact`) is retried too, elsewhere; a refused login or
 * host key is not — it would only be refused again.
 */
export function shouldRetry(result: Pick<JobResult, 'success' | 'failure_mode' | 'lost_contact'>, attempt: number, maxRetries: number): boolean {
  if (result.success || attempt > maxRetries) return false;
  return RETRYABLE_FAILURE_MODES.some((mode) => mode === result.failure_mode) || (result.failure_mode === 'SSH_ERROR' && result.lost_contact === true);
}

/** Seconds before attempt `attempt + 1`: doubling from the base, at most a minute. */
export function retryBackoffSeconds(baseSeconds: number, attempt: number): number {
  return Math.min(60, baseSeconds * 2 ** (attempt - 1));
}
