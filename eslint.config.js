// Flat ESLint config for the whole workspace: `pnpm lint` (eslint --max-warnings 0 .).
// Lints TypeScript only (plus this file and the local plugin in eslint/), with typescript-eslint's
// recommended rules — deliberately not the type-aware set, to keep lint fast — and the local
// `carwash/feature-boundaries` rule (eslint/boundaries.js) that keeps features apart, and
// `carwash/prisma-in-repositories`, which keeps each feature's Prisma use in its repository.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';
import carwash from './eslint/boundaries.js';

const root = import.meta.dirname;

export default defineConfig([
  globalIgnores(
    [
      '**/node_modules/',
      '**/src/generated/', // Prisma clients, generated per feature (gitignored)
      '**/src/__generated__/', // resolver types from `pnpm codegen` (committed; checked by `pnpm codegen:check`)
      'examples/*/src/gql/', // typed operations from `pnpm codegen:client` (committed; `pnpm codegen:client:check`)
      '**/dist/',
      '**/coverage/',
      '.data/',
      'tmp/',
      // Only TypeScript is linted; the one exception is the lint tooling itself.
      '**/*.js',
      '**/*.mjs',
      '**/*.cjs',
      '!eslint.config.js',
      '!eslint/**/*.js',
    ],
    'carwash/ignores',
  ),

  {
    name: 'carwash/typescript',
    files: ['**/*.ts', '**/*.mts', '**/*.cts'],
    extends: [js.configs.recommended, tseslint.configs.recommended],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          args: 'after-used',
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
    },
  },

  {
    name: 'carwash/lint-tooling',
    files: ['eslint.config.js', 'eslint/**/*.js'],
    extends: [js.configs.recommended],
    languageOptions: { ecmaVersion: 'latest', sourceType: 'module' },
  },

  {
    name: 'carwash/boundaries',
    plugins: { carwash },
    rules: {
      'carwash/feature-boundaries': ['error', { root }],
    },
  },

  {
    name: 'carwash/prisma-in-repositories',
    files: ['subgraphs/*/src/**/*.ts'],
    plugins: { carwash },
    rules: {
      'carwash/prisma-in-repositories': ['error', { root }],
    },
  },
]);
