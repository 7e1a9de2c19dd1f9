/**
 * The core tier: the dispatcher core on a virtual clock against the simulated cluster, over
 * generated sweeps — every mode, stagger, cap and fault, operators' messages at random moments,
 * crashes, continue-as-new, a second sweep on the same nodes — with every invariant checked after
 * every step (test/sim/invariants.ts). No root, no sshd, no Temporal. A failure prints its seed
 * and the smallest scenario that still fails; `npm run fuzz -- --seed S` runs it again.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runScenario } from '../sim/run-scenario';
import { scenarioArb } from '../sim/scenario';

/** 300 per `npm test`; `npm run fuzz -- --scenarios N` runs N. */
const SCENARIOS = Number(process.env.RIGSWEEP_FUZZ_SCENARIOS || 300);

describe('the dispatcher core over generated sweeps', () => {
  it(`keeps every rule in ${SCENARIOS} generated sweeps`, async () => {
    // A fresh seed each run, so CI tries new sweeps every time; fast-check prints it on a failure.
    const seed = Number(process.env.RIGSWEEP_FUZZ_SEED || Date.now() % 2 ** 31);
    let sweeps = 0;
    await fc.assert(
      fc.asyncProperty(scenarioArb(), async (scenario) => {
        sweeps += (await runScenario(scenario)).sweeps.length;
      }),
      {
        numRuns: SCENARIOS,
        seed,
        ...(process.env.RIGSWEEP_FUZZ_PATH ? { path: process.env.RIGSWEEP_FUZZ_PATH } : {}),
        // The bug-planting run (scripts/plant-bugs.mjs) wants the first broken rule, not the smallest case.
        ...(process.env.RIGSWEEP_FUZZ_NO_SHRINK ? { endOnFailure: true } : {}),
      },
    );
    expect(sweeps).toBeGreaterThanOrEqual(SCENARIOS);
  }, 600_000);
});
