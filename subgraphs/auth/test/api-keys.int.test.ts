import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { ApiKeyService, hashApiKey, LAST_USED_WRITE_EVERY_MS } from '../src/api-keys.js';
import { createDb } from '../src/db.js';
import { ApiKeyRepository } from '../src/repositories/api-keys.js';

const { db, pool } = createDb(
  process.env.AUTH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/carwash_auth',
  2,
);
const SECRET = 'test-api-key-hash-secret-0123456789abcdef';
const admin = { userId: randomUUID(), role: 'ADMIN' as const, sessionId: randomUUID() };
const repo = new ApiKeyRepository(db);

afterAll(async () => {
  await db.$disconnect();
  await pool.end();
});

describe(ApiKeyService.name, () => {
  it('stores only a keyed hash of the key it shows once, and verifies the key to its client and tier', async () => {
    const sut = new ApiKeyService(repo, SECRET);
    const { key, apiKey } = await sut.create(admin, {
      name: 'Fleet app',
      client: 'sample-partner',
      tier: 'gold',
    });
    expect(key).toMatch(/^cwk_[A-Za-z0-9_-]{43}$/);
    const row = await db.apiKey.findUniqueOrThrow({ where: { id: apiKey.id } });
    expect(row.keyHash).toBe(hashApiKey(key, SECRET));
    expect(JSON.stringify(row)).not.toContain(key.slice(4));
    expect(row.prefix).toBe(key.slice(0, 8));
    expect(await sut.verify(key)).toEqual({ id: apiKey.id, client: 'sample-partner', tier: 'gold' });
    // The same key under another secret is another hash: a copy of the table alone cannot test keys.
    expect(await new ApiKeyService(repo, `${SECRET}-other`).verify(key)).toBeNull();
  });

  it('refuses a revoked key, announces it, and keeps the first revocation time when revoked twice', async () => {
    const announced: string[] = [];
    const sut = new ApiKeyService(repo, SECRET, async (id) => void announced.push(id));
    const { key, apiKey } = await sut.create(admin, {
      name: 'Old',
      client: 'sample-partner',
      tier: 'default',
    });
    const first = await sut.revoke(apiKey.id);
    expect(first.revokedAt).toBeInstanceOf(Date);
    const again = await sut.revoke(apiKey.id);
    expect(again.revokedAt).toEqual(first.revokedAt);
    expect(announced).toEqual([apiKey.id, apiKey.id]);
    expect(await sut.verify(key)).toBeNull();
  });

  it('records the last use at most once a minute, not on every verification', async () => {
    let now = new Date('2026-12-01T10:00:00.000Z');
    const sut = new ApiKeyService(repo, SECRET, undefined, () => now);
    const { key, apiKey } = await sut.create(admin, {
      name: 'Busy',
      client: 'busy-partner',
      tier: 'default',
    });
    await sut.verify(key);
    const t0 = (await repo.findById(apiKey.id))!.lastUsedAt;
    expect(t0).toEqual(now);
    now = new Date(now.getTime() + LAST_USED_WRITE_EVERY_MS / 2);
    await sut.verify(key);
    expect((await repo.findById(apiKey.id))!.lastUsedAt).toEqual(t0);
    now = new Date(now.getTime() + LAST_USED_WRITE_EVERY_MS);
    await sut.verify(key);
    expect((await repo.findById(apiKey.id))!.lastUsedAt).toEqual(now);
  });

  it('refuses a client name that could not name a manifest file (dots, slashes, upper case)', async () => {
    const sut = new ApiKeyService(repo, SECRET);
    for (const client of ['../etc/passwd', 'a.b', 'Partner', '', 'x'.repeat(64)]) {
      await expect(sut.create(admin, { name: 'Bad', client, tier: 'default' })).rejects.toMatchObject({
        extensions: { code: 'BAD_USER_INPUT', field: 'input.client' },
      });
    }
  });

  it('answers an unknown or malformed key with null, without a lookup for the malformed one', async () => {
    const sut = new ApiKeyService(repo, SECRET);
    expect(await sut.verify(`cwk_${'A'.repeat(43)}`)).toBeNull();
    expect(await sut.verify("' OR 1=1 --")).toBeNull();
  });

  it('reports a revocation of an unknown id as NOT_FOUND', async () => {
    await expect(new ApiKeyService(repo, SECRET).revoke(randomUUID())).rejects.toMatchObject({
      extensions: { code: 'NOT_FOUND' },
    });
  });
});
