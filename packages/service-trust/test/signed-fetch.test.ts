import { describe, it, expect } from 'vitest';
import { HEADER, signedFetch, verifyRequest } from '../src/index.js';
import { BOOKING, GATEWAY, trust } from './support/credentials.js';

const TRUSTED = trust(GATEWAY, BOOKING);

interface Captured {
  url: URL;
  init: RequestInit;
}

/** A `fetch` stand-in that records what it was asked to send; no network. */
function recorder(): { fetch: typeof fetch; calls: Captured[] } {
  const calls: Captured[] = [];
  const fake = (async (input: string | URL | Request, init: RequestInit = {}) => {
    calls.push({ url: new URL(String(input)), init });
    return new Response('{}', { status: 200 });
  }) as typeof fetch;
  return { fetch: fake, calls };
}

function headerRecord(headers: Headers): Record<string, string> {
  return Object.fromEntries(headers.entries());
}

describe(signedFetch.name, () => {
  it('sends headers that the target subgraph verifies against the exact body, path and identity headers', async () => {
    const { fetch: base, calls } = recorder();
    const body = '{"query":"{ me { id } }"}';
    await signedFetch(
      GATEWAY,
      'auth',
      base,
    )('http://auth.internal:4001/graphql?x=1', {
      method: 'POST',
      body,
      headers: {
        authorization: 'Bearer a.b.c',
        [HEADER.requestId]: 'req-7',
        [HEADER.clientIp]: '203.0.113.9',
      },
    });
    expect(calls).toHaveLength(1);
    const headers = headerRecord(new Headers(calls[0]!.init.headers));
    expect(headers[HEADER.service]).toBe('gateway');
    const parts = {
      method: 'POST',
      path: '/graphql?x=1',
      body,
      authorization: 'Bearer a.b.c',
      clientIp: '203.0.113.9',
      requestId: 'req-7',
    };
    expect(verifyRequest(headers, parts, { trusted: TRUSTED, audience: 'auth' })).toMatchObject({
      ok: true,
      service: 'gateway',
    });
    expect(
      verifyRequest(headers, { ...parts, authorization: undefined }, { trusted: TRUSTED, audience: 'auth' })
        .ok,
    ).toBe(false);
    expect(verifyRequest(headers, parts, { trusted: TRUSTED, audience: 'payment' }).ok).toBe(false);
  });

  it('signs a GET without a body as an empty body', async () => {
    const { fetch: base, calls } = recorder();
    await signedFetch(BOOKING, 'auth', base)('http://auth.internal/health');
    const headers = headerRecord(new Headers(calls[0]!.init.headers));
    expect(
      verifyRequest(
        headers,
        { method: 'GET', path: '/health', body: '' },
        { trusted: TRUSTED, audience: 'auth' },
      ),
    ).toMatchObject({ ok: true, service: 'booking' });
  });

  it('signs every send afresh, so a retry of the same request carries a new nonce', async () => {
    const { fetch: base, calls } = recorder();
    const send = signedFetch(GATEWAY, 'auth', base);
    await send('http://auth.internal/graphql', { method: 'POST', body: '{}' });
    await send('http://auth.internal/graphql', { method: 'POST', body: '{}' });
    const [a, b] = calls.map((c) => headerRecord(new Headers(c.init.headers)));
    expect(a![HEADER.nonce]).not.toBe(b![HEADER.nonce]);
  });

  it('refuses to sign a body that is not a string', async () => {
    const { fetch: base, calls } = recorder();
    await expect(
      signedFetch(
        GATEWAY,
        'auth',
        base,
      )('http://auth.internal/graphql', { method: 'POST', body: new Uint8Array([1, 2]) }),
    ).rejects.toThrow(TypeError);
    expect(calls).toHaveLength(0);
  });
});
