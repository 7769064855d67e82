import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  apiSchema,
  checkManifestOperations,
  composeFromManifest,
  findRepoRoot,
  MANIFEST_FORMAT,
  parseManifest,
  readManifests,
} from '../src/index.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

function operation(name: string, type: 'query' | 'mutation', body: string) {
  return { id: createHash('sha256').update(body).digest('hex'), name, type, body };
}
function manifestText(...operations: ReturnType<typeof operation>[]) {
  return JSON.stringify({ format: MANIFEST_FORMAT, version: 1, operations });
}

const composed = composeFromManifest(findRepoRoot());
if (!composed.ok) throw new Error('the committed subgraphs do not compose');
const schema = apiSchema(composed.supergraphSdl);

/** A folder with one good client and one whose operation asks for a field the API does not have. */
function folderWithABrokenOperation(): string {
  const dir = mkdtempSync(join(tmpdir(), 'carwash-manifests-'));
  writeFileSync(
    join(dir, 'good-app.json'),
    manifestText(operation('Services', 'query', 'query Services { services { id } }')),
  );
  writeFileSync(
    join(dir, 'fleet-partner.json'),
    manifestText(
      operation('Services', 'query', 'query Services { services { id name } }'),
      operation('OldSlots', 'query', 'query OldSlots { services { id legacyPriceCents } }'),
    ),
  );
  return dir;
}

describe(checkManifestOperations.name, () => {
  it('names the client and operation that the composed API schema would break', () => {
    const { manifests, problems } = readManifests(folderWithABrokenOperation());
    expect(problems).toEqual([]);
    const broken = checkManifestOperations(schema, manifests.values());
    expect(broken).toHaveLength(1);
    expect(broken[0]).toMatchObject({ client: 'fleet-partner', operation: 'OldSlots' });
    expect(broken[0]!.message).toContain('legacyPriceCents');
  });

  it('passes the shipped sample-partner manifest against the committed supergraph', () => {
    const { manifests, problems } = readManifests(join(findRepoRoot(), 'schema/persisted-queries'));
    expect(problems).toEqual([]);
    expect(manifests.get('sample-partner')?.operations.size).toBeGreaterThanOrEqual(4);
    expect(checkManifestOperations(schema, manifests.values())).toEqual([]);
  });

  it('refuses an operation whose name or type is not what its body defines', () => {
    const m = parseManifest(
      'x',
      manifestText(operation('Wrong', 'mutation', 'query Services { services { id } }')),
    );
    expect(checkManifestOperations(schema, [m])[0]).toMatchObject({ client: 'x', operation: 'Wrong' });
  });
});

describe(parseManifest.name, () => {
  it('refuses an id that is not the SHA-256 of its body (a hijacked id)', () => {
    const op = { ...operation('Services', 'query', '{ services { id } }'), body: '{ me { email } }' };
    expect(() => parseManifest('x', manifestText(op))).toThrow(/not the SHA-256/);
  });

  it('refuses another format, and a file name that is not a client name', () => {
    expect(() => parseManifest('x', JSON.stringify({ format: 'relay', version: 1, operations: [] }))).toThrow(
      /not a manifest/,
    );
    const dir = mkdtempSync(join(tmpdir(), 'carwash-manifests-'));
    writeFileSync(join(dir, 'Bad.Name.json'), manifestText());
    expect(readManifests(dir).problems[0]?.message).toMatch(/named <client>\.json/);
  });
});

describe('pnpm compose:check', () => {
  it('fails, naming client and operation, when a manifest operation no longer validates', async () => {
    const failed = await run(
      'pnpm',
      ['exec', 'tsx', CLI, 'check', '--manifests', folderWithABrokenOperation()],
      {
        cwd: findRepoRoot(),
      },
    ).then(
      () => undefined,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain('client fleet-partner, operation OldSlots');
  }, 30_000);
});
