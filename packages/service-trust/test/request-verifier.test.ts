import { describe, it, expect } from 'vitest';
import {
  createRequestVerifier,
  MemoryNonceStore,
  signRequest,
  type NonceStore,
  type SignedParts,
} from '../src/index.js';
import { BOOKING, PAYMENT, trust } from './support/credentials.js';

const TRUSTED = trust(BOOKING, PAYMENT);
const PARTS: SignedParts = { method: 'POST', path: '/graphql', body: '{"query":"{ __typename }"}' };

/** A store that records what it is asked, to prove forgeries never reach it. */
class CountingStore extends MemoryNonceStore {
  asked: string[] = [];
  override async claim(nonce: string, ttlSeconds: number): Promise<boolean> {
    this.asked.push(`${nonce}@${ttlSeconds}`);
    return super.claim(nonce, ttlSeconds);
  }
}

describe(createRequestVerifier.name, () => {
  it('accepts a signed request once and refuses the same request sent again as replayed', async () => {
    const sut = createRequestVerifier({ trusted: TRUSTED, audience: 'auth', nonces: new MemoryNonceStore() });
    const headers = signRequest(BOOKING, 'auth', PARTS);
    expect(await sut(headers, PARTS)).toEqual({ ok: true, service: 'booking' });
    expect(await sut(headers, PARTS)).toEqual({ ok: false, reason: 'SERVICE_CREDENTIAL_REPLAYED' });
    // The legitimate path: the same call signed again is a new request.
    expect(await sut(signRequest(BOOKING, 'auth', PARTS), PARTS)).toEqual({ ok: true, service: 'booking' });
  });

  it('keeps each nonce for twice the skew window plus a second, scoped by the calling service', async () => {
    const nonces = new CountingStore();
    const sut = createRequestVerifier({ trusted: TRUSTED, audience: 'auth', nonces, maxSkewSeconds: 30 });
    await sut(signRequest(BOOKING, 'auth', PARTS, { nonce: 'same-nonce-0123456789' }), PARTS);
    // Another service's request with the same nonce is its own request, not a replay of booking's.
    expect(await sut(signRequest(PAYMENT, 'auth', PARTS, { nonce: 'same-nonce-0123456789' }), PARTS)).toEqual(
      { ok: true, service: 'payment' },
    );
    expect(nonces.asked).toEqual(['booking:same-nonce-0123456789@61', 'payment:same-nonce-0123456789@61']);
  });

  it('never stores the nonce of a forged, expired or misdirected request', async () => {
    const nonces = new CountingStore();
    const sut = createRequestVerifier({ trusted: TRUSTED, audience: 'auth', nonces });
    const forged = signRequest({ service: 'booking', key: PAYMENT.key }, 'auth', PARTS);
    const stale = signRequest(BOOKING, 'auth', PARTS, { now: Date.now() - 5 * 60_000 });
    const toPayment = signRequest(BOOKING, 'payment', PARTS);
    expect(await sut(forged, PARTS)).toEqual({ ok: false, reason: 'SERVICE_CREDENTIAL_INVALID' });
    expect(await sut(stale, PARTS)).toEqual({ ok: false, reason: 'SERVICE_CREDENTIAL_EXPIRED' });
    expect(await sut(toPayment, PARTS)).toEqual({ ok: false, reason: 'SERVICE_CREDENTIAL_INVALID' });
    expect(nonces.asked).toEqual([]);
  });

  it('fails closed: a store that cannot answer makes the check throw instead of accepting', async () => {
    const down: NonceStore = {
      claim: () => Promise.reject(new Error('redis down')),
      ping: () => Promise.reject(new Error('redis down')),
      close: async () => {},
    };
    const sut = createRequestVerifier({ trusted: TRUSTED, audience: 'auth', nonces: down });
    await expect(sut(signRequest(BOOKING, 'auth', PARTS), PARTS)).rejects.toThrow('redis down');
  });
});

describe(MemoryNonceStore.name, () => {
  it('forgets a nonce once its time to live has passed', async () => {
    let now = 1_000_000;
    const sut = new MemoryNonceStore(() => now);
    expect(await sut.claim('a', 10)).toBe(true);
    expect(await sut.claim('a', 10)).toBe(false);
    now += 10_001;
    expect(await sut.claim('a', 10)).toBe(true);
  });
});
