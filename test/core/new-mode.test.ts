/**
 * A new batching mode is a policy file and one registration: `serial`, defined in a test fixture,
 * is accepted in a config and runs generated sweeps through the same core, with every invariant
 * checked — and its own rule: never two jobs at once.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jobBatchingSchema } from '../../src/shared/config';
import { registerMode } from '../../src/shared/dispatch/policies';
import { serialPolicy } from '../fixtures/modes/serial';
import { runScenario } from '../sim/run-scenario';
import { scenarioArb } from '../sim/scenario';

describe('a mode added as a fixture', () => {
  it('is refused before it is registered, and runs sweeps one job at a time once it is', async () => {
    expect(jobBatchingSchema.safeParse({ mode: 'serial' }).error?.issues[0].message).toBe('unknown mode "serial" (known: barrier, rolling)');
    registerMode(serialPolicy);
    expect(jobBatchingSchema.parse({ mode: 'serial' }).mode).toBe('serial');
    const serial = scenarioArb({ small: true }).map((scenario) => ({
      ...scenario,
      batching: { ...scenario.batching, enabled: true, mode: 'serial', max_jobs_per_batch: 1 },
      secondSweepAt: null,
    }));
    await fc.assert(
      fc.asyncProperty(serial, async (scenario) => {
        const report = await runScenario(scenario);
        const runs = report.processesOf('a').filter((p) => p.startMs !== undefined && !p.restartOf);
        for (const a of runs)
          for (const b of runs)
            if (a !== b) expect(a.startMs! < (b.endMs ?? Infinity) && b.startMs! < (a.endMs ?? Infinity), `${a.jobId} and ${b.jobId} overlap`).toBe(false);
      }),
      { numRuns: 40 },
    );
  }, 120_000);
});
