import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@carwash/subgraph-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { ManifestStore } from '../src/edge/manifests.js';

const body = (name: string) => `query ${name} { services { id } }`;
const id = (name: string) => createHash('sha256').update(body(name)).digest('hex');
const manifest = (...names: string[]) =>
  JSON.stringify({
    format: 'apollo-persisted-query-manifest',
    version: 1,
    operations: names.map((n) => ({ id: id(n), name: n, type: 'query', body: body(n) })),
  });

let sut: ManifestStore | undefined;
afterEach(() => sut?.close());

function nextReload(store: ManifestStore): Promise<void> {
  return new Promise((resolve) => {
    const off = store.onReload(() => {
      off();
      resolve();
    });
  });
}

describe(ManifestStore.name, () => {
  it('picks up an added operation, a new client and a removed client without a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'carwash-manifest-store-'));
    writeFileSync(join(dir, 'fleet.json'), manifest('A'));
    writeFileSync(join(dir, 'gone.json'), manifest('G'));
    sut = new ManifestStore(dir, createLogger('gateway', 'silent'));
    sut.watch();
    expect(sut.summary()).toEqual({ fleet: 1, gone: 1 });
    let reloaded = nextReload(sut);
    writeFileSync(join(dir, 'fleet.json'), manifest('A', 'B'));
    writeFileSync(join(dir, 'kiosk.json'), manifest('K'));
    rmSync(join(dir, 'gone.json'));
    await reloaded;
    expect(sut.get('fleet')?.operations.has(id('B'))).toBe(true);
    expect(sut.get('kiosk')?.operations.has(id('K'))).toBe(true);
    reloaded = nextReload(sut);
    writeFileSync(join(dir, 'fleet.json'), manifest('A', 'B', 'C'));
    await reloaded;
    expect(sut.get('gone')).toBeUndefined();
  });

  it("keeps a client's previous list when its file is half-written, rather than locking the client out", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'carwash-manifest-store-'));
    writeFileSync(join(dir, 'fleet.json'), manifest('A'));
    sut = new ManifestStore(dir, createLogger('gateway', 'silent'));
    sut.watch();
    const reloaded = nextReload(sut);
    writeFileSync(join(dir, 'fleet.json'), manifest('A', 'B').slice(0, 40));
    await reloaded;
    expect(sut.get('fleet')?.operations.has(id('A'))).toBe(true);
    expect(sut.get('fleet')?.operations.has(id('B'))).toBe(false);
  });
});
