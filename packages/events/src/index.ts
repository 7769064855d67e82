export * from './topics.js';
export * from './bus.js';
export type { StreamBackend, Fields } from './backend.js';
export { RedisBackend, type RedisBackendOptions } from './redis-backend.js';
export { MemoryBackend } from './memory-backend.js';
export { StreamsEventBus, encode, decode } from './streams-bus.js';
export {
  DEFAULT_FALLBACK_POLL_MS,
  DEFAULT_POLL_MS,
  MIN_WOKEN_PASS_INTERVAL_MS,
  OutboxRelay,
  QUIET_BEGIN,
  firstDelivery,
  firstDeliveries,
  inTransaction,
  inboxTableSql,
  outboxTableSql,
  pgExec,
  pgRows,
  type OutboxRelayOptions,
  type SqlExec,
  type SqlRows,
} from './outbox.js';
export { createEventBus, type EventBusConfig } from './create.js';
