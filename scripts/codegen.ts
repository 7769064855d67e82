/**
 * `tsx scripts/codegen.ts write` (`pnpm codegen`) — (re)writes each subgraph's resolver types from its
 * schema.graphql, as configured in codegen.ts, and the helper types they share (scripts/resolver-helpers.ts).
 * `tsx scripts/codegen.ts check` (`pnpm codegen:check`, run by CI) — generates in memory and fails if a
 * committed file is missing or differs, or if a subgraph has a schema that codegen.ts does not cover.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import config, { GENERATED_FILE } from '../codegen.js';
import { codegenInMemory, runGenerator } from './generated-files.js';
import { HELPERS_FILE, shareResolverHelpers } from './resolver-helpers.js';

const root = resolve(import.meta.dirname, '..');

/** Subgraphs that have a schema, each of which must have generated resolver types. */
function subgraphsWithSchema(): string[] {
  const dir = join(root, 'subgraphs');
  return readdirSync(dir).filter((name) => existsSync(join(dir, name, 'src', 'schema.graphql')));
}

await runGenerator({
  script: 'codegen.ts',
  command: 'pnpm codegen',
  root,
  async produce() {
    const generated = shareResolverHelpers(await codegenInMemory(config, root));
    const files = new Map([...generated.files, [join(root, HELPERS_FILE), generated.helpers]]);
    const problems = subgraphsWithSchema()
      .map((name) => `subgraphs/${name}/src/${GENERATED_FILE}`)
      .filter((file) => !files.has(join(root, file)))
      .map((file) => `${file}: its subgraph has a schema.graphql but no entry in codegen.ts`);
    return { files, problems };
  },
  describe: (files) => `resolver types of ${files.size - 1} subgraphs and their shared helpers`,
});
