// Lint guards what review misses in workflow code: every promise awaited or its rejection handled
// on purpose (a dropped rejection fails the workflow task and leaves the sweep running), and no
// cancellation swallowed by a `.catch` or a `catch` block (the sweep would never end as cancelled).
import tseslint from 'typescript-eslint';

const WORKFLOW_SANDBOX = ['src/workflows/**/*.ts', 'src/shared/**/*.ts'];

export default tseslint.config(
  {
    files: WORKFLOW_SANDBOX,
    extends: [tseslint.configs.base],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: false, ignoreIIFE: false }],
      '@typescript-eslint/no-misused-promises': 'error',
    },
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
