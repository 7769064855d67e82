import { defineConfig } from 'vitest/config';
import { GATEWAY_RUNTIME_ENV } from './gateway/src/runtime.js';

const slow = { testTimeout: 30_000, hookTimeout: 60_000 };

/**
 * Three projects, split by file name:
 *  - unit         `*.test.ts`      no I/O, milliseconds;
 *  - integration  `*.int.test.ts`  one feature against the real PostgreSQL (and Redis);
 *  - e2e          `*.e2e.test.ts`  the supergraph through the gateway, servers started in-process.
 */
// Test workers are child processes started after this file is read: they run under the allocator setting
// the gateway ships with (gateway/src/runtime.ts), which the edge memory test's RSS bound assumes.
process.env.MALLOC_MMAP_THRESHOLD_ ??= GATEWAY_RUNTIME_ENV.MALLOC_MMAP_THRESHOLD_;

// CI sets VITEST_JSON_REPORT to a path to get machine-readable totals next to the usual output.
const jsonReport = process.env.VITEST_JSON_REPORT;

export default defineConfig({
  test: {
    ...(jsonReport ? { reporters: ['default', 'json'], outputFile: { json: jsonReport } } : {}),
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            'packages/*/test/**/*.test.ts',
            'subgraphs/*/test/**/*.test.ts',
            'gateway/test/**/*.test.ts',
            'test/**/*.test.ts',
          ],
          exclude: ['**/*.int.test.ts', '**/*.e2e.test.ts', '**/node_modules/**'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['**/*.int.test.ts'],
          exclude: ['**/node_modules/**'],
          globalSetup: ['test/support/global-setup.ts'],
          ...slow,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/**/*.e2e.test.ts', 'gateway/test/**/*.e2e.test.ts'],
          exclude: ['**/node_modules/**'],
          globalSetup: ['test/support/global-setup.ts'],
          ...slow,
        },
      },
    ],
  },
});
