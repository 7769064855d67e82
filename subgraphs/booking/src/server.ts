import {
  AuthPeer,
  buildFeatureSubgraph,
  loadTypeDefs,
  openFeature,
  type FeatureSubgraph,
  type Logger,
  type PeerUser,
} from '@carwash/subgraph-kit';
import type { BookingConfig } from './config.js';
import type { BookingContext } from './context.js';
import { createDb, type BookingDb } from './db.js';
import { createLoaders } from './loaders.js';
import { PeerCache } from './peer-cache.js';
import { CachedLocation, LocationPeer, type PeerSite } from './peers.js';
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
  // What booking asks its peers on every availableSlots and createBooking, kept per process and
  // evicted by the owners' events below (the TTL bounds what a late event leaves stale).
  const sites = new PeerCache<PeerSite>(config.BOOKING_PEER_CACHE_TTL_MS);
  const users = new PeerCache<PeerUser>(config.BOOKING_PEER_CACHE_TTL_MS);
  const location = new CachedLocation(
    new LocationPeer(config.LOCATION_GRAPHQL_URL, config.credentials.signing),
    sites,
  );
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
        loaders: createLoaders(repo, auth, users, base.requestId),
        booking: service,
      }),
    },
    {
      service,
      handlers: {
        // Evictions first: a booking checked after the effect must not see the owner as it was before.
        'auth.user.deleted': (event) => {
          users.evict(event.payload.userId);
          return service.handleUserDeleted(event);
        },
        // A role change (or a password change: harmless) revokes the user's tokens.
        'auth.user.tokensRevoked': async (event) => users.evict(event.payload.userId),
        'location.site.changed': async (event) => sites.evict(event.payload.siteId),
        'location.site.closed': (event) => {
          sites.evict(event.payload.siteId);
          return service.handleSiteClosed(event);
        },
        'location.staff.unassigned': (event) => service.handleStaffUnassigned(event),
        'payment.charge.captured': (event) => service.handleChargeCaptured(event),
      },
    },
  );
}
