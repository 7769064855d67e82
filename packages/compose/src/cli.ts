/**
 * `tsx packages/compose/src/cli.ts write` — compose and (re)write schema/supergraph.graphql and the API
 * schema derived from it, schema/api.graphql (what frontends generate typed operations against).
 * `tsx packages/compose/src/cli.ts check` — fail if composition fails or either committed file is stale,
 * or if an operation of a trusted-document manifest (schema/persisted-queries/<client>.json, or the
 * folder given with `--manifests <dir>`) is not valid against the newly composed API schema.
 * Breaking API changes are reported in both modes but never fail the run: they may be intended,
 * and the reviewer should see them, not be blocked by them.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkManifestOperations, PERSISTED_QUERIES_DIR, readManifests } from './manifests.js';
import {
  API_SCHEMA_PATH,
  apiSchema,
  breakingChanges,
  composeFromManifest,
  findRepoRoot,
  renderApiSchemaFile,
  renderSupergraphFile,
  SUPERGRAPH_PATH,
  type ComposeResult,
} from './compose.js';

function main(mode: string | undefined, args: string[]): number {
  const at = args.indexOf('--manifests');
  if ((mode !== 'write' && mode !== 'check') || (at >= 0 && !args[at + 1])) {
    console.error('usage: cli.ts <write|check> [--manifests <dir>]');
    return 2;
  }
  const root = findRepoRoot();
  const manifestsDir = at >= 0 ? args[at + 1]! : join(root, PERSISTED_QUERIES_DIR);
  const file = join(root, SUPERGRAPH_PATH);
  const result: ComposeResult = composeFromManifest(root);
  if (!result.ok) {
    console.error(`Composition failed with ${result.errors.length} error(s):`);
    for (const e of result.errors) {
      console.error(`  ✗ ${e.code ?? 'ERROR'} [${e.subgraphs.join(', ') || 'supergraph'}] ${e.message}`);
    }
    return 1;
  }
  for (const hint of result.hints) console.warn(`  hint: ${hint}`);

  const fresh = renderSupergraphFile(result.supergraphSdl);
  const previous = readCommitted(file);
  if (previous !== undefined) reportChanges(previous, fresh);
  const brokenOperations = checkOperations(result.supergraphSdl, manifestsDir);
  const outputs = [
    { path: SUPERGRAPH_PATH, previous, fresh },
    {
      path: API_SCHEMA_PATH,
      previous: readCommitted(join(root, API_SCHEMA_PATH)),
      fresh: renderApiSchemaFile(result.supergraphSdl),
    },
  ];

  if (mode === 'write') {
    for (const output of outputs) {
      if (output.previous === output.fresh) console.log(`${output.path} is already up to date`);
      else {
        writeFileSync(join(root, output.path), output.fresh);
        console.log(`wrote ${output.path}`);
      }
    }
    return 0;
  }
  if (brokenOperations > 0) return 1;
  const stale = outputs.filter((output) => output.previous !== output.fresh);
  for (const output of stale) console.error(`${output.path} is stale: run pnpm compose`);
  if (stale.length > 0) return 1;
  console.log(`OK: ${outputs.map((output) => output.path).join(' and ')} are up to date`);
  return 0;
}

/** A committed file's text, or undefined; line endings normalised so a CRLF checkout is not stale. */
function readCommitted(file: string): string | undefined {
  return existsSync(file) ? readFileSync(file, 'utf8').replace(/\r\n/g, '\n') : undefined;
}

/**
 * Reports every trusted-document operation the new API schema would break (or a manifest that does not
 * parse), naming client and operation; returns how many. Only `check` fails on them.
 */
function checkOperations(supergraphSdl: string, dir: string): number {
  const { manifests, problems } = readManifests(dir);
  problems.push(...checkManifestOperations(apiSchema(supergraphSdl), manifests.values()));
  if (problems.length === 0) {
    const count = [...manifests.values()].reduce((n, m) => n + m.operations.size, 0);
    console.log(`OK: ${count} trusted operation(s) of ${manifests.size} client manifest(s) are valid`);
    return 0;
  }
  console.error(`${problems.length} trusted-document problem(s) against the new API schema:`);
  for (const p of problems)
    console.error(`  ✗ client ${p.client}${p.operation ? `, operation ${p.operation}` : ''}: ${p.message}`);
  return problems.length;
}

/** Warns about API changes from `previous` to `next`; an unreadable previous file is only warned about. */
function reportChanges(previous: string, next: string): void {
  let changes;
  try {
    changes = breakingChanges(previous, next);
  } catch (e) {
    console.warn(`warning: could not compare with the previous ${SUPERGRAPH_PATH}: ${(e as Error).message}`);
    return;
  }
  if (changes.breaking.length > 0) {
    console.warn(
      `warning: ${changes.breaking.length} breaking API change(s) since the previous ${SUPERGRAPH_PATH}:`,
    );
    for (const c of changes.breaking) console.warn(`  ! ${c.type}: ${c.description}`);
  }
  if (changes.dangerous.length > 0) {
    console.warn(`warning: ${changes.dangerous.length} potentially dangerous API change(s):`);
    for (const c of changes.dangerous) console.warn(`  ~ ${c.type}: ${c.description}`);
  }
}

try {
  process.exitCode = main(process.argv[2], process.argv.slice(3));
} catch (e) {
  console.error(`compose: ${(e as Error).message}`);
  process.exitCode = 1;
}
