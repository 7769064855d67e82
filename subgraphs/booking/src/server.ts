import { readFileSync } from 'node:fs';
import { createEventBus, OutboxRelay, type Consumer, type EventBus } from '@carwash/events';
import { createUserTokenVerifier } from '@carwash/service-trust';
import { createSubgraphServer, type Logger, type SubgraphServer } from '@carwash/subgraph-kit';
import { parse } from 'graphql';
import type { BookingConfig } from './config.js';
import type { BookingContext } from './context.js';
import { createDb, type BookingDb } from './db.js';
import { CONSUMER_GROUP } from './events.js';
import { createLoaders } from './loaders.js';
import { Peers } from './peers.js';
import { permissions } from './permissions.js';
import { BookingRepository } from './repository.js';
import { resolvers } from './resolvers.js';
import { BookingService } from './service.js';

export { sqlStatements } from './db.js';
export { loadBookingConfig, type BookingConfig } from './config.js';

export const typeDefs = parse(readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8'));

export interface BookingSubgraph extends SubgraphServer {
  db: BookingDb;
  bus: EventBus;
  relay: OutboxRelay;
  service: BookingService;
  /** Starts consuming the events this feature reacts to (main.ts does; tests may). */
  startConsumers(options?: { blockMs?: number; retryBaseMs?: number }): Promise<Consumer>;
}

/** Builds the booking subgraph. Does not listen: main.ts and tests do. */
export async function createBookingSubgraph(config: BookingConfig, logger: Logger): Promise<BookingSubgraph> {
  const { db, pool } = createDb(config.BOOKING_DATABASE_URL, config.BOOKING_DATABASE_POOL_SIZE);
  const bus = createEventBus(config.EVENT_BUS === 'redis' ? { kind: 'redis', url: config.REDIS_URL, namespace: config.EVENTS_NAMESPACE } : { kind: 'memory' });
  const relay = new OutboxRelay({ pool, table: 'booking_outbox', producer: 'booking', bus, onError: (err) => logger.warn({ err }, 'outbox relay: publishing failed; will retry') });
  const repo = new BookingRepository(db);
  const peers = new Peers(config.AUTH_GRAPHQL_URL, config.LOCATION_GRAPHQL_URL, config.SERVICE_HMAC_KEYS[0]!);
  const service = new BookingService(repo, peers, config);
  const consumers: Consumer[] = [];

  const server = await createSubgraphServer<BookingContext>({
    name: 'booking',
    typeDefs,
    resolvers,
    permissions,
    serviceKeys: config.SERVICE_HMAC_KEYS,
    verifyUser: createUserTokenVerifier({ jwksUrl: config.AUTH_JWKS_URL }),
    createContext: (base) => ({ ...base, loaders: createLoaders(repo, peers, base.requestId), booking: service }),
    logger,
    maxBodyBytes: config.MAX_REQUEST_BYTES,
    readiness: { database: async () => void (await pool.query('SELECT 1')), eventBus: () => bus.ping() },
  });

  return {
    ...server,
    db,
    bus,
    relay,
    service,
    startConsumers: async (options = {}) => {
      const consumer = await bus.consume({
        group: CONSUMER_GROUP,
        ...options,
        handlers: {
          'auth.user.deleted': (event) => service.handleUserDeleted(event),
          'location.site.closed': (event) => service.handleSiteClosed(event),
          'location.staff.unassigned': (event) => service.handleStaffUnassigned(event),
          'payment.charge.captured': (event) => service.handleChargeCaptured(event),
        },
        onError: (err, event, info) => logger.warn({ err, eventId: event.id, topic: event.type, deliveries: info.deliveries }, 'event handler failed; will retry'),
      });
      consumers.push(consumer);
      return consumer;
    },
    stop: async () => {
      await server.stop();
      await Promise.all(consumers.map((c) => c.stop()));
      await relay.stop();
      await bus.close();
      await db.$disconnect();
      await pool.end();
    },
  };
}
