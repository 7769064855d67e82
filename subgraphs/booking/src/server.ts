import {
  AuthPeer,
  buildFeatureSubgraph,
  openFeature,
  type FeatureSubgraph,
  type Logger,
  type PeerUser,
} from '@carwash/subgraph-kit';
import type { BookingConfig } from './config.js';
import type { BookingContext } from './context.js';
import { createDb, type BookingDb } from './db.js';
import { createLoaders } from './loaders.js';
import { EvictedCache } from './evicted-cache.js';
import { CachedLocation, LocationPeer, type PeerSite } from './peers.js';
import { permissions, serviceAccess } from './permissions.js';
import { BookingRepository } from './repository.js';
import { resolvers } from './resolvers.js';
import { LIVE, type Service } from './repository.js';
import { BookingService, type CachedSlots } from './service.js';

export { sqlStatements } from './db.js';
export { loadBookingConfig, type BookingConfig } from './config.js';

/** How long the cache watcher's read waits for events: also what stopping the subgraph waits for it. */
const WATCH_BLOCK_MS = 200;

export type BookingSubgraph = FeatureSubgraph<BookingDb, BookingService>;

/** Builds the booking subgraph. Does not listen: main.ts and tests do. */
export async function createBookingSubgraph(config: BookingConfig, logger: Logger): Promise<BookingSubgraph> {
  const wiring = openFeature('booking', config, logger, createDb);
  const repo = new BookingRepository(wiring.db, wiring.pool);
  const auth = new AuthPeer(config.AUTH_GRAPHQL_URL, config.credentials.signing);
  // What booking asks its peers on every availableSlots and createBooking, kept per process and
  // evicted by the owners' events below (the TTL bounds what a late event leaves stale).
  const sites = new EvictedCache<PeerSite>(config.BOOKING_PEER_CACHE_TTL_MS);
  const users = new EvictedCache<PeerUser>(config.BOOKING_PEER_CACHE_TTL_MS);
  const location = new CachedLocation(
    new LocationPeer(config.LOCATION_GRAPHQL_URL, config.credentials.signing),
    sites,
  );
  const slots = new EvictedCache<CachedSlots>(config.BOOKING_SLOTS_CACHE_TTL_MS);
  const catalogue = new EvictedCache<Service>(config.BOOKING_SERVICE_CACHE_TTL_MS);
  const service = new BookingService(repo, location, config, slots, catalogue);
  const span = (from: string, to: string) => ({ from: Date.parse(from), to: Date.parse(to) });
  // Every replica watches the events that change what these caches hold (its own writes included, which
  // it has evicted already): the consumer group below hands each event to ONE replica, which would leave
  // the others' caches stale until their TTL.
  const watcher = await wiring.events.bus.watch({
    blockMs: WATCH_BLOCK_MS,
    onError: (err) => logger.warn({ err }, 'cache eviction watch: reading the bus failed; will retry'),
    handlers: {
      'booking.reservation.created': async ({ payload: p }) =>
        slots.evict(p.siteId, p.blockedUntil ? span(p.startsAt, p.blockedUntil) : undefined),
      'booking.reservation.statusChanged': async ({ payload: p }) => {
        const bayChanged =
          LIVE.includes(p.from as (typeof LIVE)[number]) !== LIVE.includes(p.to as (typeof LIVE)[number]);
        if (p.siteId && bayChanged)
          slots.evict(p.siteId, p.startsAt && p.blockedUntil ? span(p.startsAt, p.blockedUntil) : undefined);
      },
      'booking.service.changed': async ({ payload: p }) => catalogue.evict(p.serviceId),
      'location.site.changed': async ({ payload: p }) => {
        sites.evict(p.siteId);
        slots.evict(p.siteId);
      },
      'location.site.closed': async ({ payload: p }) => {
        sites.evict(p.siteId);
        slots.evict(p.siteId);
      },
      'auth.user.deleted': async ({ payload: p }) => users.evict(p.userId),
      'auth.user.tokensRevoked': async ({ payload: p }) => users.evict(p.userId),
    },
  });

  return buildFeatureSubgraph<BookingContext, BookingDb, BookingService>(
    wiring,
    {
      schemaFile: new URL('./schema.graphql', import.meta.url),
      resolvers,
      permissions,
      serviceAccess,
      context: (base) => ({ loaders: createLoaders(repo, auth, users, base.requestId), booking: service }),
    },
    {
      service,
      beforeStop: () => watcher.stop(),
      handlers: {
        // Pure evictions (a role change, new hours) are the watcher's alone. Where an effect follows, the
        // replica running it evicts first too: a booking checked after the effect must not see the owner
        // as it was before, whether or not this replica's watcher has got there yet.
        'auth.user.deleted': (event) => {
          users.evict(event.payload.userId);
          return service.handleUserDeleted(event);
        },
        'location.site.closed': (event) => {
          sites.evict(event.payload.siteId);
          slots.evict(event.payload.siteId);
          return service.handleSiteClosed(event);
        },
        'location.staff.unassigned': (event) => service.handleStaffUnassigned(event),
        'payment.charge.captured': (event) => service.handleChargeCaptured(event),
      },
    },
  );
}
