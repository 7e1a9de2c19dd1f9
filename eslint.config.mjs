// Lint runs typescript-eslint's type-checked rules over the whole tree (src, scripts, test), and
// guards what review misses where a mistake costs most:
// - everywhere: every promise awaited or its rejection handled on purpose (void is not exempt);
// - workflow code: patch ids only through the registry (src/workflows/patches.ts);
// - the workflow sandbox (src/workflows, src/shared): no Node module, so nothing there can touch a
//   file, a socket or the clock behind Temporal's back (test/unit/workflow-border.test.ts bundles
//   it to prove the same);
// - the dispatcher core (src/shared/dispatch): not even Temporal, and no clock, randomness or
//   timer of its own — its time is the `now` it is given, or replay and the simulations diverge.
// Formatting is prettier's (`npm run format`); eslint-config-prettier turns off rules that would
// argue with it.
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

const NODE_MODULES = {
  paths: builtinModules.map((name) => ({ name, message: 'Node modules stay out of the workflow sandbox: do this in an activity.' })),
  patterns: [{ group: ['node:*'], message: 'Node modules stay out of the workflow sandbox: do this in an activity.' }],
};
const TEMPORAL = {
  group: ['@temporalio/*'],
  message: 'The dispatcher core is pure: no Temporal; the driver (src/workflows) turns its decisions into Temporal calls.',
};
const NO_CLOCK = "The dispatcher core has no clock, randomness or timer of its own: use the step's `now`; the driver owns time.";
const PATCHED = {
  name: '@temporalio/workflow',
  importNames: ['patched', 'deprecatePatch'],
  message: 'Patch ids live in one registry: add an entry to src/workflows/patches.ts and read it from readPatches().',
};

export default tseslint.config(
  { ignores: ['dist/**', '.stryker-tmp/**', 'reports/**', 'node_modules/**', 'test/replay/**', '**/*.mjs', '**/*.mts', '**/*.js'] },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked, prettier],
    languageOptions: { parserOptions: { project: ['./tsconfig.test.json'], tsconfigRootDir: import.meta.dirname } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: false, ignoreIIFE: false }],
      '@typescript-eslint/no-misused-promises': 'error',
      // `_name` marks a value taken out on purpose, e.g. a field dropped by destructuring.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/shared/**/*.ts'],
    ignores: ['src/shared/dispatch/**'],
    rules: { 'no-restricted-imports': ['error', NODE_MODULES] },
  },
  {
    files: ['src/shared/dispatch/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: NODE_MODULES.paths, patterns: [...NODE_MODULES.patterns, TEMPORAL] }],
      'no-restricted-globals': ['error', ...['setTimeout', 'setInterval', 'setImmediate', 'performance'].map((name) => ({ name, message: NO_CLOCK }))],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: NO_CLOCK },
        { object: 'Math', property: 'random', message: NO_CLOCK },
        { property: 'randomUUID', message: NO_CLOCK },
        { object: 'process', property: 'hrtime', message: NO_CLOCK },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: NO_CLOCK },
        { selector: "CallExpression[callee.name='Date']", message: NO_CLOCK },
      ],
    },
  },
  {
    files: ['src/workflows/**/*.ts'],
    ignores: ['src/workflows/patches.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [...NODE_MODULES.paths, PATCHED], patterns: NODE_MODULES.patterns }] },
  },
  {
    // The oracle judges the core: it takes nothing from the code it judges but types.
    files: ['test/sim/oracle.ts', 'test/sim/oracle/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/shared/dispatch/**', '**/shared/planner', '**/shared/retry-policy', '**/shared/live-settings'],
              allowTypeImports: true,
              message: 'The oracle states the rules from the scenario and the docs, never from the code it checks: import types only.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/workflows/patches.ts'],
    rules: { 'no-restricted-imports': ['error', NODE_MODULES] },
  },
);
