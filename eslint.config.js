import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'scratch/**', '.kratix-temporal/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Workflow code is replayed: it must not do I/O, read the clock or randomness.
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins.map((name) => ({
              name,
              message: 'workflows/ must stay deterministic: no Node built-ins',
            })),
            { name: '@kubernetes/client-node', message: 'Kubernetes I/O belongs in activities/' },
            { name: '@temporalio/activity', message: 'workflows/ cannot use the activity API' },
            { name: '@temporalio/client', message: 'workflows/ cannot use the client' },
            { name: '@temporalio/worker', message: 'workflows/ cannot use the worker' },
            { name: 'pino', message: 'use the workflow logger from @temporalio/workflow' },
          ],
          patterns: [
            {
              group: ['**/activities/*'],
              message: 'import activities with `import type`',
              allowTypeImports: true,
            },
            {
              group: ['**/src/kube/*', '**/src/infra/*', '**/src/executors/*'],
              message: 'I/O modules are not allowed in workflows/',
            },
          ],
        },
      ],
    },
  },
);
