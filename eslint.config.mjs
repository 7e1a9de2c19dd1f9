// Lint runs typescript-eslint's type-checked rules over the whole tree (src, scripts, test), and
// guards what review misses where a mistake costs most:
// - everywhere: every promise awaited or its rejection handled on purpose (void is not exempt);
// - workflow code: no cancellation swallowed by a `.catch` or a `catch` block (the sweep would
//   never end as cancelled), and patch ids only through the registry (src/workflows/patches.ts);
// - the workflow sandbox (src/workflows, src/shared): no Node module, so nothing there can touch a
//   file, a socket or the clock behind Temporal's back (test/unit/workflow-border.test.ts bundles
//   it to prove the same); the dispatcher core (src/shared/dispatch): not even Temporal.
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
const PATCHED = {
  name: '@temporalio/workflow',
  importNames: ['patched', 'deprecatePatch'],
  message: 'Patch ids live in one registry: add an entry to src/workflows/patches.ts and read it from readPatches().',
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test/replay/**', '**/*.mjs', '**/*.mts', '**/*.js'] },
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
    rules: { 'no-restricted-imports': ['error', { paths: NODE_MODULES.paths, patterns: [...NODE_MODULES.patterns, TEMPORAL] }] },
  },
  {
    files: ['src/workflows/**/*.ts'],
    ignores: ['src/workflows/patches.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [...NODE_MODULES.paths, PATCHED], patterns: NODE_MODULES.patterns }] },
  },
  {
    files: ['src/workflows/patches.ts'],
    rules: { 'no-restricted-imports': ['error', NODE_MODULES] },
  },
  {
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.property.name='catch']:not([arguments.0.callee.name='unlessCancelled'])",
          message: 'In workflow code a .catch must let cancellations through: .catch(unlessCancelled(...)) (src/workflows/cancellation.ts).',
        },
        {
          selector: 'CatchClause:not(:has(ThrowStatement))',
          message: 'In workflow code a catch block must rethrow (at least a cancellation).',
        },
      ],
    },
  },
);
