import { defineConfig } from 'vitest/config';

/**
 * The mutation run's tests (`npm run mutate`, stryker.config.mjs): the core tier at a fixed seed
 * in every mode, and the unit tests of the mutated files. No globalSetup: nothing here needs
 * Temporal, a rig or root. Stryker runs these in its own worker threads; `pool` applies to a plain
 * `vitest run --config vitest.mutate.mts`.
 */
export default defineConfig({
  test: {
    include: [
      'test/mutation/**/*.mutate.ts',
      'test/core/new-mode.test.ts',
      'test/unit/planner.test.ts',
      'test/unit/live-settings.test.ts',
      'test/unit/ideal-run.test.ts',
      'test/unit/updates.test.ts',
      // Unit tests written for the core's mutants: every file in this folder is in the run.
      'test/unit/core/**/*.test.ts',
    ],
    pool: 'forks',
    testTimeout: 120_000,
  },
});
