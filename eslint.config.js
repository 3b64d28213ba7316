// Lint config: type-aware rules everywhere; workflow files may not touch Node built-ins or I/O libraries
// (Temporal's sandbox would reject them at bundle time, this catches it at lint time).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

export default tseslint.config(
  { ignores: ['node_modules/**', '.tools/**', '.state/**', 'bench/results/**', 'bin/**', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...builtinModules, ...builtinModules.map((m) => `node:${m}`), 'dockerode', 'undici'].map((name) => ({
            name,
            message: 'Workflows are deterministic: no Node built-ins or I/O libraries.',
          })),
          patterns: [
            {
              group: ['../activities/*', '../activities/**', '!../activities/index.ts'],
              message: 'Workflows import activity types only.',
            },
          ],
        },
      ],
    },
  },
);
