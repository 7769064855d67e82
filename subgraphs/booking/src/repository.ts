import { randomUUID } from 'node:crypto';
import { createEvent, type EventEnvelope, type EventMap } from '@carwash/events';
import { readParentPages, type ParentPage, type ParentPageQuery } from '@carwash/subgraph-kit';
import type { BookingDb } from './db.js';
import type { BusyBay } from './availability.js';
import { outbox } from './events.js';
import {
  Prisma,
  type History,
  type Reservation,
  type ReservationItem,
  type ReservationStatus,
  type Service,
} from './generated/prisma/client.js';

export type { History, Reservation, ReservationItem, ReservationStatus, Service };

/**
 * A transaction handed out by {@link BookingStore.transaction}. Opaque to the service: it only passes
 * it back to the store's methods, so every statement of one unit of work runs on the same connection.
 */
export interface Tx {
  readonly __bookingTx: unique symbol;
}

/** Statuses that occupy a bay (and a washer); the exclusion constraints use the same list. */
export const LIVE: ReservationStatus[] = ['HELD', 'CONFIRMED', 'IN_PROGRESS'];

/** The statuses a system cancellation (account deleted, site closed) ends. */
export const CANCELLABLE_BY_SYSTEM: ReservationStatus[] = ['HELD', 'CONFIRMED'];

/** The slice of a pg pool the repository sends statements to directly (a `pg.Pool`). */
export interface SqlPool {
  query<R extends object>(text: string, values: unknown[]): Promise<{ rows: R[] }>;
}

/** A topic booking publishes. */
export type BookingTopic = (typeof outbox.publishes)[number];

/** How long a transaction may wait for a connection, and run: a rush on one site queues on its lock. */
export interface TransactionLimits {
  maxWaitMs: number;
  timeoutMs: number;
}

/** The columns of a new catalogue entry. */
export interface NewService {
  name: string;
  description: string | null;
  durationMinutes: number;
  priceCents: number;
  currency: string;
  isAddOn: boolean;
}

/** The columns a catalogue update may change. */
export type ServiceChanges = Partial<
  Pick<Service, 'name' | 'description' | 'durationMinutes' | 'priceCents' | 'currency' | 'active'>
>;

/** A new HELD reservation, its add-on lines and its first history row (written in one statement). */
export interface NewReservation {
  customerId: string;
  siteId: string;
  serviceId: string;
  bay: number;
  startsAt: Date;
  endsAt: Date;
  blockedUntil: Date;
  holdExpiresAt: Date;
  serviceName: string;
  priceCents: number;
  currency: string;
  createdBy: string;
  items: Array<{ serviceId: string; name: string; priceCents: number; currency: string }>;
}

/**
 * How long {@link BookingStore.hold} waits for its locks before it gives up (55P03): the interactive
 * transaction it replaces was bounded by its 20 s time limit (service.ts, BOOKING_TX_LIMITS).
 */
export const HOLD_LOCK_TIMEOUT_MS = 20_000;

/** What {@link BookingStore.hold} needs: the reservation but its bay, the site's bays, the cap. */
export interface NewHold {
  reservation: Omit<NewReservation, 'bay'>;
  bays: number;
  /** The most live holds the customer may have, counting this one's; null when no cap applies. */
  maxHolds: number | null;
  now: Date;
}

/** What {@link BookingStore.hold} decided: the new hold, or why there is none. */
export type HoldOutcome =
  { kind: 'held'; reservation: Reservation } | { kind: 'limit' } | { kind: 'full' } | { kind: 'lapsed' };

/** What {@link BookingStore.bookingState} reads: the site's reservations overlapping [from, to), and the customer's live holds (none counted when `customerId` is null: no cap applies). */
export interface BookingStateQuery {
  siteId: string;
  from: Date;
  to: Date;
  customerId: string | null;
  now: Date;
}

/** The `booking.reservation.created` event of a new reservation, written in the same statement as its row. */
export function reservationCreated(id: string, r: Omit<NewReservation, 'bay'>) {
  return createEvent('booking', 'booking.reservation.created', id, {
    reservationId: id,
    customerId: r.customerId,
    siteId: r.siteId,
    startsAt: r.startsAt.toISOString(),
    blockedUntil: r.blockedUntil.toISOString(),
    priceCents: r.priceCents,
    currency: r.currency,
  });
}

/** One history row. */
export interface NewHistory {
  reservationId: string;
  fromStatus: ReservationStatus | null;
  toStatus: ReservationStatus;
  changedBy: string | null;
  reason: string | null;
}

/** A live reservation holding a bay, with what tells whether its hold has lapsed (status, expiry). */
export interface BayUse extends BusyBay {
  status: ReservationStatus;
  holdExpiresAt: Date | null;
}

/** Which lapsed holds to find: all of them, or those at a site overlapping [from, to) (optionally but one). */
export type LapsedScope = { siteId: string; from: Date; to: Date; exceptId?: string } | null;

/** Which page of each customer's bookings to read, sorted by (startsAt, id). */
export interface CustomerPageQuery extends ParentPageQuery {
  /** Only these statuses (sorted, distinct); null for all. */
  statuses: ReservationStatus[] | null;
}

/** Whose live future bookings a system cancellation ends. */
export type FutureScope = { customerId: string } | { siteId: string };

/**
 * Everything booking reads and writes, as the service needs it. Writes take the {@link Tx} of the
 * unit of work they belong to; reads outside a transaction take none. No rules here: those live in
 * the service and in rules.ts. Implemented by {@link BookingRepository} (Prisma) and, in unit tests,
 * by an in-memory fake.
 */
export interface BookingStore {
  /** Runs `fn` in one database transaction and returns its result; a throw rolls everything back. */
  transaction<T>(fn: (tx: Tx) => Promise<T>, limits?: TransactionLimits): Promise<T>;

  createService(data: NewService): Promise<Service>;
  /** The updated service, or null when there is no such service. */
  updateService(tx: Tx, id: string, data: ServiceChanges): Promise<Service | null>;
  listServices(includeInactive: boolean): Promise<Service[]>;
  serviceById(id: string): Promise<Service | null>;
  servicesByIds(ids: readonly string[]): Promise<Service[]>;

  reservationById(id: string, tx?: Tx): Promise<Reservation | null>;
  /** Only the site of a reservation (read before its site lock is taken), or null. */
  siteOfReservation(tx: Tx, id: string): Promise<string | null>;
  /**
   * Live reservations holding a bay of the site at some point of [from, to) — lapsed holds included
   * (their status and expiry say so) until something expires them.
   */
  busy(siteId: string, from: Date, to: Date, tx?: Tx): Promise<BayUse[]>;
  /** A customer's HELD reservations whose hold has not lapsed at `now` (the ones the hold cap counts). */
  liveHolds(tx: Tx, customerId: string, now: Date): Promise<number>;
  /** HELD reservations whose hold lapsed at `now`, at most `limit`. */
  lapsedHolds(tx: Tx, scope: LapsedScope, now: Date, limit: number): Promise<Reservation[]>;
  /** HELD or CONFIRMED reservations starting after `now`, of a customer or at a site. */
  liveFuture(tx: Tx, scope: FutureScope, now: Date): Promise<Reservation[]>;

  /**
   * What createBooking decides on, read after its locks in ONE statement (so it sees every hold committed
   * before them): the customer's live holds (0 when `customerId` is null: no cap applies) and the live
   * reservations of the site overlapping [from, to) — {@link liveHolds} and {@link busy} in one round trip.
   */
  bookingState(tx: Tx, q: BookingStateQuery): Promise<{ liveHolds: number; inUse: BayUse[] }>;
  /**
   * createBooking's locks in one round trip: the customer's (when given: {@link lockCustomer}), then the
   * site's ({@link lockSite}) — the order every writer takes them in.
   */
  lockForBooking(tx: Tx, siteId: string, customerId: string | null): Promise<void>;
  /**
   * createBooking's whole hold in ONE round trip, its own transaction (the `booking_hold` function of the
   * migration 20261201175000_booking_hold): the locks of {@link lockForBooking}, then — in statements whose
   * snapshots are taken after the locks were granted — the hold count, lapsed holds in the way, the lowest
   * free bay and, when the cap allows and a bay is free, the writes of {@link createReservation}. Answers
   * `lapsed` without writing when a lapsed hold is in the way (the caller expires it, recorded, on the
   * slower path). An overlap committed by a writer that does not take the site lock fails with 23P01.
   */
  hold(data: NewHold): Promise<HoldOutcome>;
  /** Serialises one site's bay hand-out until the transaction ends (createBooking, a late payment's revival). */
  lockSite(tx: Tx, siteId: string): Promise<void>;
  /** Serialises one customer's hold count-and-add until the transaction ends. Always taken before a site lock. */
  lockCustomer(tx: Tx, customerId: string): Promise<void>;
  /** Locks one reservation row until the transaction ends. */
  lockReservation(tx: Tx, id: string): Promise<void>;

  /**
   * Inserts a HELD reservation with its items, its first history row and its `booking.reservation.created`
   * outbox row; an overlap fails with 23P01.
   */
  createReservation(tx: Tx, data: NewReservation): Promise<Reservation>;
  /** Sets the status if it is still `from` (clearing the hold expiry unless HELD); false when it changed meanwhile. */
  setStatusIfUnchanged(tx: Tx, id: string, from: ReservationStatus, to: ReservationStatus): Promise<boolean>;
  addHistory(tx: Tx, row: NewHistory): Promise<void>;
  /** Sets the washer; a washer double-booked at the time fails with 23P01. */
  assignWasher(id: string, washerId: string): Promise<Reservation>;
  /** Clears the washer of their live bookings starting after `now` (their account was deleted). */
  unassignWasherFromFuture(tx: Tx, washerId: string, now: Date): Promise<void>;
  /** Clears the washer of the site's held/confirmed bookings ending after `endedAt` (their shift ended). */
  unassignWasherAtSite(tx: Tx, washerId: string, siteId: string, endedAt: Date): Promise<void>;

  /** Appends an event to the outbox, in the transaction of the change it announces. */
  recordEvent<T extends BookingTopic>(
    tx: Tx,
    topic: T,
    aggregateId: string,
    payload: EventMap[T],
  ): Promise<void>;
  /** Records a consumed event in the inbox; false when it was handled before (a redelivery). */
  firstTime(tx: Tx, event: EventEnvelope): Promise<boolean>;
}

/**
 * A reservation's columns under the names of the Prisma model, for raw SELECTs from table (or CTE) `t`:
 * raw reads return `Reservation` rows without the client's query compilation and result mapping (CPU
 * per request on the hot reads: a dashboard, a customer's bookings, the bays of a new hold).
 */
function reservationColumns(t: string): Prisma.Sql {
  return Prisma.raw(
    [
      'id',
      'customer_id AS "customerId"',
      'site_id AS "siteId"',
      'service_id AS "serviceId"',
      'washer_id AS "washerId"',
      'bay',
      'starts_at AS "startsAt"',
      'ends_at AS "endsAt"',
      'blocked_until AS "blockedUntil"',
      'status::text AS status',
      'hold_expires_at AS "holdExpiresAt"',
      'service_name AS "serviceName"',
      'price_cents AS "priceCents"',
      'currency',
      'created_by AS "createdBy"',
      'created_at AS "createdAt"',
      'updated_at AS "updatedAt"',
    ]
      .map((c) => `${t}.${c}`)
      .join(', '),
  );
}

/** The Prisma implementation of {@link BookingStore}, plus the batch reads of the loaders. */
export class BookingRepository implements BookingStore {
  constructor(
    private readonly db: BookingDb,
    /**
     * The pool under `db` (the feature's counting pool): createBooking's one statement goes to it
     * directly, the same parameterised text Prisma would send. Through `$queryRaw` that statement cost
     * about 0.7 ms of CPU in Prisma's client and query compiler per booking (profile of 1,500 bookings),
     * on the path whose throughput the booking load measures.
     */
    private readonly sql: SqlPool,
  ) {}

  /** A statement built with `Prisma.sql` (values as $n parameters), sent on the pool itself: its rows. */
  private async rows<R extends object>(statement: Prisma.Sql): Promise<R[]> {
    return (await this.sql.query<R>(statement.text, statement.values)).rows;
  }

  /** The Prisma transaction client behind an opaque {@link Tx}, or the plain client outside one. */
  private client(tx?: Tx): Prisma.TransactionClient {
    return tx ? (tx as unknown as Prisma.TransactionClient) : this.db;
  }

  transaction<T>(fn: (tx: Tx) => Promise<T>, limits?: TransactionLimits): Promise<T> {
    return this.db.$transaction(
      (tx) => fn(tx as unknown as Tx),
      limits ? { maxWait: limits.maxWaitMs, timeout: limits.timeoutMs } : undefined,
    );
  }

  createService(data: NewService): Promise<Service> {
    return this.db.service.create({ data });
  }

  async updateService(tx: Tx, id: string, data: ServiceChanges): Promise<Service | null> {
    // Inside a transaction (its event is written beside it): look first rather than catch P2025 there.
    const c = this.client(tx);
    if (!(await c.service.findUnique({ where: { id }, select: { id: true } }))) return null;
    return c.service.update({ where: { id }, data });
  }

  listServices(includeInactive: boolean): Promise<Service[]> {
    return this.db.service.findMany({
      where: includeInactive ? {} : { active: true },
      orderBy: [{ isAddOn: 'asc' }, { name: 'asc' }],
    });
  }

  async serviceById(id: string): Promise<Service | null> {
    // Raw SQL: every availableSlots and createBooking reads it; skips the client's query compilation.
    const [row] = await this.db.$queryRaw<Service[]>`
      SELECT id, name, description, duration_minutes AS "durationMinutes", price_cents AS "priceCents",
        currency, active, is_add_on AS "isAddOn", created_at AS "createdAt", updated_at AS "updatedAt"
      FROM booking_services WHERE id = ${id}::uuid`;
    return row ?? null;
  }

  reservationsByIds(ids: readonly string[]): Promise<Reservation[]> {
    return this.db.reservation.findMany({ where: { id: { in: [...ids] } } });
  }

  servicesByIds(ids: readonly string[]): Promise<Service[]> {
    // Raw: every booking's `service` comes through here (see reservationColumns).
    return this.db.$queryRaw<Service[]>`
      SELECT id, name, description, duration_minutes AS "durationMinutes", price_cents AS "priceCents",
             currency, active, is_add_on AS "isAddOn", created_at AS "createdAt", updated_at AS "updatedAt"
      FROM booking_services WHERE id = ANY(${[...ids]}::uuid[])`;
  }

  itemsFor(reservationIds: readonly string[]): Promise<ReservationItem[]> {
    return this.db.reservationItem.findMany({
      where: { reservationId: { in: [...reservationIds] } },
      orderBy: { name: 'asc' },
    });
  }

  historyFor(reservationIds: readonly string[]): Promise<History[]> {
    return this.db.history.findMany({
      where: { reservationId: { in: [...reservationIds] } },
      orderBy: [{ changedAt: 'asc' }, { id: 'asc' }],
    });
  }

  reservationById(id: string, tx?: Tx): Promise<Reservation | null> {
    return this.client(tx).reservation.findUnique({ where: { id } });
  }

  async siteOfReservation(tx: Tx, id: string): Promise<string | null> {
    const row = await this.client(tx).reservation.findUnique({ where: { id }, select: { siteId: true } });
    return row?.siteId ?? null;
  }

  busy(siteId: string, from: Date, to: Date, tx?: Tx): Promise<BayUse[]> {
    // Spelled like the no-double-booking exclusion constraint (site, range overlap, live statuses), so
    // PostgreSQL answers from its GiST index instead of scanning the site's whole past (EXPLAIN: 2.4 ms
    // seq scan → 0.09 ms over 12,000 rows). Outside a transaction (availableSlots computing a site-day)
    // it goes to the pool directly, as hold does.
    const statement = Prisma.sql`
      SELECT bay, starts_at AS "startsAt", blocked_until AS "blockedUntil", status::text AS status,
        hold_expires_at AS "holdExpiresAt"
      FROM booking_reservations
      WHERE site_id = ${siteId}::uuid
        AND status IN ('HELD', 'CONFIRMED', 'IN_PROGRESS')
        AND tstzrange(starts_at, blocked_until, '[)') && tstzrange(${from}::timestamptz, ${to}::timestamptz, '[)')`;
    return tx ? this.client(tx).$queryRaw<BayUse[]>(statement) : this.rows<BayUse>(statement);
  }

  async liveHolds(tx: Tx, customerId: string, now: Date): Promise<number> {
    // Raw SQL: it runs on every createBooking, and skips the client's query compilation (CPU per request).
    const [row] = await this.client(tx).$queryRaw<
      Array<{ n: number }>
    >`SELECT count(*)::int AS n FROM booking_reservations WHERE customer_id = ${customerId}::uuid AND status = 'HELD' AND hold_expires_at > ${now}`;
    return row?.n ?? 0;
  }

  async bookingState(
    tx: Tx,
    { siteId, from, to, customerId, now }: BookingStateQuery,
  ): Promise<{ liveHolds: number; inUse: BayUse[] }> {
    // One row per bay in use (or one row of nulls), each carrying the hold count. `busy` spelled alike.
    const rows = await this.client(tx).$queryRaw<Array<{ holds: number } & Partial<BayUse>>>`
      SELECT h.holds, b.bay, b.starts_at AS "startsAt", b.blocked_until AS "blockedUntil",
        b.status::text AS status, b.hold_expires_at AS "holdExpiresAt"
      FROM (
        SELECT CASE WHEN ${customerId}::uuid IS NULL THEN 0 ELSE (
          SELECT count(*)::int FROM booking_reservations
          WHERE customer_id = ${customerId}::uuid AND status = 'HELD' AND hold_expires_at > ${now}
        ) END AS holds
      ) h
      LEFT JOIN booking_reservations b
        ON b.site_id = ${siteId}::uuid
        AND b.status IN ('HELD', 'CONFIRMED', 'IN_PROGRESS')
        AND tstzrange(b.starts_at, b.blocked_until, '[)') && tstzrange(${from}::timestamptz, ${to}::timestamptz, '[)')`;
    return {
      liveHolds: rows[0]?.holds ?? 0,
      inUse: rows.filter((r): r is typeof r & BayUse => r.bay != null),
    };
  }

  lapsedHolds(tx: Tx, scope: LapsedScope, now: Date, limit: number): Promise<Reservation[]> {
    const where: Prisma.ReservationWhereInput = scope
      ? {
          siteId: scope.siteId,
          ...(scope.exceptId ? { id: { not: scope.exceptId } } : {}),
          startsAt: { lt: scope.to },
          blockedUntil: { gt: scope.from },
        }
      : {};
    return this.client(tx).reservation.findMany({
      where: { ...where, status: 'HELD', holdExpiresAt: { lte: now } },
      take: limit,
    });
  }

  liveFuture(tx: Tx, scope: FutureScope, now: Date): Promise<Reservation[]> {
    return this.client(tx).reservation.findMany({
      where: { ...scope, status: { in: CANCELLABLE_BY_SYSTEM }, startsAt: { gt: now } },
    });
  }

  async lockSite(tx: Tx, siteId: string): Promise<void> {
    await this.client(tx)
      .$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`booking.site:${siteId}`}, 0))`;
  }

  async lockForBooking(tx: Tx, siteId: string, customerId: string | null): Promise<void> {
    // The select list is evaluated left to right: the customer's lock first, as lockCustomer + lockSite.
    if (customerId)
      await this.client(tx)
        .$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`booking.customer:${customerId}`}, 0)),
        pg_advisory_xact_lock(hashtextextended(${`booking.site:${siteId}`}, 0))`;
    else await this.lockSite(tx, siteId);
  }

  async lockCustomer(tx: Tx, customerId: string): Promise<void> {
    await this.client(tx)
      .$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`booking.customer:${customerId}`}, 0))`;
  }

  async lockReservation(tx: Tx, id: string): Promise<void> {
    await this.client(tx).$executeRaw`SELECT 1 FROM booking_reservations WHERE id = ${id}::uuid FOR UPDATE`;
  }

  async hold(data: NewHold): Promise<HoldOutcome> {
    const d = data.reservation;
    const id = randomUUID();
    const created = reservationCreated(id, d);
    // One parameterised statement outside any transaction (autocommit: the call is its own transaction),
    // built by Prisma's tagged template (values travel as $n parameters) and sent on the pool itself.
    // It opens with a comment, not SELECT: the pool then counts it as a write and wakes the outbox relay
    // once it committed (see `countingPool` in the subgraph kit).
    const statement = Prisma.sql`/* booking_hold writes */
      SELECT h.outcome, ${reservationColumns('r')}
      FROM booking_hold(
        ${id}::uuid, ${d.customerId}::uuid, ${d.siteId}::uuid, ${d.serviceId}::uuid,
        ${d.startsAt}::timestamptz, ${d.endsAt}::timestamptz, ${d.blockedUntil}::timestamptz,
        ${d.holdExpiresAt}::timestamptz, ${d.serviceName}::text, ${d.priceCents}::int, ${d.currency}::text,
        ${d.createdBy}::uuid, ${JSON.stringify(d.items)}::jsonb, ${data.bays}::int, ${data.maxHolds}::int,
        ${data.now}::timestamptz, ${created.id}::uuid, ${created.type}::text, ${created.version}::int,
        ${JSON.stringify(created.payload)}::jsonb, ${created.occurredAt}::timestamptz, ${HOLD_LOCK_TIMEOUT_MS}::int
      ) AS h, LATERAL (SELECT (h.held).*) AS r`;
    const [row] = await this.rows<Partial<Reservation> & { outcome: HoldOutcome['kind'] }>(statement);
    if (!row) throw new Error('booking_hold answered no row');
    const { outcome, ...reservation } = row;
    if (outcome === 'held') return { kind: 'held', reservation: reservation as Reservation };
    return { kind: outcome };
  }

  async createReservation(tx: Tx, data: NewReservation): Promise<Reservation> {
    // One statement for the row, its add-on lines, its first history row and its outbox row (the client's
    // nested create sent three or more, and the outbox one more, all while the site's lock is held).
    // Raw SQL: skips the query compilation.
    const { items } = data;
    const id = randomUUID();
    const created = reservationCreated(id, data);
    const [row] = await this.client(tx).$queryRaw<Reservation[]>`
      WITH r AS (
        INSERT INTO booking_reservations (id, customer_id, site_id, service_id, bay, starts_at, ends_at,
          blocked_until, status, hold_expires_at, service_name, price_cents, currency, created_by, updated_at)
        VALUES (${id}::uuid, ${data.customerId}::uuid, ${data.siteId}::uuid, ${data.serviceId}::uuid,
          ${data.bay}, ${data.startsAt}::timestamptz, ${data.endsAt}::timestamptz, ${data.blockedUntil}::timestamptz,
          'HELD', ${data.holdExpiresAt}::timestamptz, ${data.serviceName}, ${data.priceCents}, ${data.currency},
          ${data.createdBy}::uuid, now())
        RETURNING *
      ), history AS (
        INSERT INTO booking_history (id, reservation_id, from_status, to_status, changed_by)
        SELECT ${randomUUID()}::uuid, r.id, NULL, 'HELD', r.created_by FROM r
      ), lines AS (
        INSERT INTO booking_reservation_items (id, reservation_id, service_id, name, price_cents, currency)
        SELECT gen_random_uuid(), r.id, i.service_id, i.name, i.price_cents, i.currency
        FROM r, unnest(${items.map((i) => i.serviceId)}::uuid[], ${items.map((i) => i.name)}::text[],
          ${items.map((i) => i.priceCents)}::int[], ${items.map((i) => i.currency)}::text[])
          AS i(service_id, name, price_cents, currency)
      ), announced AS (
        INSERT INTO booking_outbox (id, topic, version, aggregate_id, payload, occurred_at)
        SELECT ${created.id}::uuid, ${created.type}, ${created.version}, r.id, ${JSON.stringify(created.payload)}::jsonb,
          ${created.occurredAt}::timestamptz
        FROM r
      )
      SELECT ${reservationColumns('r')} FROM r`;
    if (!row) throw new Error('INSERT … RETURNING gave no reservation');
    return row;
  }

  async setStatusIfUnchanged(
    tx: Tx,
    id: string,
    from: ReservationStatus,
    to: ReservationStatus,
  ): Promise<boolean> {
    const { count } = await this.client(tx).reservation.updateMany({
      where: { id, status: from },
      data: { status: to, ...(to !== 'HELD' ? { holdExpiresAt: null } : {}) },
    });
    return count > 0;
  }

  async addHistory(tx: Tx, row: NewHistory): Promise<void> {
    await this.client(tx).history.create({ data: row });
  }

  assignWasher(id: string, washerId: string): Promise<Reservation> {
    return this.db.reservation.update({ where: { id }, data: { washerId } });
  }

  async unassignWasherFromFuture(tx: Tx, washerId: string, now: Date): Promise<void> {
    await this.client(tx).reservation.updateMany({
      where: { washerId, startsAt: { gt: now }, status: { in: LIVE } },
      data: { washerId: null },
    });
  }

  async unassignWasherAtSite(tx: Tx, washerId: string, siteId: string, endedAt: Date): Promise<void> {
    await this.client(tx).reservation.updateMany({
      where: { washerId, siteId, endsAt: { gt: endedAt }, status: { in: CANCELLABLE_BY_SYSTEM } },
      data: { washerId: null },
    });
  }

  async recordEvent<T extends BookingTopic>(
    tx: Tx,
    topic: T,
    aggregateId: string,
    payload: EventMap[T],
  ): Promise<void> {
    await outbox.record(this.client(tx), topic, aggregateId, payload);
  }

  firstTime(tx: Tx, event: EventEnvelope): Promise<boolean> {
    return outbox.firstTime(this.client(tx), event);
  }

  /** Bookings starting in [from, to) at any of the sites: one statement for a dashboard of sites. */
  forSites(ranges: ReadonlyArray<{ siteId: string; from: Date; to: Date }>): Promise<Reservation[]> {
    if (ranges.length === 0) return Promise.resolve([]);
    // One index range scan per (site, day) on (site_id, starts_at), as the OR of ranges was.
    return this.db.$queryRaw<Reservation[]>`
      SELECT ${reservationColumns('r')} FROM booking_reservations r
      JOIN unnest(${ranges.map((x) => x.siteId)}::uuid[], ${ranges.map((x) => x.from)}::timestamptz[],
                  ${ranges.map((x) => x.to)}::timestamptz[]) AS q(site_id, from_at, to_at)
        ON r.site_id = q.site_id AND r.starts_at >= q.from_at AND r.starts_at < q.to_at
      ORDER BY r.starts_at, r.bay`;
  }

  /** A page of each customer's bookings, latest start first, and each customer's total: one statement. */
  pagesOfCustomers(
    customerIds: readonly string[],
    query: CustomerPageQuery,
  ): Promise<Map<string, ParentPage<Reservation>>> {
    const statuses = query.statuses?.length ? query.statuses : null;
    const matching = Prisma.sql`booking_reservations
      WHERE customer_id = ANY(${[...customerIds]}::uuid[])
        AND (${statuses}::booking_status[] IS NULL OR status = ANY(${statuses}::booking_status[]))`;
    return readParentPages(
      this.db,
      Prisma,
      {
        matching,
        parentColumn: 'customer_id',
        sortColumn: 'starts_at',
        columns: reservationColumns('r'),
        alias: 'r',
      },
      query,
    );
  }
}
