import { pageLoader } from '@carwash/subgraph-kit';
import DataLoader from 'dataloader';
import type { Peers } from './peers.js';
import type {
  BookingRepository,
  CustomerPageQuery,
  History,
  Reservation,
  ReservationItem,
  Service,
} from './repository.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function byKey<T>(rows: T[], key: (r: T) => string, ids: readonly string[]): T[][] {
  const map = new Map<string, T[]>();
  for (const r of rows) map.set(key(r), [...(map.get(key(r)) ?? []), r]);
  return ids.map((id) => map.get(id) ?? []);
}

function one<T extends { id: string }>(load: (ids: string[]) => Promise<T[]>) {
  return new DataLoader<string, T | null>(async (ids) => {
    const rows = await load(ids.filter((id) => UUID.test(id)));
    const map = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => map.get(id) ?? null);
  });
}

/** Per-request loaders: a dashboard of 100 bookings costs one statement per kind of data. */
export function createLoaders(repo: BookingRepository, peers: Peers, requestId: string) {
  return {
    booking: one<Reservation>((ids) => repo.reservationsByIds(ids)),
    service: one<Service>((ids) => repo.servicesByIds(ids)),
    items: new DataLoader<string, ReservationItem[]>(async (ids) =>
      byKey(await repo.itemsFor(ids), (i) => i.reservationId, ids),
    ),
    history: new DataLoader<string, History[]>(async (ids) =>
      byKey(await repo.historyFor(ids), (h) => h.reservationId, ids),
    ),
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
    users: peers.userLoader(requestId),
  };
}

export type BookingLoaders = ReturnType<typeof createLoaders>;
