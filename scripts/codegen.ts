/**
 * `tsx scripts/codegen.ts write` (`pnpm codegen`) — (re)writes each subgraph's resolver types from its
 * schema.graphql, as configured in codegen.ts.
 * `tsx scripts/codegen.ts check` (`pnpm codegen:check`, run by CI) — generates in memory and fails if a
 * committed file is missing or differs, or if a subgraph has a schema that codegen.ts does not cover.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { generate } from '@graphql-codegen/cli';
import config, { GENERATED_FILE } from '../codegen.js';

const root = resolve(import.meta.dirname, '..');

/** Subgraphs that have a schema, each of which must have generated resolver types. */
function subgraphsWithSchema(): string[] {
  const dir = join(root, 'subgraphs');
  return readdirSync(dir).filter((name) => existsSync(join(dir, name, 'src', 'schema.graphql')));
}

async function main(mode: string | undefined): Promise<number> {
  if (mode !== 'write' && mode !== 'check') {
    console.error('usage: codegen.ts <write|check>');
    return 2;
  }
  // In memory only (saveToFile: false): this script decides what to write.
  const outputs: Array<{ filename: string; content: string }> = await generate(
    { ...config, cwd: root, silent: true },
    false,
  );
  const produced = new Set(outputs.map((o) => relative(root, resolve(root, o.filename))));
  const uncovered = subgraphsWithSchema()
    .map((name) => `subgraphs/${name}/src/${GENERATED_FILE}`)
    .filter((file) => !produced.has(file));
  if (uncovered.length > 0) {
    for (const file of uncovered)
      console.error(`${file}: its subgraph has a schema.graphql but no entry in codegen.ts`);
    return 1;
  }

  const stale: string[] = [];
  for (const { filename, content } of outputs) {
    const file = resolve(root, filename);
    // Normalise line endings so a CRLF checkout is not reported as stale.
    const previous = existsSync(file) ? readFileSync(file, 'utf8').replace(/\r\n/g, '\n') : undefined;
    if (previous === content) continue;
    const name = relative(root, file);
    stale.push(name);
    if (mode === 'write') {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, content);
      console.log(`wrote ${name}`);
    }
  }
  if (mode === 'write') {
    if (stale.length === 0)
      console.log(`resolver types of ${outputs.length} subgraphs are already up to date`);
    return 0;
  }
  if (stale.length > 0) {
    for (const name of stale) console.error(`${name} is stale or missing: run pnpm codegen`);
    return 1;
  }
  console.log(`OK: resolver types of ${outputs.length} subgraphs are up to date`);
  return 0;
}

try {
  process.exitCode = await main(process.argv[2]);
} catch (e) {
  console.error(`codegen: ${(e as Error).message}`);
  process.exitCode = 1;
}
