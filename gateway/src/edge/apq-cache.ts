import {
  InMemoryLRUCache,
  type KeyValueCache,
  type KeyValueCacheSetOptions,
} from '@apollo/utils.keyvaluecache';
import { Redis } from 'ioredis';

/** The bounds of the APQ store (hash → document), from the gateway's settings. */
export interface ApqBounds {
  /** A document larger than this is run but not stored. */
  maxDocumentBytes: number;
  /** The whole store: past it the oldest registrations are evicted first. */
  maxTotalBytes: number;
  /** How long a registration lives. */
  ttlSeconds: number;
}

/**
 * Stores a document if it fits, then evicts the oldest registrations until the byte total is within budget.
 * KEYS: 1 the document, 2 the index (zset: name → registered-at ms), 3 sizes (hash: name → bytes),
 * 4 the byte total. ARGV: 1 name, 2 document, 3 ttl s, 4 now ms, 5 budget bytes, 6 document key prefix.
 * Registrations past their TTL (their documents already expired) leave the index first, at most 100 a call.
 */
const SET_WITHIN_BUDGET = `
local name, doc, ttl, now, budget, prefix = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
local function forget(member)
  local size = tonumber(redis.call('HGET', KEYS[3], member) or '0')
  redis.call('HDEL', KEYS[3], member)
  redis.call('ZREM', KEYS[2], member)
  redis.call('DECRBY', KEYS[4], size)
end
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - ttl * 1000, 'LIMIT', 0, 100)) do
  forget(member)
end
if redis.call('HEXISTS', KEYS[3], name) == 1 then forget(name) end
local size = string.len(doc)
redis.call('SET', KEYS[1], doc, 'EX', ttl)
redis.call('ZADD', KEYS[2], now, name)
redis.call('HSET', KEYS[3], name, size)
local total = redis.call('INCRBY', KEYS[4], size)
while total > budget do
  local oldest = redis.call('ZPOPMIN', KEYS[2], 1)
  if #oldest == 0 then break end
  local member = oldest[1]
  local s = tonumber(redis.call('HGET', KEYS[3], member) or '0')
  redis.call('HDEL', KEYS[3], member)
  redis.call('DEL', prefix .. member)
  total = redis.call('DECRBY', KEYS[4], s)
end
-- Once nothing has been registered for a TTL every document has expired: the bookkeeping goes too.
for i = 2, 4 do redis.call('EXPIRE', KEYS[i], ttl) end
return total`;

/**
 * The APQ store in Redis, shared by every gateway replica under one namespace (`<namespace>:apq:`), bounded
 * in bytes: documents over `maxDocumentBytes` are not stored, each lives `ttlSeconds`, and the total is kept
 * under `maxTotalBytes` by evicting the oldest registrations (one Lua script, so replicas cannot race the
 * count). A Redis error is a miss, never a failed request: the client then sends the full query again.
 */
export class RedisApqCache implements KeyValueCache<string> {
  private readonly keys;

  constructor(
    private readonly redis: Redis,
    namespace: string,
    private readonly bounds: ApqBounds,
  ) {
    const base = `${namespace}:apq:`;
    this.keys = {
      docPrefix: `${base}doc:`,
      index: `${base}index`,
      sizes: `${base}sizes`,
      total: `${base}bytes`,
    };
    redis.defineCommand('apqSetWithinBudget', { numberOfKeys: 4, lua: SET_WITHIN_BUDGET });
  }

  async get(key: string): Promise<string | undefined> {
    try {
      return (await this.redis.get(this.keys.docPrefix + key)) ?? undefined;
    } catch {
      return undefined;
    }
  }

  async set(key: string, value: string, options?: KeyValueCacheSetOptions): Promise<void> {
    if (Buffer.byteLength(value) > this.bounds.maxDocumentBytes) return;
    const ttl = Math.min(options?.ttl ?? this.bounds.ttlSeconds, this.bounds.ttlSeconds);
    try {
      await (this.redis as unknown as ApqCommands).apqSetWithinBudget(
        this.keys.docPrefix + key,
        this.keys.index,
        this.keys.sizes,
        this.keys.total,
        key,
        value,
        ttl,
        Date.now(),
        this.bounds.maxTotalBytes,
        this.keys.docPrefix,
      );
    } catch {
      // Not stored: the next request with this hash is a miss and registers again.
    }
  }

  async delete(key: string): Promise<boolean> {
    return (await this.redis.del(this.keys.docPrefix + key)) > 0;
  }

  /** Bytes the store counts now (for tests and operators). */
  async totalBytes(): Promise<number> {
    return Number((await this.redis.get(this.keys.total)) ?? 0);
  }
}

interface ApqCommands {
  apqSetWithinBudget(...args: (string | number)[]): Promise<number>;
}

/** The single-process mode (EVENT_BUS=memory): an LRU bounded in bytes, with the same per-document bound. */
export class MemoryApqCache implements KeyValueCache<string> {
  private readonly lru: InMemoryLRUCache<string>;

  constructor(private readonly bounds: ApqBounds) {
    this.lru = new InMemoryLRUCache<string>({
      maxSize: bounds.maxTotalBytes,
      sizeCalculation: (v: string) => Buffer.byteLength(v),
      ttl: bounds.ttlSeconds * 1000,
    });
  }

  get(key: string): Promise<string | undefined> {
    return this.lru.get(key);
  }

  async set(key: string, value: string, options?: KeyValueCacheSetOptions): Promise<void> {
    if (Buffer.byteLength(value) > this.bounds.maxDocumentBytes) return;
    const ttl = Math.min(options?.ttl ?? this.bounds.ttlSeconds, this.bounds.ttlSeconds);
    await this.lru.set(key, value, { ttl });
  }

  delete(key: string): Promise<boolean> {
    return this.lru.delete(key);
  }
}

/** How long an APQ lookup or store may take before it counts as a miss. */
export const APQ_COMMAND_TIMEOUT_MS = 500;

/** The APQ store for the gateway's bus settings, and how to close it. */
export function createApqCache(
  settings: { EVENT_BUS: 'redis' | 'memory'; REDIS_URL: string; EVENTS_NAMESPACE: string },
  bounds: ApqBounds,
): { cache: KeyValueCache<string>; close(): Promise<void> } {
  if (settings.EVENT_BUS === 'memory') return { cache: new MemoryApqCache(bounds), close: async () => {} };
  const redis = new Redis(settings.REDIS_URL, {
    connectionName: 'carwash-gateway:apq',
    maxRetriesPerRequest: 1,
    // A slow Redis must not hold a request: past this the lookup is a miss.
    commandTimeout: APQ_COMMAND_TIMEOUT_MS,
  });
  // Errors surface per command (as misses); without a listener ioredis would log each reconnect attempt.
  redis.on('error', () => {});
  return {
    cache: new RedisApqCache(redis, settings.EVENTS_NAMESPACE, bounds),
    close: async () => {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
