import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { HEADER } from './headers.js';

/** One HMAC key: its id travels in the signature header, the secret never does. */
export interface ServiceKey {
  id: string;
  secret: string;
}

/** A key a verifier accepts, bound to the one service name it may sign as. */
export interface TrustedKey extends ServiceKey {
  service: string;
}

/** Who signs: the service name and its own key. */
export interface ServiceCredential {
  service: string;
  key: ServiceKey;
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

/**
 * Version of the signed text. v2 added the target subgraph (audience) and a nonce; a v1 signature is
 * refused, so an old signer cannot be replayed against a new verifier.
 */
export const SIGNATURE_VERSION = 'v2';
/** Default accepted clock difference, both ways. */
export const DEFAULT_MAX_SKEW_SECONDS = 60;
/** 128 random bits, base64url: collisions between honest requests are out of the question. */
const NONCE_BYTES = 16;
const NONCE_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;
const SERVICE_PATTERN = /^[a-z][a-z0-9-]{0,39}$/;

interface Signed {
  service: string;
  audience: string;
  timestamp: string;
  nonce: string;
}

function canonical(s: Signed, p: SignedParts): string {
  const bodyHash = createHash('sha256').update(p.body).digest('hex');
  return [
    SIGNATURE_VERSION,
    s.service,
    s.audience,
    s.timestamp,
    s.nonce,
    p.method.toUpperCase(),
    p.path,
    bodyHash,
    p.authorization ?? '',
    p.clientIp ?? '',
    p.requestId ?? '',
  ].join('\n');
}

function mac(secret: string, text: string): string {
  return createHmac('sha256', secret).update(text).digest('hex');
}

export interface SignOptions {
  now?: number;
  /** Only for tests that need a fixed value; every real send gets a fresh one. */
  nonce?: string;
}

/**
 * Signs a request from `credential.service` to the subgraph `audience`. Returns the headers to add.
 * The credential lives for the verifier's skew window only (60 s by default) and carries a fresh
 * nonce, so a captured request can neither be sent again, nor to another subgraph, nor with a
 * different body or end-user token.
 */
export function signRequest(
  credential: ServiceCredential,
  audience: string,
  parts: SignedParts,
  { now = Date.now(), nonce = randomBytes(NONCE_BYTES).toString('base64url') }: SignOptions = {},
): Record<string, string> {
  const signed = { service: credential.service, audience, timestamp: String(Math.floor(now / 1000)), nonce };
  return {
    [HEADER.service]: signed.service,
    [HEADER.timestamp]: signed.timestamp,
    [HEADER.nonce]: signed.nonce,
    [HEADER.signature]: `${SIGNATURE_VERSION}=${credential.key.id}:${mac(credential.key.secret, canonical(signed, parts))}`,
  };
}

export type CredentialFailure =
  'SERVICE_CREDENTIAL_MISSING' | 'SERVICE_CREDENTIAL_INVALID' | 'SERVICE_CREDENTIAL_EXPIRED';

export type VerifyResult =
  { ok: true; service: string; nonce: string; timestamp: number } | { ok: false; reason: CredentialFailure };

export interface VerifyOptions {
  /** The keys this receiver accepts, each bound to its service name. */
  trusted: readonly TrustedKey[];
  /** This receiver's own name: a request signed for another subgraph is refused. */
  audience: string;
  /** Accepted clock difference in seconds, both ways. */
  maxSkewSeconds?: number;
  now?: number;
}

/**
 * Checks a signed request's MAC, key binding and age (constant-time comparison; unknown key ids,
 * a key claiming another service's name and another audience are all refused as INVALID). It does
 * not remember nonces: pair it with a `NonceStore` (see `createRequestVerifier`).
 */
export function verifyRequest(
  headers: Record<string, string | string[] | undefined>,
  parts: SignedParts,
  { trusted, audience, maxSkewSeconds = DEFAULT_MAX_SKEW_SECONDS, now = Date.now() }: VerifyOptions,
): VerifyResult {
  const service = one(headers[HEADER.service]);
  const timestamp = one(headers[HEADER.timestamp]);
  const nonce = one(headers[HEADER.nonce]);
  const signature = one(headers[HEADER.signature]);
  if (!service || !timestamp || !signature || !nonce)
    return { ok: false, reason: 'SERVICE_CREDENTIAL_MISSING' };
  const match = /^v2=([A-Za-z0-9_.-]+):([0-9a-f]{64})$/.exec(signature);
  if (!match || !/^\d{1,12}$/.test(timestamp) || !NONCE_PATTERN.test(nonce) || !SERVICE_PATTERN.test(service))
    return { ok: false, reason: 'SERVICE_CREDENTIAL_INVALID' };
  const key = trusted.find((k) => k.id === match[1]);
  // A key signs for exactly one service: booking's key claiming `gateway` is a forgery.
  if (!key || key.service !== service) return { ok: false, reason: 'SERVICE_CREDENTIAL_INVALID' };
  const expected = Buffer.from(
    mac(key.secret, canonical({ service, audience, timestamp, nonce }, parts)),
    'hex',
  );
  const given = Buffer.from(match[2]!, 'hex');
  if (expected.length !== given.length || !timingSafeEqual(expected, given))
    return { ok: false, reason: 'SERVICE_CREDENTIAL_INVALID' };
  // Checked after the MAC so that an attacker cannot learn anything from a forged timestamp.
  if (Math.abs(now / 1000 - Number(timestamp)) > maxSkewSeconds)
    return { ok: false, reason: 'SERVICE_CREDENTIAL_EXPIRED' };
  return { ok: true, service, nonce, timestamp: Number(timestamp) };
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
