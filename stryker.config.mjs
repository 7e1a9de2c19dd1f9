// @ts-check
/**
 * Mutation testing of the dispatcher core (`npm run mutate`): how much of what the core
 * decides do its checks notice? Stryker mutates the files below and runs the mutation run's tests
 * (vitest.mutate.mts: the core tier at a fixed seed in every mode, plus the unit tests of these
 * files) against each mutant; no Temporal, no rigs. Survivors and their verdicts:
 * test/mutation/SURVIVORS.md. Not part of `npm test`.
 *
 * Incremental: test/mutation/stryker-incremental.json is committed, so a run re-tests only the
 * mutants whose code or tests changed (`npm run mutate:full` ignores it and re-tests all).
 *
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  packageManager: 'npm',
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutate.mts' },
  plugins: ['@stryker-mutator/vitest-runner', './test/mutation/user-text-ignorer.mjs'],
  mutate: [
    'src/shared/dispatch/**/*.ts',
    'src/shared/planner.ts',
    'src/shared/retry-policy.ts',
    'src/shared/live-settings.ts',
    // Types only: nothing to mutate, listed so a reader does not wonder.
    '!src/shared/dispatch/decisions.ts',
    '!src/shared/dispatch/events.ts',
    '!src/shared/dispatch/policies/policy.ts',
  ],
  // Text only people read is not excluded from `mutate` but ignored mutant by mutant, each with
  // its reason, so the report counts them (status "Ignored"): view.ts whole, and decision
  // summaries, warnings, messages, timer summaries, error wording, waitingFor and the reason a
  // node is out. See test/mutation/user-text-ignorer.mjs. Mutants no check could ever tell from
  // the code carry `// Stryker disable next-line <mutators>: equivalent — <why>` in src, listed
  // in docs/dispatcher-core.md (scripts/equivalent-mutants.mjs); the report counts both.
  ignorers: ['user-text'],
  // Each test's coverage is measured, so a mutant runs only the tests (sweeps) that reach it.
  coverageAnalysis: 'perTest',
  // Static mutants (module-level constants such as the retryable failure modes) are kept: the run
  // reloads the tests for each, which the ~5 s suite affords.
  ignoreStatic: false,
  incremental: true,
  incrementalFile: 'test/mutation/stryker-incremental.json',
  thresholds: { high: 90, low: 85, break: 85 },
  // 1 while the machine (2 cores) is shared; a CI-free or bigger machine may raise it.
  concurrency: 1,
  timeoutMS: 10_000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, reportMutants: false, reportScoreTable: true },
  // The sandbox copies the project: leave out what the run never reads (examples/ holds a venv).
  // Anchored with `/`: a bare 'reports' would also drop src/reports and a suite would fail to
  // load — which Stryker's vitest runner does not report, it just runs fewer tests (watch the
  // dry run's count: 87 tests).
  ignorePatterns: ['/dist', '/examples', '/docs', '/.rigsweep', '/test/replay', '/test/integration', '/test/perf', '/test/rigs', '/test/workflow', '/reports'],
  tempDirName: '.stryker-tmp',
};
