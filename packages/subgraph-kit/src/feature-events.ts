import {
  createEvent,
  createEventBus,
  firstDelivery,
  OutboxRelay,
  type ConsumeOptions,
  type Consumer,
  type EventBus,
  type EventEnvelope,
  type EventMap,
  type Handlers,
  type Topic,
} from '@carwash/events';
import type pg from 'pg';
import type { Logger } from 'pino';
import { onCommittedWrite } from './db.js';
import type { SubgraphServer } from './server.js';

export interface FeatureEventsOptions {
  /** The feature: producer name, outbox table `<feature>_outbox`, consumer group `<feature>`. */
  feature: string;
  /** The feature's own database, where its outbox lives. */
  pool: pg.Pool;
  settings: {
    EVENT_BUS: 'redis' | 'memory';
    REDIS_URL: string;
    EVENTS_NAMESPACE: string;
    /**
     * The relay's pause between polls of an empty outbox (the relay's default when absent): with a
     * `countingPool` a fallback, as every write committed on the pool wakes the relay at once.
     */
    OUTBOX_POLL_MS?: number;
  };
  logger: Logger;
}

export interface FeatureEvents {
  bus: EventBus;
  /** Publishes the feature's outbox; main.ts starts it, tests may drive it with `runOnce()`. */
  relay: OutboxRelay;
  /** Consumes the given topics as the feature's consumer group; every failure is logged. */
  consume(
    handlers: Handlers,
    options?: Partial<Omit<ConsumeOptions, 'group' | 'handlers'>>,
  ): Promise<Consumer>;
  /** Stops consumers and relay, then closes the bus. */
  stop(): Promise<void>;
}

/** The event plumbing every feature has: one bus, one outbox relay, one consumer group. */
export function createFeatureEvents({
  feature,
  pool,
  settings,
  logger,
}: FeatureEventsOptions): FeatureEvents {
  const bus = createEventBus(
    settings.EVENT_BUS === 'redis'
      ? { kind: 'redis', url: settings.REDIS_URL, namespace: settings.EVENTS_NAMESPACE }
      : // Every feature of the process on one in-memory bus (shared by namespace), as on one Redis.
        { kind: 'memory', namespace: settings.EVENTS_NAMESPACE },
  );
  // The feature's writers and its relay share `pool`: every write committed on it wakes the relay (an
  // in-process signal, nothing in the writer's commit); what other processes write waits for the poll.
  let wake = (): void => undefined;
  const unsubscribe = onCommittedWrite(pool, () => wake());
  const relay = new OutboxRelay({
    pool,
    table: `${feature}_outbox`,
    producer: feature,
    bus,
    wokenByCommits: unsubscribe !== undefined,
    ...(settings.OUTBOX_POLL_MS ? { idleMs: settings.OUTBOX_POLL_MS } : {}),
    onError: (err) => logger.warn({ err }, 'outbox relay: publishing failed; will retry'),
    onReplay: (rows) =>
      logger.warn(
        { rows },
        'event bus restarted (its unread events may be lost): sending recent events again',
      ),
  });
  wake = () => relay.wake();
  const consumers: Consumer[] = [];
  return {
    bus,
    relay,
    consume: async (handlers, options = {}) => {
      const consumer = await bus.consume({
        ...options,
        group: feature,
        handlers,
        onError: (err, event, info) =>
          logger.warn(
            { err, eventId: event.id, topic: event.type, deliveries: info.deliveries },
            'event handler failed; will retry',
          ),
      });
      consumers.push(consumer);
      return consumer;
    },
    stop: async () => {
      await Promise.all(consumers.map((c) => c.stop()));
      unsubscribe?.();
      await relay.stop();
      await bus.close();
    },
  };
}

/**
 * What the outbox and inbox need of a feature's Prisma transaction client: raw SQL with bound parameters
 * (the `<feature>_outbox` and `<feature>_inbox` inserts). Every feature's generated client has it.
 */
export interface OutboxTransaction {
  $executeRawUnsafe(sql: string, ...values: unknown[]): PromiseLike<number>;
}

/**
 * A feature's outbox and inbox: what it publishes, and the writes its repository makes with them. The
 * repository hands them its transaction client (`readonly recordEvent = outbox.record`), so the
 * services keep going through the repository and never touch the client.
 */
export interface FeatureOutbox<T extends Topic> {
  /** The topics the feature publishes (its own, `<feature>.<entity>.<pastTense>`). */
  publishes: readonly T[];
  /**
   * Writes the `<feature>_outbox` row of a new event with `tx`, in the transaction that made the event
   * true, so the event exists if and only if that change committed; the relay publishes it later.
   */
  record<U extends T>(
    tx: OutboxTransaction,
    topic: U,
    aggregateId: string,
    payload: EventMap[U],
  ): Promise<void>;
  /**
   * True the first time the feature's consumer group handles `event`: inserts its `<feature>_inbox` row
   * with `tx`, in the transaction of the effect (false for a redelivery: skip the effect).
   */
  firstTime(
    tx: Pick<OutboxTransaction, '$executeRawUnsafe'>,
    event: Pick<EventEnvelope, 'id' | 'type'>,
  ): Promise<boolean>;
}

/**
 * The outbox and inbox of `feature` — tables `<feature>_outbox` and `<feature>_inbox`, producer and
 * consumer group `<feature>`, as `createFeatureEvents` relays and consumes them.
 */
export function featureOutbox<const T extends Topic>(
  feature: string,
  publishes: readonly T[],
): FeatureOutbox<T> {
  const inbox = `${feature}_inbox`;
  // One parameterised statement, not the model's `create`: every write that makes an event true writes
  // one of these, and raw SQL skips the client's query compilation (measured on createBooking).
  const insert = `INSERT INTO "${feature}_outbox" (id, topic, version, aggregate_id, payload, occurred_at)
    VALUES ($1::uuid, $2, $3, $4::uuid, $5::jsonb, $6::timestamptz)`;
  return {
    publishes,
    record: async (tx, topic, aggregateId, payload) => {
      const event = createEvent(feature, topic, aggregateId, payload);
      await tx.$executeRawUnsafe(
        insert,
        event.id,
        event.type,
        event.version,
        event.aggregateId,
        JSON.stringify(event.payload),
        event.occurredAt,
      );
    },
    firstTime: (tx, event) =>
      firstDelivery(
        (sql, values) => Promise.resolve(tx.$executeRawUnsafe(sql, ...values)),
        inbox,
        feature,
        event,
      ),
  };
}

/** What a feature's subgraph builder returns: its server plus the handles main.ts and tests use. */
export interface FeatureSubgraph<Db, Service> extends SubgraphServer {
  db: Db;
  bus: EventBus;
  /** Publishes the feature's outbox; main.ts starts it, tests may drive it. */
  relay: OutboxRelay;
  service: Service;
  /** Starts consuming the events this feature reacts to (main.ts does; tests may). */
  startConsumers(options?: Partial<Omit<ConsumeOptions, 'group' | 'handlers'>>): Promise<Consumer>;
}

/** A feature's connections, which `assembleFeatureSubgraph` hands out and closes. */
export interface FeatureWiring<Db extends { $disconnect(): Promise<void> }> {
  db: Db;
  pool: pg.Pool;
  events: FeatureEvents;
  tokens: { close(): Promise<void> };
}

/** What is the feature's own in its subgraph handles. */
export interface FeatureOwnParts<Service> {
  service: Service;
  /** The events the feature reacts to: its consumer group consumes exactly these topics. */
  handlers: Handlers;
  /** Runs first on stop (timers the feature started). */
  beforeStop?: () => Promise<void> | void;
  /** Runs once the server has stopped, before the bus and database close (work the last requests left). */
  afterServerStop?: () => Promise<void>;
}

/**
 * A feature's subgraph handles, with the stop every feature has: its own `beforeStop`, the server
 * (in-flight requests finish), its own `afterServerStop`, consumers/relay/bus, the revocation check,
 * then the database.
 */
export function assembleFeatureSubgraph<Db extends { $disconnect(): Promise<void> }, Service>(
  server: SubgraphServer,
  { db, pool, events, tokens }: FeatureWiring<Db>,
  { service, handlers, beforeStop, afterServerStop }: FeatureOwnParts<Service>,
): FeatureSubgraph<Db, Service> {
  return {
    ...server,
    db,
    bus: events.bus,
    relay: events.relay,
    service,
    startConsumers: (options = {}) => events.consume(handlers, options),
    stop: async () => {
      await beforeStop?.();
      await server.stop();
      await afterServerStop?.();
      await events.stop();
      await tokens.close();
      await db.$disconnect();
      await pool.end();
    },
  };
}
