/**
 * `tsx scripts/codegen-client.ts write` (`pnpm codegen:client`) — (re)writes the example frontend's typed
 * operations (examples/frontend/src/gql/) from its operations and schema/api.graphql, as configured in
 * examples/frontend/codegen.ts (GraphQL Code Generator, client-preset).
 * `tsx scripts/codegen-client.ts check` (`pnpm codegen:client:check`, run by CI) — generates in memory and
 * fails if a committed file is missing, differs, or is no longer generated (a stale leftover).
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import config from '../examples/frontend/codegen.js';
import { codegenInMemory, runGenerator } from './generated-files.js';

const root = resolve(import.meta.dirname, '..');
const example = join(root, 'examples/frontend');
const outputDir = join(example, 'src/gql');

await runGenerator({
  script: 'codegen-client.ts',
  command: 'pnpm codegen:client',
  root,
  async produce() {
    const committed = existsSync(outputDir)
      ? readdirSync(outputDir, { recursive: true, withFileTypes: true })
          .filter((entry) => entry.isFile())
          .map((entry) => join(entry.parentPath, entry.name))
      : [];
    return { files: await codegenInMemory(config, example), committed };
  },
  describe: (files) => `typed operations of examples/frontend (${files.size} files)`,
});
