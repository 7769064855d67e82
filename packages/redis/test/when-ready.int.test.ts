import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { whenReady } from '../src/index.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
/** A port nothing listens on: the client keeps reconnecting. */
const DEAD_URL = 'redis://127.0.0.1:1';
const WAIT_MS = 300;

describe(whenReady.name, () => {
  const clients: Redis[] = [];
  const client = (url: string) => {
    const redis = new Redis(url, { enableOfflineQueue: false, retryStrategy: () => 50 });
    redis.on('error', () => {});
    clients.push(redis);
    return redis;
  };
  afterEach(() => {
    for (const redis of clients.splice(0)) redis.disconnect();
  });

  it('waits for a connection still being set up, so the first command is not refused', async () => {
    const redis = client(REDIS_URL);
    expect(redis.status).not.toBe('ready');
    await whenReady(redis, 5_000);
    expect(redis.status).toBe('ready');
    await expect(redis.ping()).resolves.toBe('PONG');
  });

  it('gives up after the wait on a server that does not answer, without rejecting', async () => {
    const redis = client(DEAD_URL);
    const started = performance.now();
    await whenReady(redis, WAIT_MS);
    expect(performance.now() - started).toBeGreaterThanOrEqual(WAIT_MS - 20);
    expect(redis.status).not.toBe('ready');
    expect(redis.listenerCount('ready')).toBe(0);
  });

  it('adds no wait while reconnecting when told to, so a dead store does not slow every request', async () => {
    const redis = client(DEAD_URL);
    await new Promise<void>((resolve) => redis.once('reconnecting', () => resolve()));
    const started = performance.now();
    await whenReady(redis, 5_000, { skipWhileReconnecting: true });
    expect(performance.now() - started).toBeLessThan(100);
  });
});
