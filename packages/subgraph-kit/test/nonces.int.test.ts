import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createNonceStore } from '../src/nonces.js';

const REDIS_URL = 'redis://127.0.0.1:6379';

/** One contract, run over both backends: Redis (every real deployment) and memory (EVENT_BUS=memory). */
describe.each(['redis', 'memory'] as const)('nonce store (%s)', (backend) => {
  const settings = { EVENT_BUS: backend, REDIS_URL, EVENTS_NAMESPACE: `int-${randomUUID().slice(0, 8)}` };
  const sut = createNonceStore('payment', settings);
  afterAll(() => sut.close());

  it('claims a nonce once', async () => {
    const nonce = randomUUID();
    expect(await sut.claim(nonce, 5)).toBe(true);
    expect(await sut.claim(nonce, 5)).toBe(false);
  });

  it('lets exactly one of 50 concurrent claims of one nonce win', async () => {
    const nonce = randomUUID();
    const results = await Promise.all(Array.from({ length: 50 }, () => sut.claim(nonce, 5)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('answers its readiness ping', async () => {
    await expect(sut.ping()).resolves.toBeUndefined();
  });
});

describe('nonce store on Redis, shared by replicas', () => {
  const settings = {
    EVENT_BUS: 'redis' as const,
    REDIS_URL,
    EVENTS_NAMESPACE: `int-${randomUUID().slice(0, 8)}`,
  };
  const replicaA = createNonceStore('payment', settings);
  const replicaB = createNonceStore('payment', settings);
  afterAll(async () => {
    await replicaA.close();
    await replicaB.close();
  });

  it('refuses on one replica a nonce accepted by another', async () => {
    const nonce = randomUUID();
    expect(await replicaA.claim(nonce, 5)).toBe(true);
    expect(await replicaB.claim(nonce, 5)).toBe(false);
  });

  it('expires the key after its time to live, so Redis does not grow without bound', async () => {
    const nonce = randomUUID();
    expect(await replicaA.claim(nonce, 1)).toBe(true);
    await new Promise((r) => setTimeout(r, 1100));
    expect(await replicaB.claim(nonce, 1)).toBe(true);
  });
});
