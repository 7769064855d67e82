import { MemoryNonceStore, RedisNonceStore, type NonceStore } from '@carwash/service-trust';
import { Redis } from 'ioredis';

/**
 * Past this a hung Redis is treated as down and the call refused (a refused connection fails at once).
 * As long as a peer call's timeout: a busy event loop must not turn a slow reply into a refusal.
 */
const NONCE_COMMAND_TIMEOUT_MS = 5000;

/**
 * The replay guard's store for the subgraph `audience`: Redis (shared by every replica) in every real
 * deployment, process memory only in the single-process zero-setup mode (`EVENT_BUS=memory`).
 */
export function createNonceStore(
  audience: string,
  settings: { EVENT_BUS: 'redis' | 'memory'; REDIS_URL: string; EVENTS_NAMESPACE: string },
): NonceStore {
  if (settings.EVENT_BUS === 'memory') return new MemoryNonceStore();
  const redis = new Redis(settings.REDIS_URL, {
    maxRetriesPerRequest: 1,
    commandTimeout: NONCE_COMMAND_TIMEOUT_MS,
    lazyConnect: false,
    // One SET per signed request: those issued in one turn of the event loop go out in one write.
    enableAutoPipelining: true,
  });
  // Failures surface on the request that needed the store; connection errors are retried by ioredis.
  redis.on('error', () => undefined);
  return new RedisNonceStore(redis, `${settings.EVENTS_NAMESPACE}:nonce:${audience}`);
}
