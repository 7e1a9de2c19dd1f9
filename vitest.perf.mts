import { defineConfig } from 'vitest/config';

/** `npm run perf`: benchmarks that print tables; they assert nothing about speed. */
export default defineConfig({
  test: {
    include: ['test/perf/**/*.perf.ts'],
    pool: 'forks',
    fileParallelism: false,
    globalSetup: ['test/harness/stack-lock.ts', 'test/harness/temporal-global-setup.ts'],
    testTimeout: 1_800_000,
    hookTimeout: 300_000,
  },
});
