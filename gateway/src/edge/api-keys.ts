import { createHash } from 'node:crypto';
import { AppError } from '@carwash/errors';
import { apiKeyRevocationChannel } from '@carwash/service-trust';
import { Redis } from 'ioredis';
import type { Logger } from '@carwash/subgraph-kit';
import type { Request } from 'express';
import { API_KEY_HEADER, firstPartyClientOf, type EdgeClient } from './client.js';

/** Verdicts kept at most; past it the oldest go first (a stream of random keys cannot grow memory). */
const MAX_CACHED_KEYS = 10_000;
/** How long asking auth may take before the request is refused as unavailable. */
export const API_KEY_LOOKUP_TIMEOUT_MS = 2000;
const VERDICT_QUERY = 'query ApiKeyVerdict($key: String!) { apiKeyVerdict(key: $key) { id client tier } }';

type Fetch = typeof fetch;

export class ApiKeyLookupError extends Error {
  override readonly name = 'ApiKeyLookupError';
}

/**
 * Turns an `x-api-key` into the partner it belongs to, by asking the auth feature (`apiKeyVerdict`, a field
 * only the gateway may read, signed with the gateway's service credential). Answers — unknown keys too — are
 * cached for `ttlMs`. A revocation announced by auth (`listenForRevocations`) drops the key's verdict at once;
 * `ttlMs` is the bound when the announcement is lost. Keys are cached under their SHA-256, never in clear.
 */
export class ApiKeyResolver {
  private readonly cache = new Map<string, { at: number; client: EdgeClient | null }>();
  private readonly inFlight = new Map<string, Promise<EdgeClient | null>>();
  private subscriber: Redis | undefined;

  constructor(
    private readonly authUrl: string,
    private readonly signedFetch: Fetch,
    private readonly ttlMs: number,
    private readonly logger: Logger,
  ) {}

  /** The partner, or null for an unknown or revoked key; throws `ApiKeyLookupError` if auth cannot answer. */
  async resolve(key: string): Promise<EdgeClient | null> {
    const id = createHash('sha256').update(key).digest('hex');
    const hit = this.cache.get(id);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.client;
    let pending = this.inFlight.get(id);
    if (!pending) {
      pending = this.ask(key).finally(() => this.inFlight.delete(id));
      this.inFlight.set(id, pending);
    }
    const client = await pending;
    if (this.ttlMs > 0) {
      this.cache.delete(id);
      this.cache.set(id, { at: Date.now(), client });
      if (this.cache.size > MAX_CACHED_KEYS) this.cache.delete(this.cache.keys().next().value!);
    }
    return client;
  }

  /**
   * Subscribes to auth's revocation announcements. A (re)connected subscriber may have missed some, so it
   * forgets every verdict.
   */
  listenForRevocations(redisUrl: string, namespace: string): void {
    const sub = new Redis(redisUrl, {
      maxRetriesPerRequest: null,
      retryStrategy: (times) => Math.min(times * 100, 2000),
      connectionName: 'carwash-gateway:api-key-revocations',
    });
    sub.on('error', () => {});
    sub.on('ready', () => this.cache.clear());
    sub.on('message', (_channel: string, id: string) => {
      for (const [hash, entry] of this.cache) if (entry.client?.apiKeyId === id) this.cache.delete(hash);
    });
    void sub.subscribe(apiKeyRevocationChannel(namespace)).catch(() => {});
    this.subscriber = sub;
  }

  close(): void {
    this.subscriber?.disconnect();
  }

  private async ask(key: string): Promise<EdgeClient | null> {
    let body: {
      data?: { apiKeyVerdict: { id: string; client: string; tier: string } | null };
      errors?: unknown[];
    };
    try {
      const res = await this.signedFetch(this.authUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: VERDICT_QUERY, variables: { key } }),
        signal: AbortSignal.timeout(API_KEY_LOOKUP_TIMEOUT_MS),
      });
      body = (await res.json()) as typeof body;
      if (!res.ok || body.errors?.length || body.data === undefined) throw new Error(`HTTP ${res.status}`);
    } catch (err) {
      this.logger.error({ err }, 'API key lookup at the auth feature failed');
      throw new ApiKeyLookupError('auth did not answer the API key lookup');
    }
    const verdict = body.data.apiKeyVerdict;
    return verdict
      ? { kind: 'partner', name: verdict.client, apiKeyId: verdict.id, tier: verdict.tier }
      : null;
  }
}

/**
 * Who is calling: a partner when `x-api-key` is present (an unknown or revoked key is refused with 401
 * API_KEY_INVALID, never downgraded to anonymous), otherwise a first-party app or anonymous.
 */
export async function edgeClientOf(
  req: Pick<Request, 'header'>,
  keys: ApiKeyResolver | undefined,
): Promise<EdgeClient> {
  const key = req.header(API_KEY_HEADER);
  if (key === undefined) return firstPartyClientOf(req);
  let client: EdgeClient | null;
  try {
    client = key && keys ? await keys.resolve(key) : null;
  } catch (err) {
    if (err instanceof ApiKeyLookupError) throw new AppError('SERVICE_UNAVAILABLE', { httpStatus: true });
    throw err;
  }
  if (!client) throw new AppError('API_KEY_INVALID', { httpStatus: true });
  return client;
}
