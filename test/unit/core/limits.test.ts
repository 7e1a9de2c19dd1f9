/**
 * How long an attempt's activity and a warm-up may take (docs/sweeps.md, Retries): before its own
 * timeout a job may wait about as long again on its node for its start permit, then run its whole
 * `timeout`, and still needs time to be killed and reported; infrastructure errors are retried for
 * up to 10 minutes past that. A warm-up gets its own timeout and a margin to be killed in.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { attemptTimeouts, warmUpLimitSeconds } from '../../../src/shared/dispatch/limits';

const TEN_MINUTES = 600;

describe('attemptTimeouts', () => {
  it('lets one attempt wait for its permit, run its whole timeout and still be killed and reported', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 7 * 86_400 }), (timeout) => {
        const limits = attemptTimeouts(timeout);
        expect(limits.startToCloseSeconds).toBeGreaterThan(2 * timeout);
        // A margin, not a second timeout's worth on top: the activity still ends within about two.
        expect(limits.startToCloseSeconds).toBeLessThanOrEqual(2 * timeout + TEN_MINUTES);
      }),
    );
  });

  it('retries infrastructure errors for 10 minutes past one attempt, and no longer', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 7 * 86_400 }), (timeout) => {
        const limits = attemptTimeouts(timeout);
        expect(limits.retryWindowSeconds).toBe(TEN_MINUTES);
        expect(limits.scheduleToCloseSeconds).toBe(limits.startToCloseSeconds + TEN_MINUTES);
      }),
    );
  });
});

describe('warmUpLimitSeconds', () => {
  it('gives a warm-up its whole timeout and a margin of at most a few minutes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 86_400 }), (timeout) => {
        const limit = warmUpLimitSeconds(timeout);
        expect(limit).toBeGreaterThan(timeout);
        expect(limit).toBeLessThanOrEqual(timeout + TEN_MINUTES);
      }),
    );
  });
});
