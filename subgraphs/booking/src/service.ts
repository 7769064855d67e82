import { AppError, badInput } from '@carwash/errors';
import type { EventEnvelope } from '@carwash/events';
import type { Viewer } from '@carwash/service-trust';
import {
  connection,
  fields,
  Instant,
  isActiveUser,
  keysetCursor,
  pageSize,
  pgErrorCode,
  validate,
  z,
  type Connection,
  type PageArgs,
  type PageKey,
  type ParentPage,
  type PeerUser,
} from '@carwash/subgraph-kit';
import { freeBay, freeSlots, type Slot } from './availability.js';
import type { BookingConfig } from './config.js';
import { EvictedCache, type Span } from './evicted-cache.js';
import type { PeerSite, PeerShift } from './peers.js';
import { Turns } from './turns.js';
import {
  LIVE,
  type BayUse,
  type BookingStore,
  type CustomerPageQuery,
  type FutureScope,
  type LapsedScope,
  type Reservation,
  type ReservationStatus,
  type Service,
  type TransactionLimits,
  type Tx,
} from './repository.js';
import {
  canSee,
  canTransition,
  captureAction,
  holdCapApplies,
  id,
  isStaff,
  manualConfirmRefusal,
} from './rules.js';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The furthest any time zone is from UTC (UTC-12 … UTC+14): a local day lies within this of its UTC day. */
const MAX_UTC_OFFSET_MS = 14 * HOUR;
/** How far ahead bookings open. */
const BOOKING_HORIZON_MS = 365 * DAY;
/** Opening windows are fetched this far either side of a booking, enough for any window containing it. */
const OPENING_WINDOW_MARGIN_MS = DAY;
/**
 * createBooking asks location for whole blocks of this many UTC days, so the bookings of a site over a
 * week share one cached answer: a new day costs no peer call. Each site's blocks start on a day of its
 * own (`blockPhase`), so the sites of a busy instance do not all need their next block at once.
 */
const OPENING_WINDOW_BLOCK_MS = 7 * DAY;

/** Which UTC day of the week a site's blocks start on: 0–6 days after the epoch's, from its id (FNV-1a). */
function blockPhase(siteId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < siteId.length; i++) hash = Math.imul(hash ^ siteId.charCodeAt(i), 0x01000193);
  return ((hash >>> 0) % 7) * DAY;
}

/** The whole blocks of `siteId` that contain [from, to). */
export function openingWindowBlocks(siteId: string, from: number, to: number): { from: Date; to: Date } {
  const phase = blockPhase(siteId);
  const block = OPENING_WINDOW_BLOCK_MS;
  return {
    from: new Date(Math.floor((from - phase) / block) * block + phase),
    to: new Date(Math.ceil((to - phase) / block) * block + phase),
  };
}
/** Attempts at createBooking when a concurrent writer took the bay (23P01) or deadlocked with it (40P01). */
const MAX_BOOKING_ATTEMPTS = 3;
/** A rush on one site queues on its lock: transactions wait for a connection and run longer than the default. */
const BOOKING_TX_LIMITS: TransactionLimits = { maxWaitMs: 10 * SECOND, timeoutMs: 20 * SECOND };
/** Lapsed holds expired per statement (and per sweep transaction). */
const EXPIRY_BATCH = 500;
/** Longest reason the history keeps (the column and the GraphQL argument agree). */
const MAX_REASON_LENGTH = 500;
const MAX_DESCRIPTION_LENGTH = 1000;
const MIN_DURATION_MINUTES = 5;
const MAX_DURATION_MINUTES = 480;
const MAX_PRICE_CENTS = 10_000_000;
const MAX_ADD_ONS = 10;
/** `User.bookings` pages on (startsAt, id), latest start first. */
const BOOKINGS_CURSOR = keysetCursor('booking.customerBookings', 'time');

/** The request's batched reads the query side of the service goes through (its DataLoaders). */
export interface BookingReads {
  customerBookings: { load(key: PageKey<CustomerPageQuery>): Promise<ParentPage<Reservation>> };
}

const durationMessage = `durationMinutes must be between ${MIN_DURATION_MINUTES} and ${MAX_DURATION_MINUTES}`;
const serviceInput = z.object({
  name: fields.name('name'),
  description: z
    .string()
    .max(MAX_DESCRIPTION_LENGTH, `description must be at most ${MAX_DESCRIPTION_LENGTH} characters`)
    .trim()
    .nullish(),
  durationMinutes: z
    .number()
    .int()
    .min(MIN_DURATION_MINUTES, durationMessage)
    .max(MAX_DURATION_MINUTES, durationMessage),
  priceCents: z
    .number()
    .int()
    .min(0, 'priceCents must not be negative')
    .max(MAX_PRICE_CENTS, `priceCents must be at most ${MAX_PRICE_CENTS}`),
  currency: z.string().regex(/^[A-Z]{3}$/, 'currency must be an ISO 4217 code such as EUR'),
  isAddOn: z.boolean().nullish(),
});
const updateInput = serviceInput.omit({ isAddOn: true }).partial().extend({ active: z.boolean().nullish() });
const reasonText = z
  .string()
  .max(MAX_REASON_LENGTH, `reason must be at most ${MAX_REASON_LENGTH} characters`)
  .trim()
  .min(1, 'reason must not be empty');
const bookingInput = z.object({
  siteId: fields.uuid(),
  serviceId: fields.uuid(),
  startsAt: z.date(),
  addOnIds: z.array(fields.uuid()).max(MAX_ADD_ONS, `at most ${MAX_ADD_ONS} add-ons`).nullish(),
  customerId: fields.uuid().nullish(),
});

const isManager = isStaff;

type Settings = Pick<
  BookingConfig,
  | 'BOOKING_HOLD_TTL_SECONDS'
  | 'BOOKING_BUFFER_MINUTES'
  | 'BOOKING_SLOT_STEP_MINUTES'
  | 'BOOKING_CANCEL_CUTOFF_MINUTES'
  | 'BOOKING_MAX_LIVE_HOLDS'
>;

/** What booking asks of location (sites, opening windows, shifts); `LocationPeer` in production, a fake in unit tests. */
export interface LocationLookup {
  site(id: string, from: Date, to: Date, requestId?: string): Promise<PeerSite | null>;
  shifts(userId: string, requestId?: string): Promise<PeerShift[]>;
}

/**
 * A site-day's free slots for one service, as computed: the same for every caller (times and free bay
 * counts, nobody's booking), so one entry serves every user. Starts that have passed since are dropped
 * when read.
 */
export type CachedSlots = Slot[];

/** What a transaction changed of a site's bays: the span a reservation holds or stopped holding. */
interface BayChange {
  siteId: string;
  span: Span;
}

/** The span of time a reservation keeps its bay busy (the wash and its clean-up buffer). */
export function baySpan(r: { startsAt: Date; blockedUntil: Date }): Span {
  return { from: r.startsAt.getTime(), to: r.blockedUntil.getTime() };
}

/** Per-request dependencies of createBooking: the request's batched user checks (auth) and its id. */
export interface RequestDeps {
  users: { load(id: string): Promise<PeerUser | null> };
  requestId: string;
}

/** The booking feature's rules: catalogue, availability, holds and the reservation lifecycle. */
export class BookingService {
  /** This process's createBookings of one site take turns before they open a transaction (turns.ts). */
  private readonly siteTurns = new Turns();
  /** What each open transaction changed of its sites' bays, evicted from `slots` once it commits. */
  private readonly bayChanges = new WeakMap<Tx, BayChange[]>();

  /**
   * `slots` caches availableSlots per site, service and local date (off by default: unit tests build
   * the service without one). This process's own writes evict it right after they commit (see
   * {@link inTransaction}); other replicas' writes, through the bus (server.ts).
   */
  constructor(
    private readonly repo: BookingStore,
    private readonly location: LocationLookup,
    private readonly settings: Settings,
    private readonly slots: EvictedCache<CachedSlots> = new EvictedCache(0),
    /**
     * The catalogue rows availableSlots and createBooking read on every request, by id (off by default).
     * This process's updateService evicts its entry once it commits; other replicas', through the bus
     * (`booking.service.changed`, written in the update's transaction; server.ts).
     */
    private readonly services: EvictedCache<Service> = new EvictedCache(0),
  ) {}

  /** A catalogue row through the cache. Shared by every caller: read it, never change it. */
  private serviceRow(id: string): Promise<Service | null> {
    return this.services.get(id, 'row', () => this.repo.serviceById(id));
  }

  /**
   * `repo.transaction`, then — once it committed — the eviction of the free slots its writes changed.
   * After the commit, not before: a read between an early eviction and the commit would store the old
   * bays again; a read under way at the eviction is not stored (EvictedCache).
   */
  private async inTransaction<T>(fn: (tx: Tx) => Promise<T>, limits?: TransactionLimits): Promise<T> {
    const changes: BayChange[] = [];
    const result = await this.repo.transaction((tx) => {
      this.bayChanges.set(tx, changes);
      return fn(tx);
    }, limits);
    for (const c of changes) this.slots.evict(c.siteId, c.span);
    return result;
  }

  /** Notes, in `tx`, that a reservation started or stopped holding its bay. */
  private bayChanged(tx: Tx, r: { siteId: string; startsAt: Date; blockedUntil: Date }): void {
    this.bayChanges.get(tx)?.push({ siteId: r.siteId, span: baySpan(r) });
  }

  async createService(raw: unknown): Promise<Service> {
    const input = validate(serviceInput, raw, 'input');
    return this.repo.createService({
      ...input,
      description: input.description ?? null,
      isAddOn: input.isAddOn ?? false,
    });
  }

  async updateService(rawId: unknown, raw: unknown): Promise<Service> {
    const serviceId = id(rawId, 'id');
    const input = validate(updateInput, raw, 'input');
    const data = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined && v !== null));
    const updated = await this.repo.transaction(async (tx) => {
      const row = await this.repo.updateService(tx, serviceId, data);
      if (row) await this.repo.recordEvent(tx, 'booking.service.changed', serviceId, { serviceId });
      return row;
    });
    // After the commit (as inTransaction evicts the slots): a read between an earlier eviction and the
    // commit would store the old row again; a read under way now is not stored (EvictedCache).
    this.services.evict(serviceId);
    if (!updated) throw new AppError('NOT_FOUND', { message: 'No such service.', field: 'id' });
    return updated;
  }

  listServices(includeInactive: boolean): Promise<Service[]> {
    return this.repo.listServices(includeInactive);
  }

  /**
   * How long a cache in front (the gateway's) may keep `slots`, an availableSlots answer, in seconds:
   * as long as this process keeps its own computation, and never past the first start in it (a start
   * that has passed is no longer offered). 0: not to be kept.
   */
  slotsMaxAgeSeconds(slots: readonly Slot[], now = Date.now()): number {
    let keep = this.slots.ttlMs;
    for (const s of slots) keep = Math.min(keep, s.startsAt.getTime() - now);
    return Math.max(0, Math.floor(keep / 1000));
  }

  async availableSlots(
    rawSiteId: unknown,
    rawServiceId: unknown,
    date: string,
    requestId?: string,
  ): Promise<Slot[]> {
    const siteId = id(rawSiteId, 'siteId');
    const serviceId = id(rawServiceId, 'serviceId');
    const service = await this.serviceRow(serviceId);
    if (!service || !service.active || service.isAddOn)
      throw new AppError('BOOKING_SERVICE_UNAVAILABLE', { field: 'serviceId' });
    // Wide enough to contain the local day in any time zone; freeSlots keeps the starts on the local date.
    const dayUtc = Date.parse(`${date}T00:00:00Z`);
    const from = new Date(dayUtc - MAX_UTC_OFFSET_MS);
    const to = new Date(dayUtc + DAY + MAX_UTC_OFFSET_MS);
    const computed = await this.slots.get(
      siteId,
      `${serviceId}|${service.durationMinutes}|${date}`,
      async () => {
        const site = await this.location.site(siteId, from, to, requestId);
        if (!site || !site.active) throw new AppError('BOOKING_SITE_UNAVAILABLE', { field: 'siteId' });
        const busy = await this.repo.busy(siteId, from, to);
        const now = new Date();
        const slots = freeSlots({
          windows: site.openingWindows.map((w) => ({ start: new Date(w.start), end: new Date(w.end) })),
          // A booking whose buffer is already over cannot clash with a start still ahead.
          busy: busy.filter((b) => b.blockedUntil > now),
          bays: site.bays,
          durationMs: service.durationMinutes * MINUTE,
          bufferMs: this.settings.BOOKING_BUFFER_MINUTES * MINUTE,
          stepMs: this.settings.BOOKING_SLOT_STEP_MINUTES * MINUTE,
          now,
          timeZone: site.timeZone,
          date,
        });
        // Served to every caller until evicted: each instant's text is worked out once, not per answer.
        return slots.map((s) => ({ ...s, startsAt: new Instant(s.startsAt), endsAt: new Instant(s.endsAt) }));
      },
      // The span the bays were read over: a write overlapping it evicts this entry.
      { from: from.getTime(), to: to.getTime() },
    );
    // Computed earlier: drop the starts that have passed since. The rest is what a computation now
    // would give, since a busy bay whose buffer ended since only blocked starts that have passed too.
    const now = Date.now();
    return (computed ?? []).filter((s) => s.startsAt.getTime() > now);
  }

  /**
   * A HELD booking on the lowest free bay. References are checked through their owners first
   * (customer with auth, site and opening hours with location); the database then guarantees that
   * no bay is booked twice: a lost race surfaces as an exclusion violation, retried against fresh
   * data, and ends as BOOKING_SLOT_TAKEN when no bay is left. A customer booking for themselves
   * holds at most BOOKING_MAX_LIVE_HOLDS live holds: counted and added under a per-customer lock, so
   * concurrent requests cannot all pass the count (BOOKING_HOLD_LIMIT_REACHED).
   */
  async createBooking(viewer: Viewer, raw: unknown, deps: RequestDeps): Promise<Reservation> {
    const input = validate(bookingInput, raw, 'input');
    const now = new Date();
    if (input.startsAt <= now) throw badInput('input.startsAt', 'startsAt must be in the future');
    if (input.startsAt.getTime() > now.getTime() + BOOKING_HORIZON_MS)
      throw badInput('input.startsAt', 'bookings open at most a year ahead');
    let customerId = viewer.userId;
    if (input.customerId && input.customerId !== viewer.userId) {
      if (!isManager(viewer))
        throw new AppError('FORBIDDEN', {
          message: 'Only managers book for someone else.',
          field: 'input.customerId',
        });
      customerId = input.customerId;
    }
    if (viewer.role === 'WASHER' && customerId === viewer.userId)
      throw new AppError('FORBIDDEN', { message: 'Washers cannot book washes for themselves.' });

    const service = await this.serviceRow(input.serviceId);
    if (!service || !service.active || service.isAddOn)
      throw new AppError('BOOKING_SERVICE_UNAVAILABLE', { field: 'input.serviceId' });
    const addOnIds = [...new Set(input.addOnIds ?? [])];
    const addOns = addOnIds.length ? await this.repo.servicesByIds(addOnIds) : [];
    if (
      addOns.length !== addOnIds.length ||
      addOns.some((a) => !a.active || !a.isAddOn || a.currency !== service.currency)
    ) {
      throw new AppError('BOOKING_SERVICE_UNAVAILABLE', {
        message: 'An add-on is unknown, inactive, not an add-on, or priced in another currency.',
        field: 'input.addOnIds',
      });
    }

    const startsAt = input.startsAt;
    const endsAt = new Date(startsAt.getTime() + service.durationMinutes * MINUTE);
    const blockedUntil = new Date(endsAt.getTime() + this.settings.BOOKING_BUFFER_MINUTES * MINUTE);
    const blocks = openingWindowBlocks(
      input.siteId,
      startsAt.getTime() - OPENING_WINDOW_MARGIN_MS,
      endsAt.getTime() + OPENING_WINDOW_MARGIN_MS,
    );
    const [customer, site] = await Promise.all([
      deps.users.load(customerId),
      // Widened to whole blocks of the site's, so that the bookings of one week ask (and cache) one range.
      this.location.site(input.siteId, blocks.from, blocks.to, deps.requestId),
    ]);
    if (!isActiveUser(customer, ['CLIENT', 'MANAGER'])) {
      throw badInput('input.customerId', 'the customer must be an active client or manager');
    }
    if (!site || !site.active) throw new AppError('BOOKING_SITE_UNAVAILABLE', { field: 'input.siteId' });
    const fits = site.openingWindows.some((w) => new Date(w.start) <= startsAt && endsAt <= new Date(w.end));
    if (!fits) throw new AppError('BOOKING_OUTSIDE_OPENING_HOURS', { field: 'input.startsAt' });

    const priceCents = service.priceCents + addOns.reduce((sum, a) => sum + a.priceCents, 0);
    const capped = holdCapApplies(viewer, customerId);
    const maxHolds = this.settings.BOOKING_MAX_LIVE_HOLDS;
    const hold = {
      customerId,
      siteId: input.siteId,
      serviceId: service.id,
      startsAt,
      endsAt,
      blockedUntil,
      serviceName: service.name,
      priceCents,
      currency: service.currency,
      createdBy: viewer.userId,
      items: addOns.map((a) => ({
        serviceId: a.id,
        name: a.name,
        priceCents: a.priceCents,
        currency: a.currency,
      })),
    };
    const holdExpiresAt = () => new Date(Date.now() + this.settings.BOOKING_HOLD_TTL_SECONDS * SECOND);
    return this.siteTurns.run(input.siteId, async () => {
      for (let attempt = 0; attempt < MAX_BOOKING_ATTEMPTS; attempt++) {
        try {
          // The common case in one round trip: locks, count, bay and writes (repo.hold, the booking_hold
          // function). Only a lapsed hold in the way takes the path below, which expires it (recorded) first.
          const quick = await this.repo.hold({
            reservation: { ...hold, holdExpiresAt: holdExpiresAt() },
            bays: site.bays,
            maxHolds: capped ? maxHolds : null,
            now: new Date(),
          });
          if (quick.kind === 'held') {
            // Committed: evict the free slots of its span (as inTransaction does after its commit).
            this.slots.evict(input.siteId, baySpan(quick.reservation));
            return quick.reservation;
          }
          if (quick.kind === 'limit') throw this.holdLimit(maxHolds);
          if (quick.kind === 'full') throw new AppError('BOOKING_SLOT_TAKEN', { field: 'input.startsAt' });
          return await this.inTransaction(async (tx) => {
            // One customer's own bookings take turns, so the count sees every hold committed before it
            // (those staff made for them included); bookings of one site take turns too. Without the
            // site's, two inserts that both wait on the exclusion constraint for each other's overlapping
            // row deadlock (40P01): the bench saw ~10 % of concurrent bookings fail that way. The
            // constraint stays the guarantee; this is the queue. Both locks in one round trip, the
            // customer's first (always that order); then what is decided on, read in one more.
            await this.repo.lockForBooking(tx, input.siteId, capped ? customerId : null);
            const state = await this.repo.bookingState(tx, {
              siteId: input.siteId,
              from: startsAt,
              to: blockedUntil,
              customerId: capped ? customerId : null,
              now: new Date(),
            });
            if (capped && state.liveHolds >= maxHolds) throw this.holdLimit(maxHolds);
            // The bays in use; lapsed holds among them are expired (recorded) and free their bay.
            const inUse = state.inUse;
            const at = new Date();
            const lapsed = (b: BayUse) => b.status === 'HELD' && !!b.holdExpiresAt && b.holdExpiresAt <= at;
            if (inUse.some(lapsed))
              await this.expireLapsed(tx, { siteId: input.siteId, from: startsAt, to: blockedUntil }, at);
            const bay = freeBay(
              inUse.filter((b) => !lapsed(b)),
              site.bays,
              startsAt,
              blockedUntil,
            );
            if (bay === null) throw new AppError('BOOKING_SLOT_TAKEN', { field: 'input.startsAt' });
            const r = await this.repo.createReservation(tx, { ...hold, bay, holdExpiresAt: holdExpiresAt() });
            // Its `booking.reservation.created` event is written by the same statement.
            this.bayChanged(tx, r);
            return r;
          }, BOOKING_TX_LIMITS);
        } catch (err) {
          // Another booking took the bay between our read and insert (or a deadlock with a writer that
          // does not take the site lock, e.g. assignWasher): read again.
          const code = pgErrorCode(err);
          if (code === '23P01' || code === '40P01') continue;
          throw err;
        }
      }
      throw new AppError('BOOKING_SLOT_TAKEN', { field: 'input.startsAt' });
    });
  }

  private holdLimit(maxHolds: number): AppError {
    return new AppError('BOOKING_HOLD_LIMIT_REACHED', {
      message: `You already hold ${maxHolds} unpaid bookings, the most allowed: pay for or cancel one first.`,
    });
  }

  /**
   * HELD → CONFIRMED by hand: staff confirming someone else's booking without card payment (paid at
   * the site), with a reason that the history keeps next to who did it. Payment confirms a hold
   * through the bus (handleChargeCaptured); a client asking gets BOOKING_PAYMENT_REQUIRED.
   */
  confirm(viewer: Viewer, rawId: unknown, rawReason: unknown): Promise<Reservation> {
    const reason = rawReason == null ? null : validate(reasonText, rawReason, 'reason');
    return this.transition(viewer, rawId, 'CONFIRMED', reason, (r) => {
      const refusal = manualConfirmRefusal(viewer, r, reason);
      if (refusal === 'PAYMENT_REQUIRED') throw new AppError('BOOKING_PAYMENT_REQUIRED');
      if (refusal === 'FORBIDDEN')
        throw new AppError('FORBIDDEN', {
          message: 'Only managers and admins confirm a booking without its payment.',
        });
      if (refusal === 'REASON_REQUIRED')
        throw badInput('reason', 'give a reason when confirming without payment, e.g. paid at the site');
      if (r.holdExpiresAt && r.holdExpiresAt <= new Date()) return 'lapsed';
      return 'ok';
    });
  }

  start(viewer: Viewer, rawId: unknown): Promise<Reservation> {
    return this.transition(viewer, rawId, 'IN_PROGRESS', null, (r) => this.washerOrManager(viewer, r));
  }

  complete(viewer: Viewer, rawId: unknown): Promise<Reservation> {
    return this.transition(viewer, rawId, 'COMPLETED', null, (r) => this.washerOrManager(viewer, r));
  }

  markNoShow(viewer: Viewer, rawId: unknown): Promise<Reservation> {
    return this.transition(viewer, rawId, 'NO_SHOW', null, (r) => {
      this.washerOrManager(viewer, r);
      if (r.startsAt > new Date())
        throw new AppError('BOOKING_ILLEGAL_TRANSITION', {
          message: 'A no-show can only be recorded after the start.',
          extensions: { from: r.status, to: 'NO_SHOW' },
        });
      return 'ok';
    });
  }

  cancel(viewer: Viewer, rawId: unknown, rawReason: unknown): Promise<Reservation> {
    const manager = isManager(viewer);
    const reason = rawReason == null ? null : validate(reasonText, rawReason, 'reason');
    if (manager && !reason) throw badInput('reason', 'managers give a reason when cancelling');
    return this.transition(viewer, rawId, 'CANCELLED', reason ?? 'cancelled by the customer', (r) => {
      if (manager) return 'ok';
      if (viewer.userId !== r.customerId) throw new AppError('FORBIDDEN');
      if (r.status === 'IN_PROGRESS')
        throw new AppError('BOOKING_ILLEGAL_TRANSITION', { extensions: { from: r.status, to: 'CANCELLED' } });
      if (Date.now() > r.startsAt.getTime() - this.settings.BOOKING_CANCEL_CUTOFF_MINUTES * MINUTE)
        throw new AppError('BOOKING_CANCELLATION_TOO_LATE');
      return 'ok';
    });
  }

  /** The washer must be on shift at the site for the whole booking (asked of location); the database refuses a double-booked washer. */
  async assignWasher(
    viewer: Viewer,
    rawId: unknown,
    rawWasherId: unknown,
    requestId?: string,
  ): Promise<Reservation> {
    const bookingId = id(rawId, 'id');
    const washerId = id(rawWasherId, 'washerId');
    const r = await this.repo.reservationById(bookingId);
    if (!r) throw new AppError('NOT_FOUND', { message: 'No such booking.', field: 'id' });
    if (!LIVE.includes(r.status) || r.status === 'IN_PROGRESS')
      throw new AppError('BOOKING_ILLEGAL_TRANSITION', {
        message: 'Only held or confirmed bookings get a washer.',
        extensions: { from: r.status, to: r.status },
      });
    const shifts = await this.location.shifts(washerId, requestId);
    const onShift = shifts.some(
      (s) =>
        s.site.id === r.siteId &&
        !s.endedAt &&
        new Date(s.startsAt) <= r.startsAt &&
        r.endsAt <= new Date(s.endsAt),
    );
    if (!onShift) throw new AppError('BOOKING_WASHER_NOT_ASSIGNED', { field: 'washerId' });
    try {
      return await this.repo.assignWasher(bookingId, washerId);
    } catch (err) {
      if (pgErrorCode(err) === '23P01') throw new AppError('BOOKING_WASHER_BUSY', { field: 'washerId' });
      throw err;
    }
  }

  private washerOrManager(viewer: Viewer, r: Reservation): 'ok' {
    if (!isManager(viewer) && viewer.userId !== r.washerId)
      throw new AppError('FORBIDDEN', { message: 'Only the assigned washer or a manager can do this.' });
    return 'ok';
  }

  /**
   * One status change: checked against NEXT and the actor rule, applied only if the status is still
   * what was read (so two concurrent changes cannot both win), recorded in history and announced.
   * When the actor rule answers `lapsed` (a hold confirmed after its expiry), the hold is expired
   * instead — committed — and the caller gets BOOKING_HOLD_EXPIRED.
   */
  private async transition(
    viewer: Viewer,
    rawId: unknown,
    to: ReservationStatus,
    reason: string | null,
    allowed: (r: Reservation) => 'ok' | 'lapsed',
  ): Promise<Reservation> {
    const bookingId = id(rawId, 'id');
    const outcome = await this.inTransaction(async (tx) => {
      const r = await this.repo.reservationById(bookingId, tx);
      if (!r || !canSee(viewer, r))
        throw new AppError('NOT_FOUND', { message: 'No such booking.', field: 'id' });
      if (!canTransition(r.status, to))
        throw new AppError('BOOKING_ILLEGAL_TRANSITION', {
          message: `A ${r.status.toLowerCase()} booking cannot become ${to.toLowerCase()}.`,
          extensions: { from: r.status, to },
        });
      if (allowed(r) === 'lapsed') {
        await this.changeStatus(tx, r, 'EXPIRED', null, 'hold lapsed');
        return 'lapsed' as const;
      }
      return this.changeStatus(tx, r, to, viewer.userId, reason);
    });
    if (outcome === 'lapsed') throw new AppError('BOOKING_HOLD_EXPIRED');
    return outcome;
  }

  /** `revive` lets a lapsed hold become CONFIRMED when its payment arrives late (see handleChargeCaptured). */
  private async changeStatus(
    tx: Tx,
    r: Reservation,
    to: ReservationStatus,
    by: string | null,
    reason: string | null,
    revive = false,
  ): Promise<Reservation> {
    if (!canTransition(r.status, to, revive))
      throw new AppError('BOOKING_ILLEGAL_TRANSITION', { extensions: { from: r.status, to } });
    if (!(await this.repo.setStatusIfUnchanged(tx, r.id, r.status, to))) {
      throw new AppError('BOOKING_ILLEGAL_TRANSITION', {
        message: 'The booking changed meanwhile; reload it.',
        extensions: { from: r.status, to },
      });
    }
    await this.repo.addHistory(tx, {
      reservationId: r.id,
      fromStatus: r.status,
      toStatus: to,
      changedBy: by,
      reason,
    });
    // Only a change between a live status and another frees or takes the bay (HELD → CONFIRMED does not).
    if (LIVE.includes(r.status) !== LIVE.includes(to)) this.bayChanged(tx, r);
    await this.repo.recordEvent(tx, 'booking.reservation.statusChanged', r.id, {
      reservationId: r.id,
      from: r.status,
      to,
      changedBy: by,
      siteId: r.siteId,
      startsAt: r.startsAt.toISOString(),
      blockedUntil: r.blockedUntil.toISOString(),
    });
    if (to === 'CANCELLED') {
      await this.repo.recordEvent(tx, 'booking.reservation.cancelled', r.id, {
        reservationId: r.id,
        customerId: r.customerId,
        cancelledBy: by,
        reason: reason ?? 'cancelled',
        startsAt: r.startsAt.toISOString(),
      });
    }
    return { ...r, status: to, holdExpiresAt: to === 'HELD' ? r.holdExpiresAt : null };
  }

  /** Lapsed holds become EXPIRED (with history and an event), so they stop blocking the bay. At most EXPIRY_BATCH per call. */
  private async expireLapsed(tx: Tx, scope: LapsedScope, now = new Date()): Promise<number> {
    const lapsed = await this.repo.lapsedHolds(tx, scope, now, EXPIRY_BATCH);
    for (const r of lapsed) await this.changeStatus(tx, r, 'EXPIRED', null, 'hold lapsed');
    return lapsed.length;
  }

  /** The periodic sweep (main.ts): every lapsed hold, one batch per transaction until a batch comes back short. */
  async expireLapsedHolds(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.inTransaction((tx) => this.expireLapsed(tx, null));
      total += n;
      if (n < EXPIRY_BATCH) return total;
    }
  }

  /** Cancels the live (held or confirmed) future bookings of a customer or a site, as the system, with a reason. */
  private async cancelFuture(tx: Tx, scope: FutureScope, reason: string): Promise<number> {
    const rows = await this.repo.liveFuture(tx, scope, new Date());
    for (const r of rows) await this.changeStatus(tx, r, 'CANCELLED', null, reason);
    return rows.length;
  }

  async handleUserDeleted(event: EventEnvelope<'auth.user.deleted'>): Promise<void> {
    await this.inTransaction(async (tx) => {
      if (!(await this.repo.firstTime(tx, event))) return;
      await this.cancelFuture(tx, { customerId: event.payload.userId }, 'customer account deleted');
      await this.repo.unassignWasherFromFuture(tx, event.payload.userId, new Date());
    });
  }

  /**
   * `payment.charge.captured`: the hold becomes CONFIRMED (by the system, reason `paid`). A payment
   * that arrives after the hold lapsed revives the booking when its bay is still free; when the bay is
   * gone (taken meanwhile, or its time has passed) or the booking was cancelled meanwhile, the booking
   * is announced as cancelled by the system, so that the payment feature refunds the charge in full.
   * Nobody keeps money for a wash they cannot have.
   *
   * The inbox row, the decision and its effect (confirmation, or history row + cancellation event)
   * commit in ONE transaction, so each captured event has its effect exactly once: a redelivery finds
   * the inbox row and changes nothing, and a refund can never be lost between two transactions.
   */
  async handleChargeCaptured(event: EventEnvelope<'payment.charge.captured'>): Promise<void> {
    try {
      await this.inTransaction((tx) => this.applyCapture(tx, event, true));
    } catch (err) {
      // The revival hit an exclusion constraint after all (a writer that does not take the site lock,
      // e.g. the washer's other job): everything rolled back, the inbox row too. Apply it again
      // without reviving, which announces the refund.
      if (pgErrorCode(err) !== '23P01') throw err;
      await this.inTransaction((tx) => this.applyCapture(tx, event, false));
    }
  }

  private async applyCapture(
    tx: Tx,
    event: EventEnvelope<'payment.charge.captured'>,
    mayRevive: boolean,
  ): Promise<void> {
    if (!(await this.repo.firstTime(tx, event))) return;
    const bookingId = event.payload.reservationId;
    const siteId = await this.repo.siteOfReservation(tx, bookingId);
    if (!siteId) return;
    // Same lock order as createBooking (site, then rows): a revival competes for the bay like a new booking.
    await this.repo.lockSite(tx, siteId);
    // Lock the row so a concurrent cancellation or expiry waits for this decision instead of racing it.
    await this.repo.lockReservation(tx, bookingId);
    const r = await this.repo.reservationById(bookingId, tx);
    if (!r) throw new Error(`booking ${bookingId} vanished under its row lock`); // reservations are never deleted
    const now = new Date();
    let action = captureAction(r, now);
    if (action === 'revive') {
      await this.expireLapsed(tx, { siteId: r.siteId, from: r.startsAt, to: r.blockedUntil, exceptId: r.id });
      const taken =
        mayRevive &&
        (await this.repo.busy(r.siteId, r.startsAt, r.blockedUntil, tx)).some((b) => b.bay === r.bay);
      action = mayRevive && !taken ? 'revive' : 'refund';
    }
    if (action === 'confirm') await this.changeStatus(tx, r, 'CONFIRMED', null, 'paid');
    else if (action === 'revive')
      await this.changeStatus(tx, r, 'CONFIRMED', null, 'paid after the hold lapsed', true);
    else if (action === 'refund') {
      const why =
        r.status === 'CANCELLED'
          ? 'paid after the booking was cancelled'
          : 'paid after the hold lapsed and the slot was gone';
      await this.repo.addHistory(tx, {
        reservationId: r.id,
        fromStatus: r.status,
        toStatus: r.status,
        changedBy: null,
        reason: `${why}: the charge is refunded`,
      });
      // cancelledBy null: a cancellation by the system, which payment refunds in full.
      await this.repo.recordEvent(tx, 'booking.reservation.cancelled', r.id, {
        reservationId: r.id,
        customerId: r.customerId,
        cancelledBy: null,
        reason: why,
        startsAt: r.startsAt.toISOString(),
      });
    }
  }

  /**
   * `location.site.closed`: the site's live future bookings are cancelled by the system (payment refunds
   * them). As before this refactor, every future booking of the site is cancelled: the closure's
   * `from`/`to` are not applied.
   */
  async handleSiteClosed(event: EventEnvelope<'location.site.closed'>): Promise<void> {
    await this.inTransaction(async (tx) => {
      if (!(await this.repo.firstTime(tx, event))) return;
      await this.cancelFuture(
        tx,
        { siteId: event.payload.siteId },
        `site closed: ${event.payload.reason}`.slice(0, MAX_REASON_LENGTH),
      );
    });
  }

  async handleStaffUnassigned(event: EventEnvelope<'location.staff.unassigned'>): Promise<void> {
    await this.inTransaction(async (tx) => {
      if (!(await this.repo.firstTime(tx, event))) return;
      const { userId, siteId, endedAt } = event.payload;
      await this.repo.unassignWasherAtSite(tx, userId, siteId, new Date(endedAt));
    });
  }

  /**
   * `User.bookings`: one page of the user's bookings, latest start first. Read through the request's
   * loader, so the bookings of every user in a response cost one statement.
   */
  async bookingsOf(
    reads: BookingReads,
    userId: string,
    args: PageArgs & { status?: ReservationStatus[] | null },
  ): Promise<Connection<Reservation>> {
    const first = pageSize(args.first);
    const after = BOOKINGS_CURSOR.decode(args.after) ?? null;
    // Sorted and distinct: the same filter spelled twice shares one batch.
    const statuses = args.status?.length ? [...new Set(args.status)].sort() : null;
    const page = await reads.customerBookings.load({
      parentId: userId,
      args: { statuses, after, limit: first + 1 },
    });
    return connection(page.rows, first, page.totalCount, (r) =>
      BOOKINGS_CURSOR.encode({ key: r.startsAt, id: r.id }),
    );
  }
}
