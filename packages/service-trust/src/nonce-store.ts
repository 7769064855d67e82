import {
  DEFAULT_MAX_SKEW_SECONDS,
  verifyRequest,
  type CredentialFailure,
  type SignedParts,
  type TrustedKey,
} from './signature.js';

/**
 * Remembers the nonces of accepted requests for as long as their signature could still be valid, so a
 * captured request is accepted once. Every replica of a service must share one store (Redis).
 */
export interface NonceStore {
  /** True the first time `nonce` is claimed within `ttlSeconds`; false for a replay. */
  claim(nonce: string, ttlSeconds: number): Promise<boolean>;
  /** Throws when the store cannot answer (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The slice of an ioredis client the Redis store needs. */
export interface RedisLike {
  set(key: string, value: string, ex: 'EX', seconds: number, nx: 'NX'): Promise<'OK' | null>;
  ping(): Promise<string>;
  quit(): Promise<unknown>;
}

/** Nonces in Redis: `SET key 1 EX ttl NX`, atomic across every replica sharing the Redis. */
export class RedisNonceStore implements NonceStore {
  constructor(
    private readonly redis: RedisLike,
    /** Key prefix, e.g. `carwash:nonce:payment`, so environments and receivers stay apart. */
    private readonly prefix: string,
  ) {}

  async claim(nonce: string, ttlSeconds: number): Promise<boolean> {
    return (await this.redis.set(`${this.prefix}:${nonce}`, '1', 'EX', ttlSeconds, 'NX')) === 'OK';
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => undefined);
  }
}

/** Upper bound on remembered nonces in memory; beyond it the oldest expired ones are dropped first. */
const MEMORY_SWEEP_EVERY = 1024;

/** Nonces in this process only: for the single-process zero-setup mode (`EVENT_BUS=memory`) and tests. */
export class MemoryNonceStore implements NonceStore {
  private readonly seen = new Map<string, number>();
  private claimCount = 0;

  constructor(private readonly now: () => number = Date.now) {}

  async claim(nonce: string, ttlSeconds: number): Promise<boolean> {
    const now = this.now();
    if (++this.claimCount % MEMORY_SWEEP_EVERY === 0)
      for (const [k, until] of this.seen) if (until <= now) this.seen.delete(k);
    const until = this.seen.get(nonce);
    if (until !== undefined && until > now) return false;
    this.seen.set(nonce, now + ttlSeconds * 1000);
    return true;
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.seen.clear();
  }
}

export type RequestVerdict =
  { ok: true; service: string } | { ok: false; reason: CredentialFailure | 'SERVICE_CREDENTIAL_REPLAYED' };

export interface RequestVerifierOptions {
  trusted: readonly TrustedKey[];
  audience: string;
  nonces: NonceStore;
  maxSkewSeconds?: number;
}

/**
 * A subgraph's whole credential check: MAC, key-to-service binding, audience and age first, then the
 * nonce, claimed only for an authentic request (so forgeries cannot fill the store). The nonce is kept
 * for twice the skew window plus a second, which outlives any timestamp the verifier still accepts.
 * A store that cannot answer makes this throw: the caller refuses the request (fail closed).
 */
export function createRequestVerifier({
  trusted,
  audience,
  nonces,
  maxSkewSeconds = DEFAULT_MAX_SKEW_SECONDS,
}: RequestVerifierOptions) {
  const ttlSeconds = 2 * maxSkewSeconds + 1;
  return async (
    headers: Record<string, string | string[] | undefined>,
    parts: SignedParts,
    now = Date.now(),
  ): Promise<RequestVerdict> => {
    const verdict = verifyRequest(headers, parts, { trusted, audience, maxSkewSeconds, now });
    if (!verdict.ok) return verdict;
    // Scoped by service: two signers can never collide, even with a broken random source on one of them.
    if (!(await nonces.claim(`${verdict.service}:${verdict.nonce}`, ttlSeconds)))
      return { ok: false, reason: 'SERVICE_CREDENTIAL_REPLAYED' };
    return { ok: true, service: verdict.service };
  };
}
