import { LRUCache } from 'lru-cache';
import { AppError } from '@carwash/errors';
import type { RevocationChecker } from './revocation.js';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors as joseErrors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
} from 'jose';

export const ROLES = ['CLIENT', 'WASHER', 'MANAGER', 'ADMIN'] as const;
export type Role = (typeof ROLES)[number];

/** The end user on whose behalf a request runs, as proven by a verified access token. */
export interface Viewer {
  userId: string;
  role: Role;
  sessionId: string;
}

export const ACCESS_TOKEN = {
  issuer: 'carwash-auth',
  audience: 'carwash',
  algorithms: ['EdDSA'],
} as const;

export interface UserTokenVerifierOptions {
  /** Where the auth feature publishes its public keys (`/.well-known/jwks.json`). */
  jwksUrl?: string;
  /** Or the key set itself (the auth feature verifies with its own keys, without a network hop). */
  jwks?: JSONWebKeySet | (() => JSONWebKeySet);
  /**
   * Minimum time between two fetches of the remote key set (an unknown `kid` triggers one). Guards the
   * auth feature against a flood of tokens with made-up key ids; a rotated key is picked up after it.
   */
  cooldownMs?: number;
  /**
   * Refuses tokens revoked before they expire (log-out, password or role change, deletion). Without it
   * only signature and expiry are checked. When the store cannot be asked the verifier fails closed:
   * 503 SERVICE_UNAVAILABLE, since letting a revoked token through is the hole this check exists to close.
   */
  revocations?: RevocationChecker;
  /** The clock of the verified-token cache (tests); jose reads its own for `exp`. */
  now?: () => number;
}

export type UserTokenVerifier = (authorization: string | undefined) => Promise<Viewer | null>;

/** The least time between two fetches of a remote JWKS (an unknown `kid` asks again at most this often). */
const JWKS_COOLDOWN_MS = 5_000;
/** How long fetched remote keys are used before they are fetched again. */
const JWKS_CACHE_MAX_AGE_MS = 10 * 60_000;
/**
 * How long a token whose signature and claims were verified is taken as verified again without the
 * EdDSA check (its expiry still applies, and revocation is asked on every call). Far below
 * JWKS_CACHE_MAX_AGE_MS, the time a key removed from the set is still trusted anyway.
 */
const VERIFIED_TOKEN_TTL_MS = 60_000;
/** Most verified tokens remembered per verifier (the token text is the key: ~0.5 KB each). */
const VERIFIED_TOKEN_MAX_ENTRIES = 10_000;

interface VerifiedToken {
  viewer: Viewer;
  version: number;
}

/**
 * Verifies `Authorization: Bearer <jwt>` headers. No header → anonymous (null). A header that is
 * malformed, tampered with, expired or signed by an unknown key → UNAUTHENTICATED.
 * Remote keys are cached; an unknown `kid` triggers a re-fetch (rate-limited by jose's cooldown),
 * which is how rotated keys are picked up. With `revocations`, a revoked token → UNAUTHENTICATED too.
 */
export function createUserTokenVerifier(options: UserTokenVerifierOptions): UserTokenVerifier {
  let getKey: JWTVerifyGetKey;
  /**
   * With a key set read on every call (`jwks` as a function, auth verifying its own tokens): the set as
   * last read, as JSON. Whoever rotates it there expects the next call to see it, so each call reads it
   * again, and a changed set replaces the imported keys and forgets every token verified under the old one.
   */
  let readKeys: (() => void) | undefined;
  if (options.jwks) {
    const source = options.jwks;
    if (typeof source === 'function') {
      let lastRead: string | undefined;
      let keySet: JWTVerifyGetKey | undefined;
      readKeys = () => {
        const current = source();
        const json = JSON.stringify(current);
        if (json === lastRead && keySet) return;
        lastRead = json;
        keySet = createLocalJWKSet(current);
        verified.clear();
      };
      getKey = (h, t) => keySet!(h, t);
    } else getKey = createLocalJWKSet(source);
  } else if (options.jwksUrl) {
    getKey = createRemoteJWKSet(new URL(options.jwksUrl), {
      cooldownDuration: options.cooldownMs ?? JWKS_COOLDOWN_MS,
      cacheMaxAge: JWKS_CACHE_MAX_AGE_MS,
    });
  } else {
    throw new Error('createUserTokenVerifier needs jwksUrl or jwks');
  }

  // Verified tokens, by their exact text (signature included, so a changed byte is another key), for
  // a short while: the EdDSA check was 16 % of the gateway's CPU per availableSlots request, and every
  // subgraph verifies the same token again (test/bench/results/tuning-gateway.md). With a key set read
  // on every call, only while the set read is the one they were verified under (`readKeys`).
  const now = options.now ?? Date.now;
  const verified = new LRUCache<string, VerifiedToken>({
    max: VERIFIED_TOKEN_MAX_ENTRIES,
    ttl: VERIFIED_TOKEN_TTL_MS,
    // Read the clock on every lookup (tests move it), not once per millisecond.
    ttlResolution: 0,
    perf: { now },
  });
  return async (authorization) => {
    if (authorization === undefined || authorization === '') return null;
    const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(authorization);
    if (!match)
      throw new AppError('UNAUTHENTICATED', {
        message: 'The Authorization header must be "Bearer <access token>".',
        httpStatus: true,
      });
    const jwt = match[1]!;
    const t = now();
    readKeys?.();
    const hit = verified.get(jwt);
    if (hit) return checkRevocation({ ...hit.viewer }, hit.version, options.revocations);
    let viewer: Viewer;
    let tokenVersion: number;
    try {
      const { payload } = await jwtVerify(jwt, getKey, {
        issuer: ACCESS_TOKEN.issuer,
        audience: ACCESS_TOKEN.audience,
        algorithms: [...ACCESS_TOKEN.algorithms],
        requiredClaims: ['sub', 'exp', 'iat'],
      });
      const role = payload.role;
      if (
        typeof payload.sub !== 'string' ||
        !ROLES.includes(role as Role) ||
        typeof payload.sid !== 'string'
      ) {
        throw new AppError('UNAUTHENTICATED', { message: 'The access token is invalid.', httpStatus: true });
      }
      // Tokens issued before `ver` existed count as version 0: revoked by any later version bump.
      const version = payload.ver === undefined ? 0 : payload.ver;
      if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) {
        throw new AppError('UNAUTHENTICATED', { message: 'The access token is invalid.', httpStatus: true });
      }
      viewer = { userId: payload.sub, role: role as Role, sessionId: payload.sid };
      tokenVersion = version;
      // `exp` is a required claim, checked by jose above.
      // Never past the token's own expiry: a hit at or after it is verified again (and refused by jose).
      verified.set(
        jwt,
        { viewer: { ...viewer }, version },
        { ttl: Math.min(VERIFIED_TOKEN_TTL_MS, (payload.exp as number) * 1000 - t) },
      );
    } catch (err) {
      if (err instanceof AppError) throw err;
      if (err instanceof joseErrors.JWTExpired)
        throw new AppError('UNAUTHENTICATED', { message: 'The access token has expired.', httpStatus: true });
      if (err instanceof joseErrors.JOSEError)
        throw new AppError('UNAUTHENTICATED', { message: 'The access token is invalid.', httpStatus: true });
      // The key set could not be fetched: not the caller's fault.
      throw new AppError('SERVICE_UNAVAILABLE', {
        message: 'Access tokens cannot be verified right now.',
        cause: err,
        httpStatus: true,
      });
    }
    return checkRevocation(viewer, tokenVersion, options.revocations);
  };
}

/** `viewer`, unless `revocations` says its token was revoked (fails closed when it cannot be asked). */
async function checkRevocation(
  viewer: Viewer,
  tokenVersion: number,
  revocations: RevocationChecker | undefined,
): Promise<Viewer> {
  if (!revocations) return viewer;
  let verdict;
  try {
    verdict = await revocations.check(viewer.userId, viewer.sessionId, tokenVersion);
  } catch (err) {
    throw new AppError('SERVICE_UNAVAILABLE', {
      message: 'Access tokens cannot be verified right now.',
      cause: err,
      httpStatus: true,
    });
  }
  // Same code as an expired token: the client does the same (refresh, else sign in again).
  if (verdict)
    throw new AppError('UNAUTHENTICATED', {
      message: 'The access token has been revoked.',
      httpStatus: true,
    });
  return viewer;
}
