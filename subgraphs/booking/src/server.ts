import {
  AuthPeer,
  buildFeatureSubgraph,
  loadTypeDefs,
  openFeature,
  type FeatureSubgraph,
  type Logger,
} from '@carwash/subgraph-kit';
import type { BookingConfig } from './config.js';
import type { BookingContext } from './context.js';
import { createDb, type BookingDb } from './db.js';
import { createLoaders } from './loaders.js';
import { LocationPeer } from './peers.js';
import { permissions, serviceAccess } from './permissions.js';
import { BookingRepository } from './repository.js';
import { resolvers } from './resolvers.js';
import { BookingService } from './service.js';

export { sqlStatements } from './db.js';
export { loadBookingConfig, type BookingConfig } from './config.js';

export const typeDefs = loadTypeDefs(new URL('./schema.graphql', import.meta.url));

export type BookingSubgraph = FeatureSubgraph<BookingDb, BookingService>;

/** Builds the booking subgraph. Does not listen: main.ts and tests do. */
export async function createBookingSubgraph(config: BookingConfig, logger: Logger): Promise<BookingSubgraph> {
  const wiring = openFeature('booking', config, logger, createDb);
  const repo = new BookingRepository(wiring.db);
  const auth = new AuthPeer(config.AUTH_GRAPHQL_URL, config.credentials.signing);
  const location = new LocationPeer(config.LOCATION_GRAPHQL_URL, config.credentials.signing);
  const service = new BookingService(repo, location, config);

  return buildFeatureSubgraph<BookingContext, BookingDb, BookingService>(
    wiring,
    {
      typeDefs,
      resolvers,
      permissions,
      serviceAccess,
      createContext: (base) => ({
        ...base,
        loaders: createLoaders(repo, auth, base.requestId),
        booking: service,
      }),
    },
    {
      service,
      handlers: {
        'auth.user.deleted': (event) => service.handleUserDeleted(event),
        'location.site.closed': (event) => service.handleSiteClosed(event),
        'location.staff.unassigned': (event) => service.handleStaffUnassigned(event),
        'payment.charge.captured': (event) => service.handleChargeCaptured(event),
      },
    },
  );
}
