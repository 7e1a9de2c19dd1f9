/**
 * A new batching mode is a policy file: `serial`, defined in a test fixture, runs generated sweeps
 * through the same core when handed to the simulator directly, with every invariant checked — and
 * its own rule: never two jobs at once. Its name is not in the list of modes, so a config naming
 * it is refused, and the core refuses a plan that names it: an unknown mode is never barrier.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jobBatchingSchema } from '../../src/shared/config';
import { policyNamed, type BatchPolicy } from '../../src/shared/dispatch/policies';
import { serialPolicy } from '../fixtures/modes/serial';
import { runScenario } from '../sim/run-scenario';
import { scenarioArb } from '../sim/scenario';

describe('a mode added as a fixture', () => {
  it('is refused by config and by the core until it is listed', () => {
    expect(jobBatchingSchema.safeParse({ mode: 'serial' }).error?.issues[0].message).toBe('unknown mode "serial" (known: barrier, rolling)');
    expect(() => policyNamed('serial')).toThrow('unknown batching mode "serial" (known: barrier, rolling)');
  });

  it('runs sweeps one job at a time when handed to the simulator', async () => {
    // The config names a listed mode (any other is refused); the simulator runs the sweep under `serial` instead.
    const serial = scenarioArb({ small: true }).map((scenario) => ({
      ...scenario,
      batching: { ...scenario.batching, enabled: true, mode: 'barrier', max_jobs_per_batch: 1 },
      secondSweepAt: null,
    }));
    await fc.assert(
      fc.asyncProperty(serial, async (scenario) => {
        // Barrier with one job per batch would run one at a time too: count that serial was asked.
        let consulted = 0;
        const policy: BatchPolicy = { ...serialPolicy, nextBatch: (state) => (consulted++, serialPolicy.nextBatch(state)) };
        const report = await runScenario(scenario, { policy });
        const [sweep] = report.sweeps;
        if (sweep.jobs > 1 && sweep.records > 0) expect(consulted).toBeGreaterThan(0);
        const runs = report.processesOf('a').filter((p) => p.startMs !== undefined && !p.restartOf);
        for (const a of runs)
          for (const b of runs)
            if (a !== b) expect(a.startMs! < (b.endMs ?? Infinity) && b.startMs! < (a.endMs ?? Infinity), `${a.jobId} and ${b.jobId} overlap`).toBe(false);
      }),
      { numRuns: 40 },
    );
  }, 120_000);
});
