import type { ApolloServerPlugin } from '@apollo/server';
import ApolloServerPluginResponseCache from '@apollo/server-plugin-response-cache';
import type { KeyValueCache, KeyValueCacheSetOptions } from '@apollo/utils.keyvaluecache';
import {
  CACHE_TAG_TOPICS,
  cacheTagsOf,
  createEventBus,
  type Consumer,
  type EventBusConfig,
  type Handlers,
} from '@carwash/events';
import type { Logger } from '@carwash/subgraph-kit';
import { LRUCache } from 'lru-cache';
import type { GatewayMetrics } from './metrics.js';

/** What one request learnt for the cache: the tags its subgraphs' public answers were computed from. */
export interface RequestCacheState {
  tags: Set<string>;
  /** The cache's eviction count when the request began: an eviction after it makes its answer stale. */
  epoch: number;
}

/** How long the bus watch's read waits: also what stopping the gateway waits for it. */
const WATCH_BLOCK_MS = 200;
/** Tags whose last eviction is remembered (for answers computed meanwhile); past it, all is forgotten at once. */
const MAX_REMEMBERED_EVICTIONS = 50_000;

export interface ResponseCacheOptions {
  /** Most memory the kept answers take (their JSON text); 0 turns the cache off. */
  maxMiB: number;
  metrics: GatewayMetrics;
  logger: Logger;
}

/**
 * Whole answers of queries that every subgraph they touched called public (`Cache-Control: public,
 * max-age`, with the facts they were computed from in `x-cache-tags`; subgraph-kit's `CacheHints`),
 * kept in this process for the least max-age and dropped as soon as one of their facts changes: at
 * once when a mutation through this gateway says so (`x-cache-evict`), and on every replica when an
 * event names it (`cacheTagsOf`, watched on the bus). The answer is Apollo's response cache plugin's;
 * what is ours is the tags.
 *
 * Only public answers are kept (an answer that depends on who asks, or one with any error, never is),
 * and a cached answer is given after every edge check — limits, safelist, rate limit — as any other.
 * An answer computed while one of its facts was evicted is not kept (it may predate the change).
 */
export class ResponseCache {
  readonly #metrics: GatewayMetrics;
  readonly #logger: Logger;
  readonly #entries: LRUCache<string, string> | null;
  readonly #keysOf = new Map<string, Set<string>>();
  readonly #tagsOf = new Map<string, readonly string[]>();
  /** Tag → eviction count at its last eviction. */
  #evictedAt = new Map<string, number>();
  /** Answers of requests that began before this count are not kept (evictions forgotten since). */
  #floor = 0;
  #evictions = 0;
  /** The tags of the answer Apollo's plugin is about to store, by its key (set in generateCacheKey). */
  readonly #pending = new Map<string, RequestCacheState>();
  #watch: Consumer | undefined;
  #bus: { close(): Promise<void> } | undefined;

  constructor({ maxMiB, metrics, logger }: ResponseCacheOptions) {
    this.#metrics = metrics;
    this.#logger = logger;
    this.#entries =
      maxMiB > 0
        ? new LRUCache<string, string>({
            maxSize: maxMiB * 2 ** 20,
            sizeCalculation: (value, key) => value.length + key.length,
            // Each entry's TTL is the least max-age of the subgraphs that answered (given to `set`).
            dispose: (_value, key) => this.#forget(key),
          })
        : null;
  }

  get enabled(): boolean {
    return this.#entries !== null;
  }

  /** A request's state, created with its context. */
  begin(): RequestCacheState {
    return { tags: new Set(), epoch: this.#evictions };
  }

  /** Drops every answer kept under one of `tags`, and marks answers being computed now as stale. */
  evict(tags: Iterable<string>): void {
    if (!this.#entries) return;
    for (const tag of tags) {
      this.#evictedAt.set(tag, ++this.#evictions);
      const keys = this.#keysOf.get(tag);
      if (!keys) continue;
      const dropped = [...keys];
      for (const key of dropped) this.#entries.delete(key);
      this.#metrics.responseCache.inc({ result: 'evicted' }, dropped.length);
    }
    if (this.#evictedAt.size > MAX_REMEMBERED_EVICTIONS) {
      this.#evictedAt = new Map();
      this.#floor = this.#evictions;
    }
  }

  /** Evicts on every event that changes a tagged fact (every replica sees every event). */
  async watch(config: EventBusConfig): Promise<void> {
    if (!this.#entries) return;
    const bus = createEventBus(config);
    this.#bus = bus;
    const evict = async (event: Parameters<typeof cacheTagsOf>[0]) => this.evict(cacheTagsOf(event));
    const handlers = Object.fromEntries(CACHE_TAG_TOPICS.map((topic) => [topic, evict])) as Handlers;
    this.#watch = await bus.watch({
      handlers,
      blockMs: WATCH_BLOCK_MS,
      onError: (err) =>
        this.#logger.warn({ err }, 'response cache watch: reading the bus failed; will retry'),
    });
  }

  async close(): Promise<void> {
    await this.#watch?.stop();
    await this.#bus?.close();
  }

  /** Apollo's response cache plugin over this cache, or nothing when it is off. */
  plugin<Ctx extends { cache: RequestCacheState }>(): ApolloServerPlugin<Ctx> | undefined {
    if (!this.#entries) return undefined;
    return ApolloServerPluginResponseCache<Ctx>({
      cache: this.#store(),
      // Kept only when every subgraph called its part public and named the facts it came from.
      shouldWriteToCache: async ({ overallCachePolicy, contextValue }) =>
        overallCachePolicy.policyIfCacheable()?.scope === 'PUBLIC' && contextValue.cache.tags.size > 0,
      generateCacheKey: (requestContext, keyData) => {
        // The operation's text, name and variables themselves (bounded by the edge limits): a hash of
        // them per request cost more than the longer key.
        const key = JSON.stringify(keyData);
        const state = (requestContext.contextValue as Partial<Ctx>).cache;
        // Called again just before the plugin stores the answer, once the subgraphs have answered.
        if (state && state.tags.size > 0) this.#pending.set(key, state);
        return key;
      },
    });
  }

  /** The key-value store Apollo's plugin reads and writes (it prefixes every key with `fqc:`). */
  #store(): KeyValueCache<string> {
    const entries = this.#entries!;
    return {
      get: async (key) => {
        const value = entries.get(key);
        this.#metrics.responseCache.inc({ result: value === undefined ? 'miss' : 'hit' });
        return value;
      },
      set: async (key: string, value: string, options?: KeyValueCacheSetOptions) => {
        const bare = key.startsWith('fqc:') ? key.slice(4) : key;
        const state = this.#pending.get(bare);
        this.#pending.delete(bare);
        const ttlS = options?.ttl ?? 0;
        if (!state || !ttlS || ttlS <= 0) return;
        if (
          state.epoch < this.#floor ||
          [...state.tags].some((t) => (this.#evictedAt.get(t) ?? 0) > state.epoch)
        ) {
          this.#metrics.responseCache.inc({ result: 'skipped' });
          return;
        }
        entries.set(key, value, { ttl: ttlS * 1000 });
        if (!entries.has(key)) return; // larger than the whole cache
        const tags = [...state.tags];
        this.#tagsOf.set(key, tags);
        for (const tag of tags) {
          let keys = this.#keysOf.get(tag);
          if (!keys) this.#keysOf.set(tag, (keys = new Set()));
          keys.add(key);
        }
        this.#metrics.responseCache.inc({ result: 'stored' });
      },
      delete: async (key) => entries.delete(key),
    };
  }

  #forget(key: string): void {
    for (const tag of this.#tagsOf.get(key) ?? []) {
      const keys = this.#keysOf.get(tag);
      keys?.delete(key);
      if (keys?.size === 0) this.#keysOf.delete(tag);
    }
    this.#tagsOf.delete(key);
  }
}
