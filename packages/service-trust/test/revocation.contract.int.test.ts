import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import {
  MemoryRevocationStore,
  RedisRevocationStore,
  type RevocationListener,
  type RevocationStore,
} from '../src/index.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

async function dropNamespace(ns: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    const keys = await redis.keys(`${ns}:*`);
    if (keys.length) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}

async function waitUntil(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** One contract, two implementations: the zero-setup mode must refuse exactly what production refuses. */
describe.each([
  [
    'Redis',
    (ns: string, ttlSeconds?: number) =>
      new RedisRevocationStore(REDIS_URL, { namespace: ns, ...(ttlSeconds ? { ttlSeconds } : {}) }),
  ],
  [
    'in-memory',
    (ns: string, ttlSeconds?: number) =>
      new MemoryRevocationStore({ namespace: ns, ...(ttlSeconds ? { ttlSeconds } : {}) }),
  ],
] as const)('RevocationStore contract: %s', (name, makeStore) => {
  const opened: RevocationStore[] = [];
  const namespaces: string[] = [];
  function store(ns: string, ttlSeconds?: number): RevocationStore {
    const s = makeStore(ns, ttlSeconds);
    opened.push(s);
    return s;
  }
  function namespace(): string {
    const ns = `test-rev-${randomUUID().slice(0, 8)}`;
    namespaces.push(ns);
    return ns;
  }
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
    if (name === 'Redis') await Promise.all(namespaces.splice(0).map(dropNamespace));
  });

  it('knows nothing of a user or session never revoked', async () => {
    const sut = store(namespace());
    expect(await sut.status(randomUUID(), randomUUID())).toEqual({ minVersion: 0, sessionRevoked: false });
  });

  it('revokes one session family and no other', async () => {
    const sut = store(namespace());
    const [user, session, other] = [randomUUID(), randomUUID(), randomUUID()];
    await sut.revokeSession(session);
    await sut.revokeSession(session);
    expect(await sut.status(user, session)).toEqual({ minVersion: 0, sessionRevoked: true });
    expect(await sut.status(user, other)).toEqual({ minVersion: 0, sessionRevoked: false });
  });

  it("never lowers a user's minimum version (a late or duplicated event cannot revive tokens)", async () => {
    const sut = store(namespace());
    const user = randomUUID();
    await sut.revokeUserBelow(user, 3);
    await sut.revokeUserBelow(user, 2);
    expect((await sut.status(user, randomUUID())).minVersion).toBe(3);
    await sut.revokeUserBelow(user, 4);
    expect((await sut.status(user, randomUUID())).minVersion).toBe(4);
  });

  it('shares revocations between replicas and announces them to every listener', async () => {
    const ns = namespace();
    const writer = store(ns);
    const reader = store(ns);
    const heard: Array<Parameters<RevocationListener>[0]> = [];
    reader.onRevoked((r) => heard.push(r));
    await reader.ping();
    // The Redis subscriber connects asynchronously; its first "ready" says "forget everything".
    if (name === 'Redis') await waitUntil(() => heard.includes(null));
    const [user, session] = [randomUUID(), randomUUID()];
    await writer.revokeUserBelow(user, 1);
    await writer.revokeSession(session);
    expect(await reader.status(user, session)).toEqual({ minVersion: 1, sessionRevoked: true });
    await waitUntil(() => heard.length >= 2 + (name === 'Redis' ? 1 : 0));
    expect(heard.filter((h) => h !== null)).toEqual([
      { kind: 'user', id: user },
      { kind: 'session', id: session },
    ]);
  });

  it('keeps environments sharing a Redis apart by namespace', async () => {
    const session = randomUUID();
    await store(namespace()).revokeSession(session);
    expect((await store(namespace()).status(randomUUID(), session)).sessionRevoked).toBe(false);
  });

  it('forgets a revocation after its time to live (every token it refused has expired by then)', async () => {
    const sut = store(namespace(), 1);
    const [user, session] = [randomUUID(), randomUUID()];
    await sut.revokeSession(session);
    await sut.revokeUserBelow(user, 2);
    expect(await sut.status(user, session)).toEqual({ minVersion: 2, sessionRevoked: true });
    await new Promise((r) => setTimeout(r, 1200));
    expect(await sut.status(user, session)).toEqual({ minVersion: 0, sessionRevoked: false });
  });
});

describe(`${RedisRevocationStore.name} with Redis unreachable`, () => {
  it('fails fast instead of queueing, so the verifier can refuse at once', async () => {
    const sut = new RedisRevocationStore('redis://127.0.0.1:1', { namespace: 'unreachable' });
    try {
      const started = Date.now();
      await expect(sut.status(randomUUID(), randomUUID())).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(1000);
    } finally {
      await sut.close();
    }
  });
});
