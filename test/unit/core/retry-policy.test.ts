/**
 * When a job gets another attempt, and after how long (docs/sweeps.md, Retries): a run that failed
 * (`EXIT_CODE`, `KILLED`, `TIMEOUT`, `FILE_MISSING`, `STALE_OUTPUT`, `FILE_EMPTY`, `INVALID_JSON`)
 * gets up to `--max-retries` further attempts; a node lost past the job's lease (`SSH_ERROR` with
 * `lost_contact`) moves the job to another node; a refused login or host key, a trial that
 * reported an error, a cancel are final. The backoff doubles from `retry_backoff_seconds`, at
 * most 60 s. The lists below are the docs', written out here, not read from the code.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FAILURE_MODES, type FailureMode } from '../../../src/shared/results';
import { retryBackoffSeconds, shouldRetry } from '../../../src/shared/retry-policy';

const RUN_FAILED: FailureMode[] = ['EXIT_CODE', 'KILLED', 'TIMEOUT', 'FILE_MISSING', 'STALE_OUTPUT', 'FILE_EMPTY', 'INVALID_JSON'];
const FINAL: FailureMode[] = FAILURE_MODES.filter((mode) => !RUN_FAILED.includes(mode));

const failed = (failure_mode: FailureMode, lost_contact?: true) => ({ success: false, failure_mode, lost_contact });

describe('shouldRetry', () => {
  it.each(RUN_FAILED)('retries a run that failed with %s while attempts remain, and not after the last', (mode) => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 }), fc.integer({ min: 1, max: 12 }), (maxRetries, attempt) => {
        // `maxRetries` further attempts: attempts 1..maxRetries may be followed by one more.
        expect(shouldRetry(failed(mode), attempt, maxRetries)).toBe(attempt <= maxRetries);
      }),
    );
  });

  it('retries a node lost past the lease elsewhere, but never a refused login or host key', () => {
    expect(shouldRetry(failed('SSH_ERROR', true), 1, 3)).toBe(true);
    expect(shouldRetry(failed('SSH_ERROR', true), 4, 3)).toBe(false);
    expect(shouldRetry(failed('SSH_ERROR'), 1, 3)).toBe(false);
  });

  it.each(FINAL.filter((mode) => mode !== 'SSH_ERROR'))('never retries %s, lost contact or not', (mode) => {
    for (const lost of [undefined, true] as const) expect(shouldRetry(failed(mode, lost), 1, 3)).toBe(false);
  });

  it('never retries a success or a result without a failure mode', () => {
    expect(shouldRetry({ success: true, failure_mode: null }, 1, 3)).toBe(false);
    expect(shouldRetry({ success: false, failure_mode: null }, 1, 3)).toBe(false);
    // A success that names a failure mode (a stale marker, say) is still a success.
    expect(shouldRetry({ success: true, failure_mode: 'EXIT_CODE' }, 1, 3)).toBe(false);
  });
});

describe('retryBackoffSeconds', () => {
  it('waits the base before the second attempt, doubling for each one after', () => {
    expect([1, 2, 3, 4].map((attempt) => retryBackoffSeconds(5, attempt))).toEqual([5, 10, 20, 40]);
    expect(retryBackoffSeconds(0, 3)).toBe(0);
  });

  it('never waits more than a minute', () => {
    expect(retryBackoffSeconds(5, 5)).toBe(60);
    expect(retryBackoffSeconds(90, 1)).toBe(60);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 120 }), fc.integer({ min: 1, max: 20 }), (base, attempt) => {
        const wait = retryBackoffSeconds(base, attempt);
        expect(wait).toBeLessThanOrEqual(60);
        // Below the cap it is exactly base · 2^(attempt-1).
        expect(wait).toBe(Math.min(60, base * 2 ** (attempt - 1)));
      }),
    );
  });
});
