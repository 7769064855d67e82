import type { EventBus } from './bus.js';
import { MemoryBackend } from './memory-backend.js';
import { RedisBackend } from './redis-backend.js';
import { StreamsEventBus } from './streams-bus.js';

export type EventBusConfig = ({ kind: 'redis'; url: string; maxLen?: number } | { kind: 'memory' }) & {
  namespace?: string;
};

/**
 * In-memory streams of this process, by namespace. Buses created with the same namespace share them —
 * as buses on one Redis do — so the features of the single-process zero-setup run (`pnpm start`)
 * hear each other's events. A bus without a namespace gets streams of its own.
 */
const sharedMemory = new Map<string, MemoryBackend>();

function memoryBackend(namespace: string | undefined): MemoryBackend {
  if (namespace === undefined) return new MemoryBackend();
  let backend = sharedMemory.get(namespace);
  if (!backend) sharedMemory.set(namespace, (backend = new MemoryBackend()));
  return backend;
}

/** Redis Streams in every real deployment; in-memory for the zero-setup, single-process mode. */
export function createEventBus(config: EventBusConfig): EventBus {
  return new StreamsEventBus(
    config.kind === 'redis'
      ? new RedisBackend({ url: config.url, ...(config.maxLen ? { maxLen: config.maxLen } : {}) })
      : memoryBackend(config.namespace),
    config.namespace,
  );
}
