import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { HEADER } from './headers.js';

export interface ServiceKey {
  id: string;
  secret: string;
}

/** What a signature covers: the request line, the exact body bytes and the identity headers. */
export interface SignedParts {
  method: string;
  /** Path and query of the URL, e.g. `/graphql`. */
  path: string;
  body: string | Uint8Array;
  /** The end user's `Authorization` header, if any: binding it stops a replay with another identity. */
  authorization?: string | undefined;
  clientIp?: string | undefined;
  requestId?: string | undefined;
}

function canonical(service: string, timestamp: string, p: SignedParts): string {
  const bodyHash = createHash('sha256').update(p.body).digest('hex');
  return ['v1', service, timestamp, p.method.toUpperCase(), p.path, bodyHash, p.authorization ?? '', p.clientIp ?? '', p.requestId ?? ''].join('\n');
}

function mac(secret: string, text: string): string {
  return createHmac('sha256', secret).update(text).digest('hex');
}

/**
 * Signs a request from `service` with the first key. Returns the headers to add.
 * The credential lives for the verifier's skew window only (60 s by default), so a captured request
 * cannot be replayed later, nor with a different body or end-user token.
 */
export function signRequest(service: string, key: ServiceKey, parts: SignedParts, now = Date.now()): Record<string, string> {
  const timestamp = String(Math.floor(now / 1000));
  return {
    [HEADER.service]: service,
    [HEADER.timestamp]: timestamp,
    [HEADER.signature]: `v1=${key.id}:${mac(key.secret, canonical(service, timestamp, parts))}`,
  };
}

export type VerifyResult =
  | { ok: true; service: string }
  | { ok: false; reason: 'SERVICE_CREDENTIAL_MISSING' | 'SERVICE_CREDENTIAL_INVALID' | 'SERVICE_CREDENTIAL_EXPIRED' };

export interface VerifyOptions {
  keys: readonly ServiceKey[];
  /** Accepted clock difference in seconds, both ways. */
  maxSkewSeconds?: number;
  now?: number;
}

/** Checks a signed request; constant-time comparison, unknown key ids refused. */
export function verifyRequest(
  headers: Record<string, string | string[] | undefined>,
  parts: SignedParts,
  { keys, maxSkewSeconds = 60, now = Date.now() }: VerifyOptions,
): VerifyResult {
  const service = one(headers[HEADER.service]);
  const timestamp = one(headers[HEADER.timestamp]);
  const signature = one(headers[HEADER.signature]);
  if (!service || !timestamp || !signature) return { ok: false, reason: 'SERVICE_CREDENTIAL_MISSING' };
  const match = /^v1=([A-Za-z0-9_.-]+):([0-9a-f]{64})$/.exec(signature);
  if (!match || !/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'SERVICE_CREDENTIAL_INVALID' };
  const key = keys.find((k) => k.id === match[1]);
  if (!key) return { ok: false, reason: 'SERVICE_CREDENTIAL_INVALID' };
  const expected = Buffer.from(mac(key.secret, canonical(service, timestamp, parts)), 'hex');
  const given = Buffer.from(match[2]!, 'hex');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: 'SERVICE_CREDENTIAL_INVALID' };
  // Checked after the MAC so that an attacker cannot learn anything from a forged timestamp.
  if (Math.abs(now / 1000 - Number(timestamp)) > maxSkewSeconds) return { ok: false, reason: 'SERVICE_CREDENTIAL_EXPIRED' };
  return { ok: true, service };
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
