import { defineConfig } from 'vitest/config';

/**
 * `npm run fuzz`: one tier of generated sweeps, as many as asked (scripts/fuzz.sh sets
 * RIGSWEEP_FUZZ_SCENARIOS, RIGSWEEP_FUZZ_SEED and the file). No dev server and no rigs: the core
 * tier needs nothing, the workflow tier starts its own time-skipping server.
 */
export default defineConfig({
  test: {
    include: ['test/core/core-tier.test.ts', 'test/workflow/workflow-tier.test.ts'],
    pool: 'forks',
    testTimeout: 24 * 3600_000,
    hookTimeout: 300_000,
  },
});
