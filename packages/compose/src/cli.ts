/**
 * `tsx packages/compose/src/cli.ts write` — compose and (re)write schema/supergraph.graphql.
 * `tsx packages/compose/src/cli.ts check` — fail if composition fails or the committed file is stale.
 * Breaking API changes are reported in both modes but never fail the run: they may be intended,
 * and the reviewer should see them, not be blocked by them.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  breakingChanges,
  composeFromManifest,
  findRepoRoot,
  renderSupergraphFile,
  SUPERGRAPH_PATH,
  type ComposeResult,
} from './compose.js';

function main(mode: string | undefined): number {
  if (mode !== 'write' && mode !== 'check') {
    console.error('usage: cli.ts <write|check>');
    return 2;
  }
  const root = findRepoRoot();
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
  // Normalise line endings so a CRLF checkout is not reported as stale.
  const previous = existsSync(file) ? readFileSync(file, 'utf8').replace(/\r\n/g, '\n') : undefined;
  if (previous !== undefined) reportChanges(previous, fresh);

  if (mode === 'write') {
    if (previous === fresh) console.log(`${SUPERGRAPH_PATH} is already up to date`);
    else {
      writeFileSync(file, fresh);
      console.log(`wrote ${SUPERGRAPH_PATH}`);
    }
    return 0;
  }
  if (previous !== fresh) {
    console.error(`${SUPERGRAPH_PATH} is stale: run pnpm compose`);
    return 1;
  }
  console.log(`OK: ${SUPERGRAPH_PATH} is up to date`);
  return 0;
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
  process.exitCode = main(process.argv[2]);
} catch (e) {
  console.error(`compose: ${(e as Error).message}`);
  process.exitCode = 1;
}
