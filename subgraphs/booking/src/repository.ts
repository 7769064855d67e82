import type { BookingDb } from './db.js';
import type { History, Prisma, Reservation, ReservationItem, ReservationStatus, Service } from './generated/prisma/client.js';

export type { History, Reservation, ReservationItem, ReservationStatus, Service };
export type Tx = Prisma.TransactionClient;

/** Statuses that occupy a bay (and a washer); the exclusion constraints use the same list. */
export const LIVE: ReservationStatus[] = ['HELD', 'CONFIRMED', 'IN_PROGRESS'];

/** Data access for the booking tables. No rules here: those live in the service. */
export class BookingRepository {
  constructor(readonly db: BookingDb) {}

  reservationsByIds(ids: readonly string[]): Promise<Reservation[]> {
    return this.db.reservation.findMany({ where: { id: { in: [...ids] } } });
  }

  servicesByIds(ids: readonly string[]): Promise<Service[]> {
    return this.db.service.findMany({ where: { id: { in: [...ids] } } });
  }

  itemsFor(reservationIds: readonly string[]): Promise<ReservationItem[]> {
    return this.db.reservationItem.findMany({ where: { reservationId: { in: [...reservationIds] } }, orderBy: { name: 'asc' } });
  }

  historyFor(reservationIds: readonly string[]): Promise<History[]> {
    return this.db.history.findMany({ where: { reservationId: { in: [...reservationIds] } }, orderBy: [{ changedAt: 'asc' }, { id: 'asc' }] });
  }

  /** Live reservations holding a bay of the site at some point of [from, to). */
  busy(tx: Tx, siteId: string, from: Date, to: Date) {
    return tx.reservation.findMany({
      where: { siteId, status: { in: LIVE }, startsAt: { lt: to }, blockedUntil: { gt: from } },
      select: { bay: true, startsAt: true, blockedUntil: true },
    });
  }

  /** A customer's HELD reservations whose hold has not lapsed at `now` (the ones the hold cap counts). */
  async liveHolds(tx: Tx, customerId: string, now: Date): Promise<number> {
    // Raw SQL: it runs on every createBooking, and skips the client's query compilation (CPU per request).
    const [row] = await tx.$queryRaw<Array<{ n: number }>>`SELECT count(*)::int AS n FROM booking_reservations WHERE customer_id = ${customerId}::uuid AND status = 'HELD' AND hold_expires_at > ${now}`;
    return row?.n ?? 0;
  }

  /** Bookings starting in [from, to) at any of the sites: one statement for a dashboard of sites. */
  forSites(ranges: ReadonlyArray<{ siteId: string; from: Date; to: Date }>): Promise<Reservation[]> {
    return this.db.reservation.findMany({
      where: { OR: ranges.map((r) => ({ siteId: r.siteId, startsAt: { gte: r.from, lt: r.to } })) },
      orderBy: [{ startsAt: 'asc' }, { bay: 'asc' }],
    });
  }

  async forCustomer(customerId: string, statuses: ReservationStatus[] | undefined, offset: number, limit: number) {
    const where: Prisma.ReservationWhereInput = { customerId, ...(statuses?.length ? { status: { in: statuses } } : {}) };
    const [rows, total] = await Promise.all([
      this.db.reservation.findMany({ where, orderBy: [{ startsAt: 'desc' }, { id: 'desc' }], skip: offset, take: limit }),
      this.db.reservation.count({ where }),
    ]);
    return { rows, total };
  }
}
