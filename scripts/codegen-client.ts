/**
 * `tsx scripts/codegen-client.ts write` (`pnpm codegen:client`) — (re)writes the example frontend's typed
 * operations (examples/frontend/src/gql/) from its operations and schema/api.graphql, as configured in
 * examples/frontend/codegen.ts (GraphQL Code Generator, client-preset).
 * `tsx scripts/codegen-client.ts check` (`pnpm codegen:client:check`, run by CI) — generates in memory and
 * fails if a committed file is missing, differs, or is no longer generated (a stale leftover).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { generate } from '@graphql-codegen/cli';
import config from '../examples/frontend/codegen.js';

const root = resolve(import.meta.dirname, '..');
const example = join(root, 'examples/frontend');
const outputDir = join(example, 'src/gql');

async function main(mode: string | undefined): Promise<number> {
  if (mode !== 'write' && mode !== 'check') {
    console.error('usage: codegen-client.ts <write|check>');
    return 2;
  }
  // In memory only (saveToFile: false): this script decides what to write.
  const outputs: Array<{ filename: string; content: string }> = await generate(
    { ...config, cwd: example, silent: true },
    false,
  );
  const produced = new Map(outputs.map((o) => [resolve(example, o.filename), o.content]));
  const committed = existsSync(outputDir)
    ? readdirSync(outputDir, { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) => join(entry.parentPath, entry.name))
    : [];

  const problems: string[] = [];
  for (const [file, content] of produced) {
    // Normalise line endings so a CRLF checkout is not reported as stale.
    const previous = existsSync(file) ? readFileSync(file, 'utf8').replace(/\r\n/g, '\n') : undefined;
    if (previous === content) continue;
    problems.push(`${relative(root, file)} is stale or missing`);
    if (mode === 'write') {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, content);
      console.log(`wrote ${relative(root, file)}`);
    }
  }
  for (const file of committed.filter((f) => !produced.has(f))) {
    problems.push(`${relative(root, file)} is no longer generated`);
    if (mode === 'write') {
      rmSync(file);
      console.log(`removed ${relative(root, file)}`);
    }
  }
  if (mode === 'write') {
    if (problems.length === 0)
      console.log(`typed operations (${produced.size} files) are already up to date`);
    return 0;
  }
  if (problems.length > 0) {
    for (const problem of problems) console.error(`${problem}: run pnpm codegen:client`);
    return 1;
  }
  console.log(`OK: typed operations of examples/frontend (${produced.size} files) are up to date`);
  return 0;
}

try {
  process.exitCode = await main(process.argv[2]);
} catch (e) {
  console.error(`codegen:client: ${(e as Error).message}`);
  process.exitCode = 1;
}
