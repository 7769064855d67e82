import { describe, it, expect } from 'vitest';
import {
  HEADER,
  signRequest,
  verifyRequest,
  type ServiceCredential,
  type SignedParts,
} from '../src/index.js';
import { BOOKING, GATEWAY, GATEWAY_NEXT, trust } from './support/credentials.js';

/** The payment subgraph's view: it trusts the gateway and booking, each with its own key. */
const TRUSTED = trust(GATEWAY, BOOKING);
const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);
const NONCE = 'n0nce-0123456789abcdef';
const AT_PAYMENT = { trusted: TRUSTED, audience: 'payment', now: NOW };
/** What `verifyRequest` answers for a request it refuses, by reason. */
const INVALID = { ok: false, reason: 'SERVICE_CREDENTIAL_INVALID' };
const MISSING = { ok: false, reason: 'SERVICE_CREDENTIAL_MISSING' };
const EXPIRED = { ok: false, reason: 'SERVICE_CREDENTIAL_EXPIRED' };

const PARTS: SignedParts = {
  method: 'POST',
  path: '/graphql',
  body: '{"query":"{ me { id } }"}',
  authorization: 'Bearer aaa.bbb.ccc',
  clientIp: '203.0.113.7',
  requestId: 'req-1',
};

function signed(
  parts: SignedParts = PARTS,
  credential: ServiceCredential = GATEWAY,
  now = NOW,
  audience = 'payment',
): Record<string, string> {
  return signRequest(credential, audience, parts, { now, nonce: NONCE });
}

describe(signRequest.name, () => {
  it('returns the service, a timestamp in seconds, a nonce and a v2 signature naming the key', () => {
    const headers = signed();
    expect(headers[HEADER.service]).toBe('gateway');
    expect(headers[HEADER.timestamp]).toBe(String(NOW / 1000));
    expect(headers[HEADER.nonce]).toBe(NONCE);
    expect(headers[HEADER.signature]).toMatch(/^v2=gw1:[0-9a-f]{64}$/);
  });

  it('is deterministic for the same input and nonce, and differs when the body differs', () => {
    expect(signed()).toEqual(signed());
    expect(signed({ ...PARTS, body: '{}' })[HEADER.signature]).not.toBe(signed()[HEADER.signature]);
  });

  it('gives every send a fresh nonce, hence a different signature', () => {
    const a = signRequest(GATEWAY, 'payment', PARTS, { now: NOW });
    const b = signRequest(GATEWAY, 'payment', PARTS, { now: NOW });
    expect(a[HEADER.nonce]).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(a[HEADER.nonce]).not.toBe(b[HEADER.nonce]);
    expect(a[HEADER.signature]).not.toBe(b[HEADER.signature]);
  });
});

describe(verifyRequest.name, () => {
  it('accepts a request it signed and reports the calling service and nonce', () => {
    expect(verifyRequest(signed(), PARTS, AT_PAYMENT)).toEqual({
      ok: true,
      service: 'gateway',
      nonce: NONCE,
      timestamp: NOW / 1000,
    });
  });

  it('accepts a sibling service signing with its own key as itself', () => {
    expect(verifyRequest(signed(PARTS, BOOKING), PARTS, AT_PAYMENT)).toMatchObject({
      ok: true,
      service: 'booking',
    });
  });

  it("refuses booking's key claiming to be the gateway (a key signs for one service only)", () => {
    const forged = signed(PARTS, { service: 'gateway', key: BOOKING.key });
    expect(verifyRequest(forged, PARTS, AT_PAYMENT)).toEqual(INVALID);
  });

  it("refuses the gateway's key claiming to be booking", () => {
    const forged = signed(PARTS, { service: 'booking', key: GATEWAY.key });
    expect(verifyRequest(forged, PARTS, AT_PAYMENT)).toEqual(INVALID);
  });

  it('refuses a request signed for booking when it reaches payment', () => {
    const forBooking = signed(PARTS, GATEWAY, NOW, 'booking');
    expect(verifyRequest(forBooking, PARTS, { ...AT_PAYMENT, audience: 'booking' }).ok).toBe(true);
    expect(verifyRequest(forBooking, PARTS, AT_PAYMENT)).toEqual(INVALID);
  });

  it('refuses a v1 signature (the old format named neither target nor nonce)', () => {
    const headers = signed();
    const v1 = { ...headers, [HEADER.signature]: headers[HEADER.signature]!.replace(/^v2=/, 'v1=') };
    expect(verifyRequest(v1, PARTS, AT_PAYMENT)).toEqual(INVALID);
  });

  it('accepts the same bytes given as a Uint8Array', () => {
    const bytes = new TextEncoder().encode(PARTS.body as string);
    expect(verifyRequest(signed(), { ...PARTS, body: bytes }, AT_PAYMENT).ok).toBe(true);
  });

  it('accepts a lower-case method the signer wrote in upper case', () => {
    expect(verifyRequest(signed(), { ...PARTS, method: 'post' }, AT_PAYMENT).ok).toBe(true);
  });

  it('accepts a header given as an array, using its first value', () => {
    const headers = signed();
    const asArrays = { ...headers, [HEADER.signature]: [headers[HEADER.signature]!, 'v2=gw1:junk'] };
    expect(verifyRequest(asArrays, PARTS, AT_PAYMENT).ok).toBe(true);
  });

  it.each([HEADER.service, HEADER.timestamp, HEADER.nonce, HEADER.signature])(
    'refuses a request without the %s header as missing',
    (name) => {
      const headers: Record<string, string | undefined> = { ...signed() };
      delete headers[name];
      expect(verifyRequest(headers, PARTS, AT_PAYMENT)).toEqual(MISSING);
    },
  );

  it('refuses an unsigned request as missing', () => {
    expect(verifyRequest({}, PARTS, AT_PAYMENT)).toEqual(MISSING);
  });

  it.each<[string, Partial<SignedParts>]>([
    ['body', { body: '{"query":"{ users { id } }"}' }],
    ['path', { path: '/graphql?admin=1' }],
    ['method', { method: 'GET' }],
    ['authorization header', { authorization: 'Bearer xxx.yyy.zzz' }],
    ['authorization header (removed)', { authorization: undefined }],
    ['client ip', { clientIp: '198.51.100.1' }],
    ['request id', { requestId: 'req-2' }],
  ])('refuses a request whose %s was changed after signing', (_what, change) => {
    expect(verifyRequest(signed(), { ...PARTS, ...change }, AT_PAYMENT)).toEqual(INVALID);
  });

  it.each([
    ['nonce', HEADER.nonce, 'another-nonce-0123456789'],
    ['nonce, to a malformed one', HEADER.nonce, 'short'],
    ['service name', HEADER.service, 'booking'],
    // Invalid, not expired: one second off is well inside the skew window.
    ['timestamp, by a second', HEADER.timestamp, String(NOW / 1000 + 1)],
    ['timestamp, to a non-number', HEADER.timestamp, '1e9'],
  ])('refuses a request whose %s header was changed after signing', (_what, name, value) => {
    expect(verifyRequest({ ...signed(), [name]: value }, PARTS, AT_PAYMENT)).toEqual(INVALID);
  });

  it('refuses a signature made with an unknown key id', () => {
    expect(verifyRequest(signed(PARTS, GATEWAY_NEXT), PARTS, AT_PAYMENT)).toEqual(INVALID);
  });

  it('refuses a signature made with the wrong secret under a known key id', () => {
    const forged = signed(PARTS, {
      service: 'gateway',
      key: { id: GATEWAY.key.id, secret: BOOKING.key.secret },
    });
    expect(verifyRequest(forged, PARTS, AT_PAYMENT)).toEqual(INVALID);
  });

  it.each([
    ['no version prefix', (sig: string) => sig.replace(/^v2=/, '')],
    ['a truncated mac', (sig: string) => sig.slice(0, -2)],
    ['upper-case hex', (sig: string) => sig.replace(/:(.*)$/, (_m, hex: string) => `:${hex.toUpperCase()}`)],
    ['no key id', (sig: string) => sig.replace(/^v2=gw1:/, 'v2=:')],
    ['garbage', () => 'not a signature'],
  ])('refuses a malformed signature (%s)', (_what, mangle) => {
    const headers = signed();
    const bad = { ...headers, [HEADER.signature]: mangle(headers[HEADER.signature]!) };
    expect(verifyRequest(bad, PARTS, AT_PAYMENT)).toEqual(INVALID);
  });

  it('accepts a request exactly at the edge of the 60 s skew window, both ways', () => {
    const headers = signed();
    expect(verifyRequest(headers, PARTS, { ...AT_PAYMENT, now: NOW + 60_000 }).ok).toBe(true);
    expect(verifyRequest(headers, PARTS, { ...AT_PAYMENT, now: NOW - 60_000 }).ok).toBe(true);
  });

  it('refuses a request signed more than 60 s ago, or ahead, as expired', () => {
    expect(verifyRequest(signed(), PARTS, { ...AT_PAYMENT, now: NOW + 61_000 })).toEqual(EXPIRED);
    expect(verifyRequest(signed(), PARTS, { ...AT_PAYMENT, now: NOW - 61_000 })).toEqual(EXPIRED);
  });

  it('honours a custom skew window', () => {
    const headers = signed();
    expect(verifyRequest(headers, PARTS, { ...AT_PAYMENT, now: NOW + 10_000, maxSkewSeconds: 5 })).toEqual(
      EXPIRED,
    );
    expect(verifyRequest(headers, PARTS, { ...AT_PAYMENT, now: NOW + 4_000, maxSkewSeconds: 5 }).ok).toBe(
      true,
    );
  });

  it('accepts both keys of one service while it rotates', () => {
    const rotating = { ...AT_PAYMENT, trusted: trust(GATEWAY, GATEWAY_NEXT, BOOKING) };
    expect(verifyRequest(signed(PARTS, GATEWAY), PARTS, rotating)).toMatchObject({
      ok: true,
      service: 'gateway',
    });
    expect(verifyRequest(signed(PARTS, GATEWAY_NEXT), PARTS, rotating)).toMatchObject({
      ok: true,
      service: 'gateway',
    });
  });

  it('refuses every request when the verifier trusts no keys', () => {
    expect(verifyRequest(signed(), PARTS, { ...AT_PAYMENT, trusted: [] })).toEqual(INVALID);
  });
});
