import type { EventBus } from './bus.js';
import { MemoryBackend } from './memory-backend.js';
import { RedisBackend } from './redis-backend.js';
import { StreamsEventBus } from './streams-bus.js';

export type EventBusConfig = ({ kind: 'redis'; url: string; maxLen?: number } | { kind: 'memory' }) & {
  namespace?: string;
};

/** Redis Streams in every real deployment; in-memory for the zero-setup, single-process mode. */
export function createEventBus(config: EventBusConfig): EventBus {
  return new StreamsEventBus(
    config.kind === 'redis'
      ? new RedisBackend({ url: config.url, ...(config.maxLen ? { maxLen: config.maxLen } : {}) })
      : new MemoryBackend(),
    config.namespace,
  );
}
