import { defineConfig } from 'vitest/config';

/**
 * `npm run chaos`: every fault test against the real dev server and sshd rigs, then one table
 * (fault, runs, jobs, lost, run twice at once, orphans, time to recover). `npm test` runs the
 * same tests, as CI's smoke subset.
 */
export default defineConfig({
  test: {
    include: [
      'test/integration/worker-crash.test.ts',
      'test/integration/network-cut.test.ts',
      'test/integration/server-restart.test.ts',
    ],
    pool: 'forks',
    fileParallelism: false,
    globalSetup: ['test/harness/chaos-global-setup.ts', 'test/harness/temporal-global-setup.ts'],
    testTimeout: 600_000,
    hookTimeout: 120_000,
  },
});
