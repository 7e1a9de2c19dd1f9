import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests share one Temporal dev server and the test rigs' network namespaces.
    pool: 'forks',
    fileParallelism: false,
    globalSetup: ['test/harness/temporal-global-setup.ts'],
    setupFiles: ['test/harness/no-failed-workflow-tasks.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
