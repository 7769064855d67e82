import {
  pageLoader,
  rowByIdLoader,
  rowsByKeyLoader,
  type AuthPeer,
  type PeerUser,
} from '@carwash/subgraph-kit';
import DataLoader from 'dataloader';
import type { EvictedCache } from './evicted-cache.js';
import { cachedUsers } from './peers.js';
import type { BookingRepository, CustomerPageQuery, Reservation } from './repository.js';

/**
 * Per-request loaders: a dashboard of 100 bookings costs one statement per kind of data. User checks
 * go through the process's cache of auth's answers (`userCache`), the misses of a request in one call.
 */
export function createLoaders(
  repo: BookingRepository,
  auth: AuthPeer,
  userCache: EvictedCache<PeerUser>,
  requestId: string,
) {
  return {
    booking: rowByIdLoader((ids) => repo.reservationsByIds(ids)),
    service: rowByIdLoader((ids) => repo.servicesByIds(ids)),
    items: rowsByKeyLoader((ids) => repo.itemsFor(ids), 'reservationId'),
    history: rowsByKeyLoader((ids) => repo.historyFor(ids), 'reservationId'),
    /** Keyed by `siteId|fromISO|toISO`: the bookings of many sites' days in one statement. */
    siteDay: new DataLoader<string, Reservation[]>(async (keys) => {
      const ranges = keys.map((k) => {
        const [siteId, from, to] = k.split('|');
        return { siteId: siteId!, from: new Date(from!), to: new Date(to!) };
      });
      const rows = await repo.forSites(ranges);
      return ranges.map((r) =>
        rows.filter((b) => b.siteId === r.siteId && b.startsAt >= r.from && b.startsAt < r.to),
      );
    }),
    /** `User.bookings` of every user in the response: one statement per distinct set of page arguments. */
    customerBookings: pageLoader<CustomerPageQuery, Reservation>(
      (ids, query) => repo.pagesOfCustomers(ids, query),
      (q) => JSON.stringify([q.statuses, q.after?.key.toISOString(), q.after?.id, q.limit]),
    ),
    users: cachedUsers(auth.userLoader(requestId), userCache),
  };
}

export type BookingLoaders = ReturnType<typeof createLoaders>;
