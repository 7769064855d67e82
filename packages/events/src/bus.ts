import type { EventEnvelope, Topic } from './topics.js';

/** What a handler learns about the delivery besides the event itself. */
export interface DeliveryInfo {
  /** 1 on the first delivery; more when the event is being retried or was reclaimed from a dead consumer. */
  deliveries: number;
}

/** One handler per topic the consuming feature cares about; other topics are acknowledged and skipped. */
export type Handlers = { [T in Topic]?: (event: EventEnvelope<T>, info: DeliveryInfo) => Promise<void> };

/**
 * Optional per topic: applies a run of consecutive events of that topic (in stream order, several of
 * one aggregate possibly) in ONE transaction with their inbox rows (see `firstDeliveries`) — all or
 * nothing. When it throws, the bus hands the same events to the topic's per-event handler one by one,
 * so a single bad event is retried and dead-lettered on its own while the others apply.
 */
export type BatchHandlers = {
  [T in Topic]?: (events: readonly EventEnvelope<T>[]) => Promise<void>;
};

export interface ConsumeOptions {
  /** The consuming feature: one consumer group per feature, shared by all its instances. */
  group: string;
  /** This instance's name within the group (default: host + pid + random). */
  consumer?: string;
  handlers: Handlers;
  /**
   * Topics whose runs of consecutive events are applied in one transaction each (a per-event handler
   * for the topic is still required, for the fallback and for retries). Pays where one topic carries
   * much traffic: one commit per run instead of one per event.
   */
  batchHandlers?: BatchHandlers;
  /** Messages read per round trip (default 100). */
  batchSize?: number;
  /**
   * Handlers running at once within a batch (default `DEFAULT_CONCURRENCY`). Events of one aggregate
   * (same `aggregateId`) still run one after another, in stream order — the order the bus promises;
   * only events of different aggregates overlap. Each running handler holds one database connection of
   * the consuming feature, so keep this below its pool size. 1 handles the batch strictly in order.
   */
  concurrency?: number;
  /** How long a read waits for new messages (default 1000 ms); also bounds how fast `stop()` returns. */
  blockMs?: number;
  /**
   * Retries back off exponentially from `retryBaseMs` (default 1000) to `retryMaxMs` (default 60000):
   * a failed message is retried by the instance that holds it once its back-off has passed.
   */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /**
   * A message pending with another instance of the group (a dead one, or one still working through its
   * batch) is taken over once it has been idle this long, and its back-off has passed. Default
   * `TAKEOVER_AFTER_RETRY_BASES` × `retryBaseMs` (30 s by default): long enough that a live instance
   * slowed by load keeps its batch (a takeover then would only run its handlers twice), short enough that
   * a dead instance's events move on within seconds in tests and within half a minute in production.
   */
  takeoverAfterMs?: number;
  /** After this many failed deliveries the event goes to the group's dead-letter stream (default 5). */
  maxDeliveries?: number;
  /** Called when a batch handler throws (its events then go to the per-event handler one by one). */
  onBatchError?: (error: unknown, events: readonly EventEnvelope[]) => void;
  /** Called when a handler throws (the event will be retried or dead-lettered). */
  onError?: (error: unknown, event: EventEnvelope, info: DeliveryInfo) => void;
}

/** Options of {@link EventBus.watch}. */
export interface WatchOptions {
  /** Called with every event of these topics published after the watch began, by every watcher. */
  handlers: Handlers;
  /** How long a read waits for new events (default 1000 ms); also bounds how fast `stop()` returns. */
  blockMs?: number;
  /** Called when a handler throws or a read fails; the watch goes on (a watched event is never retried). */
  onError?: (error: unknown) => void;
}

export interface Consumer {
  /** Stops reading; the message being handled finishes first. */
  stop(): Promise<void>;
}

/** How far behind a consumer group is on one producer's stream. */
export interface GroupLag {
  stream: string;
  group: string;
  /** Delivered to a consumer but not yet acknowledged. */
  pending: number;
  /** Age of the oldest pending event, from its publication; 0 when nothing is pending. */
  oldestPendingAgeMs: number;
  /** In the stream but not yet delivered to the group (null when the server cannot tell). */
  undelivered: number | null;
}

export interface DeadLetter {
  id: string;
  group: string;
  event: EventEnvelope;
  sourceStream: string;
  error: string;
  deliveries: number;
  deadAt: string;
}

/**
 * The event bus every feature uses. Producers never call `publish` directly: they write to their
 * outbox in the transaction of the change, and the outbox relay publishes. Delivery is at least
 * once; consumers make effects idempotent with their inbox (see `firstDelivery`).
 */
export interface EventBus {
  /** Appends events to their producers' streams, in order. */
  publish(events: readonly EventEnvelope[]): Promise<void>;
  consume(options: ConsumeOptions): Promise<Consumer>;
  /**
   * Every instance that watches sees every event published from now on — no consumer group, no
   * acknowledgement, no retry, no inbox. For state each process derives for itself (a cache evicted by
   * its owner's events): a consumer group hands each event to ONE instance of the feature, which would
   * leave the other replicas' caches stale. A watcher that was down misses what was published meanwhile,
   * so what it keeps must be bounded otherwise too (a TTL).
   */
  watch(options: WatchOptions): Promise<Consumer>;
  lag(group: string): Promise<GroupLag[]>;
  deadLetters(group: string, limit?: number): Promise<DeadLetter[]>;
  /** Re-delivers one dead letter to its group only, then removes it from the dead-letter stream. */
  replayDeadLetter(group: string, id: string): Promise<void>;
  /** Resolves when the bus's backend answers (for readiness checks). */
  ping(): Promise<void>;
  /**
   * An id of the backend's current life; it changes when the backend restarts and may have lost events
   * it had accepted (the outbox relay then sends its recent rows again).
   */
  generation(): Promise<string>;
  close(): Promise<void>;
}

/**
 * Redis keys: `<namespace>:events:<producer>` (one stream per producing feature) and
 * `<namespace>:dlq:<group>` (one dead-letter stream per consuming feature). The namespace lets several
 * environments or test runs share one Redis without seeing each other's events.
 */
export const DEFAULT_NAMESPACE = 'carwash';

export function streamKey(namespace: string, producer: string): string {
  return `${namespace}:events:${producer}`;
}

export function deadLetterKey(namespace: string, group: string): string {
  return `${namespace}:dlq:${group}`;
}

/**
 * Handlers a consumer runs at once by default. One handler at a time spends most of its time waiting
 * on its transaction's round trips and commit flush, which capped a consumer below 1,000 events/s;
 * PostgreSQL flushes concurrent commits together, so a few lanes multiply the throughput (figures in
 * test/bench/results/tuning-events.md).
 */
export const DEFAULT_CONCURRENCY = 8;

export function backoffMs(deliveries: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, deliveries - 1));
}

export function defaultConsumerName(group: string): string {
  return `${group}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}
