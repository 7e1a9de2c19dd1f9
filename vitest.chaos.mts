import { defineConfig } from 'vitest/config';

/**
 * `npm run chaos`: every fault test against the real dev server and sshd rigs, then one table
 * (fault, runs, jobs, lost, run twice at once, orphans, time to recover). `npm test` runs the
 * same tests, as CI's smoke subset. In files that also hold other tests, only the fault tests run
 * here (`inChaosRun` in test/harness/chaos-report.ts).
 */
const faultTests = [
  'test/integration/worker-crash.test.ts',
  'test/integration/network-cut.test.ts',
  'test/integration/server-restart.test.ts',
  'test/integration/three-cancels.test.ts',
  'test/integration/cancel-anywhere.test.ts', // a cancel in every phase of a sweep
  'test/integration/bad-input.test.ts',
];

/** RIGSWEEP_CHAOS_REPEAT=N runs every fault test file N times over, each time from scratch (fresh rigs, work dir, sweeps). */
const repeat = Number(process.env.RIGSWEEP_CHAOS_REPEAT ?? '1');
if (!Number.isInteger(repeat) || repeat < 1) throw new Error(`RIGSWEEP_CHAOS_REPEAT must be a whole number ≥ 1, not "${process.env.RIGSWEEP_CHAOS_REPEAT}"`);

export default defineConfig({
  test: {
    // One project per run. Projects do not inherit the root's options, so the global setups (one
    // dev server, one report file) run once for all of them; fileParallelism: false runs every
    // file of every project one after another, as the rigs' global namespaces require.
    projects: Array.from({ length: repeat }, (_, i) => ({
      test: {
        name: `run ${i + 1}`,
        include: faultTests,
        pool: 'forks' as const,
        testTimeout: 600_000,
        hookTimeout: 120_000,
        setupFiles: ['test/harness/no-failed-workflow-tasks.ts'],
      },
    })),
    fileParallelism: false,
    globalSetup: ['test/harness/stack-lock.ts', 'test/harness/chaos-global-setup.ts', 'test/harness/temporal-global-setup.ts'],
  },
});
