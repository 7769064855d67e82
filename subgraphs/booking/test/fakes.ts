/**
 * In-memory stand-ins for booking's repository and peers, so the service's rules run as unit tests
 * (no I/O). The fake keeps the database's guarantees the service relies on: a transaction that throws
 * leaves nothing behind, an overlapping live reservation of one bay (or one washer) is refused with
 * 23P01, a status update only applies while the status is still the one read, and the inbox sees each
 * event once. Locks are only recorded, in order, so tests can check which were taken.
 */
import { randomUUID } from 'node:crypto';
import type { Viewer } from '@carwash/service-trust';
import type { PeerUser } from '@carwash/subgraph-kit';
import { FakeEventStore, type FakeEventTables, type RecordedEvent as Recorded } from '@carwash/testing';
import { freeBay } from '../src/availability.js';
import type { PeerShift, PeerSite } from '../src/peers.js';
import {
  CANCELLABLE_BY_SYSTEM,
  LIVE,
  reservationCreated,
  type BayUse,
  type BookingStore,
  type HoldOutcome,
  type NewHold,
  type BookingStateQuery,
  type BookingTopic,
  type FutureScope,
  type History,
  type LapsedScope,
  type NewHistory,
  type NewReservation,
  type NewService,
  type Reservation,
  type ReservationStatus,
  type Service,
  type ServiceChanges,
  type Tx,
} from '../src/repository.js';
import type { LocationLookup, RequestDeps } from '../src/service.js';

/** An error carrying a PostgreSQL SQLSTATE, as the driver reports it. */
/** The booking settings the unit tests run with (the defaults of config.ts). */
export const SETTINGS = {
  BOOKING_HOLD_TTL_SECONDS: 600,
  BOOKING_BUFFER_MINUTES: 10,
  BOOKING_SLOT_STEP_MINUTES: 15,
  BOOKING_CANCEL_CUTOFF_MINUTES: 120,
  BOOKING_MAX_LIVE_HOLDS: 3,
};

/** A signed-in user of `role` (a fresh id unless given). */
export const viewer = (role: Viewer['role'], userId = randomUUID()): Viewer => ({
  userId,
  role,
  sessionId: randomUUID(),
});

/** The error code a call ends with ('OK' when it succeeds), whether it throws at once or rejects. */
export const codeOf = (run: () => Promise<unknown>) =>
  Promise.resolve()
    .then(run)
    .then(
      () => 'OK',
      (e: { extensions?: { code?: string }; message?: string }) => e.extensions?.code ?? e.message,
    );

export const pgError = (code: string) => Object.assign(new Error(`simulated ${code}`), { code });

export type RecordedEvent = Recorded<BookingTopic>;

interface State extends FakeEventTables<BookingTopic> {
  services: Service[];
  reservations: Reservation[];
  history: History[];
}

const clone = (s: State): State => ({
  services: s.services.map((x) => ({ ...x })),
  reservations: s.reservations.map((x) => ({ ...x })),
  history: s.history.map((x) => ({ ...x })),
  outbox: [...s.outbox],
  inbox: new Set(s.inbox),
});

const overlaps = (a: { startsAt: Date; blockedUntil: Date }, b: { startsAt: Date; blockedUntil: Date }) =>
  a.startsAt < b.blockedUntil && b.startsAt < a.blockedUntil;

export class FakeBookingStore extends FakeEventStore<BookingTopic> implements BookingStore {
  /** The history entry of a hold that lapsed: the system (no one) moved it from HELD to EXPIRED. */
  static readonly LAPSED_HOLD_ENTRY = {
    fromStatus: 'HELD',
    toStatus: 'EXPIRED',
    changedBy: null,
    reason: 'hold lapsed',
  } as const;

  private state: State = { services: [], reservations: [], history: [], outbox: [], inbox: new Set() };
  /** Locks taken, in order, as `site:<id>`, `customer:<id>` or `row:<id>`. */
  readonly locks: string[] = [];
  /** Committed transactions. */
  commits = 0;
  /** Called just before an insert, e.g. to let a rival booking in between the read and the write. */
  beforeInsert: ((attempt: number) => void) | null = null;
  /** Called before a status update; may throw (e.g. 23P01 from the washer constraint) or change the row. */
  beforeStatusUpdate: ((id: string, to: ReservationStatus) => void) | null = null;
  private inserts = 0;

  get services(): readonly Service[] {
    return this.state.services;
  }
  get reservations(): readonly Reservation[] {
    return this.state.reservations;
  }
  get history(): readonly History[] {
    return this.state.history;
  }
  get outbox(): readonly RecordedEvent[] {
    return this.state.outbox;
  }
  protected get eventTables(): State {
    return this.state;
  }

  historyOf(reservationId: string): History[] {
    return this.state.history.filter((h) => h.reservationId === reservationId);
  }
  eventsOf(reservationId: string): RecordedEvent[] {
    return this.state.outbox.filter((e) => e.aggregateId === reservationId);
  }
  find(id: string): Reservation | undefined {
    return this.state.reservations.find((r) => r.id === id);
  }

  /** Seeds a catalogue entry. */
  seedService(over: Partial<Service> = {}): Service {
    const now = new Date();
    const s: Service = {
      id: randomUUID(),
      name: 'Wash',
      description: null,
      durationMinutes: 30,
      priceCents: 1500,
      currency: 'EUR',
      active: true,
      isAddOn: false,
      createdAt: now,
      updatedAt: now,
      ...over,
    };
    this.state.services.push(s);
    return s;
  }

  /** Seeds a reservation as it would be in the database (no constraint check: tests state their world). */
  seedReservation(over: Partial<Reservation> & Pick<Reservation, 'siteId' | 'startsAt'>): Reservation {
    const now = new Date();
    const endsAt = over.endsAt ?? new Date(over.startsAt.getTime() + 30 * 60_000);
    const r: Reservation = {
      id: randomUUID(),
      customerId: randomUUID(),
      serviceId: randomUUID(),
      washerId: null,
      bay: 1,
      endsAt,
      blockedUntil: new Date(endsAt.getTime() + 10 * 60_000),
      status: 'CONFIRMED',
      holdExpiresAt: null,
      serviceName: 'Wash',
      priceCents: 1500,
      currency: 'EUR',
      createdBy: null,
      createdAt: now,
      updatedAt: now,
      ...over,
    };
    this.state.reservations.push(r);
    return r;
  }

  /** Rows committed by a concurrent writer while a transaction runs: they survive its rollback. */
  private readonly concurrent: Reservation[] = [];

  /** A reservation committed by another writer (e.g. a rival booking) in the middle of our transaction. */
  commitConcurrently(over: Partial<Reservation> & Pick<Reservation, 'siteId' | 'startsAt'>): Reservation {
    const r = this.seedReservation(over);
    this.concurrent.push(r);
    return r;
  }

  async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const before = clone(this.state);
    const concurrentBefore = this.concurrent.length;
    try {
      const out = await fn({} as Tx);
      this.commits++;
      return out;
    } catch (err) {
      this.state = before;
      this.state.reservations.push(...this.concurrent.slice(concurrentBefore).map((r) => ({ ...r })));
      throw err;
    }
  }

  async createService(data: NewService): Promise<Service> {
    return this.seedService(data);
  }

  async updateService(_tx: Tx, id: string, data: ServiceChanges): Promise<Service | null> {
    const s = this.state.services.find((x) => x.id === id);
    if (!s) return null;
    Object.assign(s, data, { updatedAt: new Date() });
    return { ...s };
  }

  async listServices(includeInactive: boolean): Promise<Service[]> {
    return this.state.services.filter((s) => includeInactive || s.active).map((s) => ({ ...s }));
  }

  async serviceById(id: string): Promise<Service | null> {
    const s = this.state.services.find((x) => x.id === id);
    return s ? { ...s } : null;
  }

  async servicesByIds(ids: readonly string[]): Promise<Service[]> {
    return this.state.services.filter((s) => ids.includes(s.id)).map((s) => ({ ...s }));
  }

  async reservationById(id: string): Promise<Reservation | null> {
    const r = this.find(id);
    return r ? { ...r } : null;
  }

  async siteOfReservation(_tx: Tx, id: string): Promise<string | null> {
    return this.find(id)?.siteId ?? null;
  }

  async busy(siteId: string, from: Date, to: Date): Promise<BayUse[]> {
    return this.state.reservations
      .filter(
        (r) => r.siteId === siteId && LIVE.includes(r.status) && r.startsAt < to && r.blockedUntil > from,
      )
      .map(({ bay, startsAt, blockedUntil, status, holdExpiresAt }) => ({
        bay,
        startsAt,
        blockedUntil,
        status,
        holdExpiresAt,
      }));
  }

  async liveHolds(_tx: Tx, customerId: string, now: Date): Promise<number> {
    return this.state.reservations.filter(
      (r) =>
        r.customerId === customerId &&
        r.status === 'HELD' &&
        r.holdExpiresAt !== null &&
        r.holdExpiresAt > now,
    ).length;
  }

  async lapsedHolds(_tx: Tx, scope: LapsedScope, now: Date, limit: number): Promise<Reservation[]> {
    return this.state.reservations
      .filter((r) => r.status === 'HELD' && r.holdExpiresAt !== null && r.holdExpiresAt <= now)
      .filter(
        (r) =>
          !scope ||
          (r.siteId === scope.siteId &&
            r.id !== scope.exceptId &&
            r.startsAt < scope.to &&
            r.blockedUntil > scope.from),
      )
      .slice(0, limit)
      .map((r) => ({ ...r }));
  }

  async liveFuture(_tx: Tx, scope: FutureScope, now: Date): Promise<Reservation[]> {
    return this.state.reservations
      .filter((r) => ('customerId' in scope ? r.customerId === scope.customerId : r.siteId === scope.siteId))
      .filter((r) => CANCELLABLE_BY_SYSTEM.includes(r.status) && r.startsAt > now)
      .map((r) => ({ ...r }));
  }

  async bookingState(
    _tx: Tx,
    { siteId, from, to, customerId, now }: BookingStateQuery,
  ): Promise<{ liveHolds: number; inUse: BayUse[] }> {
    return {
      liveHolds: customerId ? await this.liveHolds(_tx, customerId, now) : 0,
      inUse: await this.busy(siteId, from, to),
    };
  }

  /** The real one's semantics (booking_hold), made of the fake's own pieces, in one transaction. */
  async hold(data: NewHold): Promise<HoldOutcome> {
    const d = data.reservation;
    const capped = data.maxHolds !== null;
    return this.transaction(async (tx) => {
      await this.lockForBooking(tx, d.siteId, capped ? d.customerId : null);
      const state = await this.bookingState(tx, {
        siteId: d.siteId,
        from: d.startsAt,
        to: d.blockedUntil,
        customerId: capped ? d.customerId : null,
        now: data.now,
      });
      if (data.maxHolds !== null && state.liveHolds >= data.maxHolds) return { kind: 'limit' as const };
      const lapsed = state.inUse.some(
        (b) => b.status === 'HELD' && !!b.holdExpiresAt && b.holdExpiresAt <= data.now,
      );
      if (lapsed) return { kind: 'lapsed' as const };
      const bay = freeBay(state.inUse, data.bays, d.startsAt, d.blockedUntil);
      if (bay === null) return { kind: 'full' as const };
      return { kind: 'held' as const, reservation: await this.createReservation(tx, { ...d, bay }) };
    });
  }

  async lockForBooking(tx: Tx, siteId: string, customerId: string | null): Promise<void> {
    if (customerId) await this.lockCustomer(tx, customerId);
    await this.lockSite(tx, siteId);
  }

  async lockSite(_tx: Tx, siteId: string): Promise<void> {
    this.locks.push(`site:${siteId}`);
  }
  async lockCustomer(_tx: Tx, customerId: string): Promise<void> {
    this.locks.push(`customer:${customerId}`);
  }
  async lockReservation(_tx: Tx, id: string): Promise<void> {
    this.locks.push(`row:${id}`);
  }

  /** The exclusion constraints: one live reservation per bay, and per washer, at any moment (buffer included). */
  private checkExclusion(r: Reservation): void {
    if (!LIVE.includes(r.status)) return;
    for (const o of this.state.reservations) {
      if (o.id === r.id || !LIVE.includes(o.status) || !overlaps(o, r)) continue;
      if ((o.siteId === r.siteId && o.bay === r.bay) || (r.washerId && o.washerId === r.washerId))
        throw pgError('23P01');
    }
  }

  async createReservation(_tx: Tx, data: NewReservation): Promise<Reservation> {
    this.beforeInsert?.(this.inserts++);
    const { items: _items, ...row } = data;
    const now = new Date();
    const r: Reservation = {
      id: randomUUID(),
      washerId: null,
      status: 'HELD',
      createdAt: now,
      updatedAt: now,
      ...row,
    };
    this.checkExclusion(r);
    this.state.reservations.push(r);
    this.state.history.push({
      id: randomUUID(),
      reservationId: r.id,
      fromStatus: null,
      toStatus: 'HELD',
      changedBy: data.createdBy,
      reason: null,
      changedAt: now,
    });
    const created = reservationCreated(r.id, data);
    this.state.outbox.push({ topic: created.type, aggregateId: r.id, payload: created.payload });
    return { ...r };
  }

  async setStatusIfUnchanged(
    _tx: Tx,
    id: string,
    from: ReservationStatus,
    to: ReservationStatus,
  ): Promise<boolean> {
    this.beforeStatusUpdate?.(id, to);
    const r = this.find(id);
    if (!r || r.status !== from) return false;
    const next = { ...r, status: to, holdExpiresAt: to === 'HELD' ? r.holdExpiresAt : null };
    this.checkExclusion(next);
    Object.assign(r, next);
    return true;
  }

  async addHistory(_tx: Tx, row: NewHistory): Promise<void> {
    this.state.history.push({ id: randomUUID(), changedAt: new Date(), ...row });
  }

  async assignWasher(id: string, washerId: string): Promise<Reservation> {
    const r = this.find(id);
    if (!r) throw new Error('no such reservation');
    this.checkExclusion({ ...r, washerId });
    r.washerId = washerId;
    return { ...r };
  }

  async unassignWasherFromFuture(_tx: Tx, washerId: string, now: Date): Promise<void> {
    for (const r of this.state.reservations)
      if (r.washerId === washerId && r.startsAt > now && LIVE.includes(r.status)) r.washerId = null;
  }

  async unassignWasherAtSite(_tx: Tx, washerId: string, siteId: string, endedAt: Date): Promise<void> {
    for (const r of this.state.reservations)
      if (
        r.washerId === washerId &&
        r.siteId === siteId &&
        r.endsAt > endedAt &&
        CANCELLABLE_BY_SYSTEM.includes(r.status)
      )
        r.washerId = null;
  }
}

/** Location as booking sees it: one site per id, and washer shifts. */
export class FakeLocation implements LocationLookup {
  readonly sites = new Map<string, PeerSite>();
  readonly shiftsOf = new Map<string, PeerShift[]>();
  /** The [from, to) ranges asked for, per call. */
  readonly siteCalls: Array<{ id: string; from: Date; to: Date }> = [];

  async site(id: string, from: Date, to: Date): Promise<PeerSite | null> {
    this.siteCalls.push({ id, from, to });
    return this.sites.get(id) ?? null;
  }

  async shifts(userId: string): Promise<PeerShift[]> {
    return this.shiftsOf.get(userId) ?? [];
  }
}

/** Auth as createBooking sees it: a user check per id. */
export function fakeUsers(users: PeerUser[]): RequestDeps {
  const byId = new Map(users.map((u) => [u.id, u]));
  return { users: { load: async (id: string) => byId.get(id) ?? null }, requestId: 'unit-test' };
}
