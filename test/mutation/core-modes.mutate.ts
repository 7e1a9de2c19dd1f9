/**
 * The core tier as the mutation run (`npm run mutate`) uses it: a fixed seed and 60 generated
 * sweeps, 20 in each mode — barrier, rolling, and unbatched — each its own test, so Stryker can run
 * only the sweeps that reach a mutant and stop at the first that fails. The checks are the core
 * tier's own (runScenario checks every invariant after every step); nothing here compares with
 * recorded decisions. Sweeps are sampled, not asserted with fast-check, so a mutant that breaks a
 * rule fails one test at once instead of shrinking for minutes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jobBatchingSchema } from '../../src/shared/config';
import { policyOf } from '../../src/shared/dispatch/policies';
import { planBatches } from '../../src/shared/planner';
import { runScenario } from '../sim/run-scenario';
import { type Scenario, scenarioArb } from '../sim/scenario';

/** Fixed, so every mutant meets the same sweeps and the incremental file stays valid. */
const SEED = 18_03;
const PER_MODE = Number(process.env.RIGSWEEP_MUTATE_PER_MODE || 20);

/** Batched modes need more jobs than one batch holds, or the planner runs them unbatched. */
function batched(mode: 'barrier' | 'rolling'): fc.Arbitrary<Scenario> {
  return scenarioArb()
    .filter((scenario) => scenario.jobs.length >= 2)
    .map((scenario) => ({
      ...scenario,
      batching: { ...scenario.batching, enabled: true, mode, max_jobs_per_batch: Math.min(scenario.batching.max_jobs_per_batch, scenario.jobs.length - 1) },
    }));
}

const unbatched: fc.Arbitrary<Scenario> = scenarioArb().map((scenario) => ({ ...scenario, batching: { ...scenario.batching, enabled: false } }));

const MODES: [string, fc.Arbitrary<Scenario>, number][] = [
  ['barrier', batched('barrier'), SEED],
  ['rolling', batched('rolling'), SEED + 1],
  ['unbatched', unbatched, SEED + 2],
];

for (const [mode, arb, seed] of MODES) {
  describe(`${mode} sweeps (seed ${seed})`, () => {
    const scenarios = fc.sample(arb, { numRuns: PER_MODE, seed });
    it.each(scenarios.map((scenario, i) => [i, scenario] as const))(`keeps every rule in sweep %i`, async (_i, scenario) => {
      // The sweep is planned in the mode this group is for (nodes without GPUs are dropped first).
      const nodes = scenario.nodes.filter((node) => node.gpus > 0).length;
      const batching = jobBatchingSchema.parse(scenario.batching);
      expect(policyOf({ ...planBatches(scenario.jobs.length, nodes, batching), batching }).mode).toBe(mode);
      const report = await runScenario(scenario);
      expect(report.sweeps.length).toBeGreaterThanOrEqual(1);
    });
  });
}
