import { randomUUID } from 'node:crypto';
import type { KeyValueCache } from '@apollo/utils.keyvaluecache';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryApqCache, RedisApqCache, type ApqBounds } from '../src/edge/apq-cache.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const redis = new Redis(REDIS_URL);
afterAll(async () => {
  await redis.quit();
});

const bounds: ApqBounds = { maxDocumentBytes: 1000, maxTotalBytes: 3000, ttlSeconds: 1 };
const doc = (tag: string, bytes: number) => `{ __typename } # ${tag} `.padEnd(bytes, 'x');

/** One suite, run over both stores (Redis for replicas, memory for the single-process mode). */
const implementations: Array<[string, () => KeyValueCache<string>]> = [
  ['RedisApqCache', () => new RedisApqCache(redis, `test-apq-${randomUUID().slice(0, 8)}`, bounds)],
  ['MemoryApqCache', () => new MemoryApqCache(bounds)],
];

describe.each(implementations)('%s', (_name, make) => {
  it('returns a stored document, and a miss for an unknown hash', async () => {
    const sut = make();
    await sut.set('apq:a', doc('a', 100));
    expect(await sut.get('apq:a')).toBe(doc('a', 100));
    expect(await sut.get('apq:nope')).toBeUndefined();
  });

  it('never stores a document over the per-document bound', async () => {
    const sut = make();
    await sut.set('apq:big', doc('big', bounds.maxDocumentBytes + 1));
    expect(await sut.get('apq:big')).toBeUndefined();
  });

  it('stays within its byte budget under a stream of distinct documents, evicting the oldest', async () => {
    const sut = make();
    for (let i = 0; i < 20; i++) await sut.set(`apq:${i}`, doc(String(i), 900));
    const kept: number[] = [];
    for (let i = 0; i < 20; i++) if (await sut.get(`apq:${i}`)) kept.push(i);
    expect(kept.length * 900).toBeLessThanOrEqual(bounds.maxTotalBytes);
    expect(kept).toContain(19);
    expect(kept).not.toContain(0);
    if (sut instanceof RedisApqCache)
      expect(await sut.totalBytes()).toBeLessThanOrEqual(bounds.maxTotalBytes);
  });

  it('forgets a document after its TTL', async () => {
    const sut = make();
    await sut.set('apq:ttl', doc('ttl', 100), { ttl: 60 });
    await new Promise((r) => setTimeout(r, bounds.ttlSeconds * 1000 + 200));
    // A TTL asked for beyond the bound is capped at it.
    expect(await sut.get('apq:ttl')).toBeUndefined();
  });
});

describe(RedisApqCache.name, () => {
  it('is shared by every replica on one namespace, and by none on another', async () => {
    const namespace = `test-apq-${randomUUID().slice(0, 8)}`;
    await new RedisApqCache(redis, namespace, bounds).set('apq:shared', doc('s', 50));
    expect(await new RedisApqCache(redis, namespace, bounds).get('apq:shared')).toBe(doc('s', 50));
    expect(await new RedisApqCache(redis, `${namespace}-other`, bounds).get('apq:shared')).toBeUndefined();
  });

  it('answers a miss, not an error, when Redis does not answer', async () => {
    const down = new Redis('redis://127.0.0.1:1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    down.on('error', () => {});
    const sut = new RedisApqCache(down, 'test-apq-down', bounds);
    await expect(sut.set('apq:x', doc('x', 10))).resolves.toBeUndefined();
    await expect(sut.get('apq:x')).resolves.toBeUndefined();
    down.disconnect();
  });
});
