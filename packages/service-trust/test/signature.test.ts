import { describe, it, expect } from 'vitest';
import { HEADER, signRequest, verifyRequest, type ServiceKey, type SignedParts } from '../src/index.js';

const KEY: ServiceKey = { id: 'k1', secret: 'k1-secret-0123456789-0123456789-0123456789' };
const OTHER: ServiceKey = { id: 'k2', secret: 'k2-secret-0123456789-0123456789-0123456789' };
const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);

const PARTS: SignedParts = {
  method: 'POST',
  path: '/graphql',
  body: '{"query":"{ me { id } }"}',
  authorization: 'Bearer aaa.bbb.ccc',
  clientIp: '203.0.113.7',
  requestId: 'req-1',
};

function signed(parts: SignedParts = PARTS, key: ServiceKey = KEY, now = NOW): Record<string, string> {
  return signRequest('gateway', key, parts, now);
}

describe(signRequest.name, () => {
  it('returns the service, a timestamp in seconds and a v1 signature naming the key', () => {
    const headers = signed();
    expect(headers[HEADER.service]).toBe('gateway');
    expect(headers[HEADER.timestamp]).toBe(String(NOW / 1000));
    expect(headers[HEADER.signature]).toMatch(/^v1=k1:[0-9a-f]{64}$/);
  });

  it('is deterministic for the same input and differs when the body differs', () => {
    expect(signed()).toEqual(signed());
    expect(signed({ ...PARTS, body: '{}' })[HEADER.signature]).not.toBe(signed()[HEADER.signature]);
  });
});

describe(verifyRequest.name, () => {
  it('accepts a request it signed and reports the calling service', () => {
    expect(verifyRequest(signed(), PARTS, { keys: [KEY], now: NOW })).toEqual({ ok: true, service: 'gateway' });
  });

  it('accepts the same bytes given as a Uint8Array', () => {
    const bytes = new TextEncoder().encode(PARTS.body as string);
    expect(verifyRequest(signed(), { ...PARTS, body: bytes }, { keys: [KEY], now: NOW }).ok).toBe(true);
  });

  it('accepts a lower-case method the signer wrote in upper case', () => {
    expect(verifyRequest(signed(), { ...PARTS, method: 'post' }, { keys: [KEY], now: NOW }).ok).toBe(true);
  });

  it('accepts a header given as an array, using its first value', () => {
    const headers = signed();
    const asArrays = { ...headers, [HEADER.signature]: [headers[HEADER.signature]!, 'v1=k1:junk'] };
    expect(verifyRequest(asArrays, PARTS, { keys: [KEY], now: NOW }).ok).toBe(true);
  });

  it.each([HEADER.service, HEADER.timestamp, HEADER.signature])('refuses a request without the %s header as missing', (name) => {
    const headers: Record<string, string | undefined> = { ...signed() };
    delete headers[name];
    expect(verifyRequest(headers, PARTS, { keys: [KEY], now: NOW })).toEqual({ ok: false, reason: 'SERVICE_CREDENTIAL_MISSING' });
  });

  it('refuses an unsigned request as missing', () => {
    expect(verifyRequest({}, PARTS, { keys: [KEY], now: NOW })).toEqual({ ok: false, reason: 'SERVICE_CREDENTIAL_MISSING' });
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
    expect(verifyRequest(signed(), { ...PARTS, ...change }, { keys: [KEY], now: NOW })).toEqual({ ok: false, reason: 'SERVICE_CREDENTIAL_INVALID' });
  });

  it('refuses a request whose service name was changed after signing', () => {
    const headers = { ...signed(), [HEADER.service]: 'bookings' };
    expect(verifyRequest(headers, PARTS, { keys: [KEY], now: NOW })).toEqual({ ok: false, reason: 'SERVICE_CREDENTIAL_INVALID' });
  });

  it('refuses a request whose timestamp was changed after signing as invalid, not expired', () => {
    const headers = { ...signed(), [HEADER.timestamp]: String(NOW / 1000 + 1) };
    expect(verifyRequest(headers, PARTS, { keys: [KEY], now: NOW })).toEqual({ ok: false, reason: 'SERVICE_CREDENTIAL_INVALID' });
  });

  it('refuses a signature made with an unknown key id', () => {
    expect(verifyRequest(signed(PARTS, OTHER), PARTS, { keys: [KEY], now: NOW })).toEqual({ ok: false, reason: 'SERVICE_CREDENTIAL_INVALID' });
  });

  it('refuses a signature made with the wrong secret under a known key id', () => {
    const forged = signed(PARTS, { id: KEY.id, secret: OTHER.secret });
    expect(verifyRequest(forged, PARTS, { keys: [KEY], now: NOW })).toEqual({ ok: false, reason: 'SERVICE_CREDENTIAL_INVALID' });
  });

  it.each([
    ['no version prefix', (sig: string) => sig.replace(/^v1=/, '')],
    ['another version', (sig: string) => sig.replace(/^v1=/, 'v2=')],
    ['a truncated mac', (sig: string) => sig.slice(0, -2)],
    ['upper-case hex', (sig: string) => sig.replace(/:(.*)$/, (_m, hex: string) => `:${hex.toUpperCase()}`)],
    ['no key id', (sig: string) => sig.replace(/^v1=k1:/, 'v1=:')],
    ['garbage', () => 'not a signature'],
  ])('refuses a malformed signature (%s)', (_what, mangle) => {
    const headers = signed();
    const bad = { ...headers, [HEADER.signature]: mangle(headers[HEADER.signature]!) };
    expect(verifyRequest(bad, PARTS, { keys: [KEY], now: NOW })).toEqual({ ok: false, reason: 'SERVICE_CREDENTIAL_INVALID' });
  });

  it('refuses a non-numeric timestamp as invalid', () => {
    const headers = { ...signed(), [HEADER.timestamp]: '1e9' };
    expect(verifyRequest(headers, PARTS, { keys: [KEY], now: NOW })).toEqual({ ok: false, reason: 'SERVICE_CREDENTIAL_INVALID' });
  });

  it('accepts a request exactly at the edge of the 60 s skew window, both ways', () => {
    const headers = signed();
    expect(verifyRequest(headers, PARTS, { keys: [KEY], now: NOW + 60_000 }).ok).toBe(true);
    expect(verifyRequest(headers, PARTS, { keys: [KEY], now: NOW - 60_000 }).ok).toBe(true);
  });

  it('refuses a request signed more than 60 s ago as expired', () => {
    expect(verifyRequest(signed(), PARTS, { keys: [KEY], now: NOW + 61_000 })).toEqual({ ok: false, reason: 'SERVICE_CREDENTIAL_EXPIRED' });
  });

  it('refuses a request signed more than 60 s in the future as expired', () => {
    expect(verifyRequest(signed(), PARTS, { keys: [KEY], now: NOW - 61_000 })).toEqual({ ok: false, reason: 'SERVICE_CREDENTIAL_EXPIRED' });
  });

  it('honours a custom skew window', () => {
    const headers = signed();
    expect(verifyRequest(headers, PARTS, { keys: [KEY], now: NOW + 10_000, maxSkewSeconds: 5 })).toEqual({ ok: false, reason: 'SERVICE_CREDENTIAL_EXPIRED' });
    expect(verifyRequest(headers, PARTS, { keys: [KEY], now: NOW + 4_000, maxSkewSeconds: 5 }).ok).toBe(true);
  });

  it('accepts a request signed with the second key of the verifier (rotation)', () => {
    const headers = signed(PARTS, OTHER);
    expect(verifyRequest(headers, PARTS, { keys: [KEY, OTHER], now: NOW })).toEqual({ ok: true, service: 'gateway' });
  });

  it('refuses every request when the verifier has no keys', () => {
    expect(verifyRequest(signed(), PARTS, { keys: [], now: NOW })).toEqual({ ok: false, reason: 'SERVICE_CREDENTIAL_INVALID' });
  });
});
