import { readFileSync } from 'node:fs';
import { createAccessTokenVerifier, createFeatureEvents, createSubgraphServer, type FeatureSubgraph, type Logger } from '@carwash/subgraph-kit';
import { parse } from 'graphql';
import type { PaymentConfig } from './config.js';
import type { PaymentContext } from './context.js';
import { createDb, type PaymentDb } from './db.js';
import { createLoaders } from './loaders.js';
import { BookingPeer } from './peers.js';
import { SandboxProvider } from './provider.js';
import { permissions } from './permissions.js';
import { resolvers } from './resolvers.js';
import { PaymentService } from './service.js';

export { sqlStatements } from './db.js';
export { loadPaymentConfig, type PaymentConfig } from './config.js';

export const typeDefs = parse(readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8'));

export interface PaymentSubgraph extends FeatureSubgraph<PaymentDb, PaymentService> {
  /** The offline sandbox provider (tests count its charges). */
  provider: SandboxProvider;
}

/** Builds the payment subgraph. Does not listen: main.ts and tests do. */
export async function createPaymentSubgraph(config: PaymentConfig, logger: Logger): Promise<PaymentSubgraph> {
  const { db, pool } = createDb(config.PAYMENT_DATABASE_URL, config.PAYMENT_DATABASE_POOL_SIZE);
  const events = createFeatureEvents({ feature: 'payment', pool, settings: config, logger });
  const provider = new SandboxProvider(config.PAYMENT_SANDBOX_LATENCY_MS);
  const service = new PaymentService(db, provider, new BookingPeer(config.BOOKING_GRAPHQL_URL, config.SERVICE_HMAC_KEYS[0]!), config);

  const tokens = createAccessTokenVerifier({ jwksUrl: config.AUTH_JWKS_URL }, config);
  const server = await createSubgraphServer<PaymentContext>({
    name: 'payment',
    typeDefs,
    resolvers,
    permissions,
    serviceKeys: config.SERVICE_HMAC_KEYS,
    verifyUser: tokens.verify,
    createContext: (base) => ({ ...base, loaders: createLoaders(db), payment: service, db }),
    logger,
    maxBodyBytes: config.MAX_REQUEST_BYTES,
    readiness: { database: async () => void (await pool.query('SELECT 1')), eventBus: () => events.bus.ping(), revocations: () => tokens.ping() },
  });

  return {
    ...server,
    db,
    bus: events.bus,
    relay: events.relay,
    service,
    provider,
    startConsumers: (options = {}) =>
      events.consume(
        {
          'booking.reservation.cancelled': (event) => service.handleBookingCancelled(event),
          'auth.user.deleted': (event) => service.handleUserDeleted(event),
        },
        options,
      ),
    stop: async () => {
      await server.stop();
      await events.stop();
      await tokens.close();
      await db.$disconnect();
      await pool.end();
    },
  };
}
