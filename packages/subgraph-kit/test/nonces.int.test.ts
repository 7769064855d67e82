import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createNonceStore } from '../src/nonces.js';

const REDIS_URL = 'redis://127.0.0.1:6379';

/**
 * One contract, run over both backends — Redis (every real deployment) and memory (EVENT_BUS=memory) —
 * and over two replicas sharing Redis: a nonce claimed on `first` is checked again on `second`, which is
 * the same store, or another replica's.
 */
describe.each([
  { name: 'redis', backend: 'redis', replicas: false },
  { name: 'memory', backend: 'memory', replicas: false },
  { name: 'redis, shared by two replicas', backend: 'redis', replicas: true },
] as const)('nonce store ($name)', ({ backend, replicas }) => {
  const settings = { EVENT_BUS: backend, REDIS_URL, EVENTS_NAMESPACE: `int-${randomUUID().slice(0, 8)}` };
  const first = createNonceStore('payment', settings);
  const second = replicas ? createNonceStore('payment', settings) : first;
  afterAll(async () => {
    await first.close();
    if (second !== first) await second.close();
  });

  it('claims a nonce once: a replayed request is refused wherever it lands', async () => {
    const nonce = randomUUID();
    expect(await first.claim(nonce, 5)).toBe(true);
    expect(await second.claim(nonce, 5)).toBe(false);
  });

  it('lets exactly one of 50 concurrent claims of one nonce win', async () => {
    const nonce = randomUUID();
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => (i % 2 ? second : first).claim(nonce, 5)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('forgets a nonce after its time to live, so the store does not grow without bound', async () => {
    const nonce = randomUUID();
    expect(await first.claim(nonce, 1)).toBe(true);
    await new Promise((r) => setTimeout(r, 1100));
    expect(await second.claim(nonce, 1)).toBe(true);
  });

  it('answers its readiness ping', async () => {
    await expect(first.ping()).resolves.toBeUndefined();
    await expect(second.ping()).resolves.toBeUndefined();
  });
});
