import { defineConfig } from 'vitest/config';

/**
 * Two groups of test files, each run one file at a time:
 * - logic: the pure code, the core tier and the workflow tier (its own time-skipping server);
 *   nothing here shares a port, a namespace or a server with the other group;
 * - stack: the real stack — one Temporal dev server for the whole run, the test rigs' network
 *   namespaces, sshd on loopback, real processes and a browser. These files share all of that,
 *   so they run one after another; they mostly wait on what they started.
 * `npm test` runs the two groups side by side as two vitest processes (`--project logic`,
 * `--project stack`): vitest itself puts every one-file-at-a-time project in one queue.
 */
const LOGIC = ['test/core/**/*.test.ts', 'test/workflow/**/*.test.ts', 'test/unit/**/*.test.ts'];
const shared = { pool: 'forks', fileParallelism: false, testTimeout: 120_000, hookTimeout: 120_000 } as const;

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'logic', include: LOGIC, ...shared } },
      {
        test: {
          name: 'stack',
          include: ['test/**/*.test.ts'],
          exclude: [...LOGIC, '**/node_modules/**'],
          globalSetup: ['test/harness/stack-lock.ts', 'test/harness/temporal-global-setup.ts'],
          setupFiles: ['test/harness/no-failed-workflow-tasks.ts'],
          ...shared,
        },
      },
    ],
  },
});
