import { AppError, badInput } from '@carwash/errors';
import type { EventEnvelope } from '@carwash/events';
import type { Viewer } from '@carwash/service-trust';
import {
  connection,
  fields,
  isActiveUser,
  keysetCursor,
  offsetCursor,
  pageSize,
  pgErrorCode,
  validate,
  z,
  type Connection,
  type PageArgs,
  type PeerUser,
} from '@carwash/subgraph-kit';
import { greatCircleKm, type Point } from './geo.js';
import {
  assertTimeZone,
  DAY_MS,
  isOpen,
  openingWindows,
  validateException,
  validateWeekly,
  type HoursException,
  type InstantWindow,
  type Schedule,
} from './hours.js';
import type {
  AssignmentScope,
  ExceptionRow,
  LocationRepository,
  OperatingHours,
  StaffAssignment,
  Tx,
  WashSite,
} from './repository.js';
import { isoDate, toSchedule, weekdayName, weekdayNumber, type WeekdayName } from './schedule.js';

const address = z.object({
  line1: z.string().max(200, 'line1 must be at most 200 characters').trim().min(1, 'line1 must not be empty'),
  line2: z.string().max(200, 'line2 must be at most 200 characters').trim().nullish(),
  city: fields.name('city'),
  postalCode: z
    .string()
    .max(20, 'postalCode must be at most 20 characters')
    .trim()
    .min(1, 'postalCode must not be empty'),
  region: z.string().max(100, 'region must be at most 100 characters').trim().nullish(),
  country: z
    .string()
    .max(2)
    .regex(/^[A-Z]{2}$/, 'country must be an ISO 3166-1 alpha-2 code such as DE'),
});
const point = z.object({
  latitude: z
    .number()
    .min(-90, 'latitude must be between -90 and 90')
    .max(90, 'latitude must be between -90 and 90'),
  longitude: z
    .number()
    .min(-180, 'longitude must be between -180 and 180')
    .max(180, 'longitude must be between -180 and 180'),
});
const bays = z.number().int().min(1, 'bays must be at least 1').max(100, 'bays must be at most 100');
const siteInput = z.object({
  name: fields.name('name'),
  address,
  timeZone: z.string(),
  location: point,
  bays,
});
/** The site columns a validated address fills (an absent second line or region is stored as null). */
function addressColumns(a: z.infer<typeof address>) {
  return {
    addressLine1: a.line1,
    addressLine2: a.line2 ?? null,
    city: a.city,
    postalCode: a.postalCode,
    region: a.region ?? null,
    country: a.country,
  };
}
const reason = z
  .string()
  .max(200, 'reason must be at most 200 characters')
  .trim()
  .min(1, 'reason must not be empty');
const MAX_SHIFT_MS = DAY_MS;
/** How far ahead `WashSite.exceptions` looks when the caller gives no end date. */
const EXCEPTIONS_DEFAULT_DAYS = 90;
/** `sites` without `near` pages on (name, id): keyset, so a site added meanwhile neither repeats nor skips one. */
const SITES_BY_NAME_CURSOR = keysetCursor('location.sitesByName', 'text');
/**
 * `sites(near:)` pages by offset: its order is the distance from a point given per request, which no
 * stored column holds, so there is no key to resume after. Sites are added rarely, and an offset then
 * at worst shows one site twice or skips one between two pages; a keyset on a computed distance would
 * need the float in the cursor and misorder ties on rounding.
 */
const SITES_NEAR_CURSOR = offsetCursor('location.sitesNear');
/** Half the earth's circumference: no two points are further apart. */
const MAX_RADIUS_KM = 20_000;

/** A UUID argument, or BAD_USER_INPUT naming it. */
function id(value: unknown, field: string): string {
  return validate(fields.uuid(), value, field);
}

/** What the service needs of the repository: its public methods (so unit tests can hand in a fake). */
export type LocationStore = Pick<LocationRepository, keyof LocationRepository>;

/** A batched, per-request read (a DataLoader, or a fake in unit tests). */
export interface Load<K, V> {
  load(key: K): Promise<V>;
}

/** The per-request reads the query side of the service goes through, so a page of sites costs one statement per kind. */
export interface SiteReads {
  site: Load<string, WashSite | null>;
  hours: Load<string, OperatingHours[]>;
}

/** The roles a site shift may be given to. */
const SHIFT_ROLES = ['WASHER', 'MANAGER'] as const;

/** Who a user is, asked of the auth feature (batched per request). */
export type UserLookup = (userId: string) => Promise<PeerUser | null>;

/** The location feature's rules: sites, their hours, staff shifts. */
export class LocationService {
  constructor(private readonly repo: LocationStore) {}

  private async activeSite(tx: Tx, siteId: string): Promise<WashSite> {
    const site = await this.repo.siteById(tx, siteId);
    if (!site) throw new AppError('NOT_FOUND', { message: 'No such site.', field: 'siteId' });
    if (!site.active) throw new AppError('LOCATION_SITE_CLOSED', { field: 'siteId' });
    return site;
  }

  async createSite(raw: unknown): Promise<WashSite> {
    const input = validate(siteInput, raw, 'input');
    const timeZone = assertTimeZone(input.timeZone, 'input.timeZone');
    return this.repo.createSite({
      name: input.name,
      ...addressColumns(input.address),
      timeZone,
      latitude: input.location.latitude,
      longitude: input.location.longitude,
      bays: input.bays,
    });
  }

  async updateSite(rawId: unknown, raw: unknown): Promise<WashSite> {
    const siteId = id(rawId, 'id');
    const input = validate(siteInput.partial(), raw, 'input');
    const timeZone =
      input.timeZone === undefined ? undefined : assertTimeZone(input.timeZone, 'input.timeZone');
    return this.repo.transaction(async (tx) => {
      await this.activeSite(tx, siteId);
      await this.repo.recordEvent(tx, 'location.site.changed', siteId, { siteId });
      return this.repo.updateSite(tx, siteId, {
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.address ? addressColumns(input.address) : {}),
        ...(timeZone ? { timeZone } : {}),
        ...(input.location ? { latitude: input.location.latitude, longitude: input.location.longitude } : {}),
        ...(input.bays !== undefined ? { bays: input.bays } : {}),
      });
    });
  }

  /**
   * Closes a site for good: inactive, its shifts from now on end, and `location.site.closed` (plus
   * `location.staff.unassigned` per ended shift) goes to the outbox in the same transaction.
   */
  async closeSite(rawId: unknown, rawReason: unknown): Promise<WashSite> {
    const siteId = id(rawId, 'id');
    const why = validate(reason, rawReason, 'reason');
    return this.repo.transaction(async (tx) => {
      await this.activeSite(tx, siteId);
      const now = new Date();
      const site = await this.repo.closeSite(tx, siteId, now, why);
      await this.repo.recordEvent(tx, 'location.site.closed', siteId, {
        siteId,
        from: now.toISOString(),
        to: null,
        reason: why,
      });
      await this.endShifts(tx, { siteId }, 'site_closed', now);
      return site;
    });
  }

  async setWeeklyHours(
    rawSiteId: unknown,
    hours: Array<{ weekday: WeekdayName; opensAt: string; closesAt: string }>,
  ): Promise<WashSite> {
    const siteId = id(rawSiteId, 'siteId');
    const windows = validateWeekly(
      hours.map((h) => ({ weekday: weekdayNumber(h.weekday), opensAt: h.opensAt, closesAt: h.closesAt })),
      'hours',
    );
    return this.repo.transaction(async (tx) => {
      const site = await this.activeSite(tx, siteId);
      await this.repo.replaceWeeklyHours(tx, siteId, windows);
      await this.repo.recordEvent(tx, 'location.site.changed', siteId, { siteId });
      return site;
    });
  }

  async setHoursException(
    rawSiteId: unknown,
    raw: {
      date: string;
      closed: boolean;
      reason?: string | null;
      windows?: Array<{ opensAt: string; closesAt: string }> | null;
    },
  ): Promise<WashSite> {
    const siteId = id(rawSiteId, 'siteId');
    const ex: HoursException = validateException(
      { date: raw.date, closed: raw.closed, reason: raw.reason?.trim() || null, windows: raw.windows ?? [] },
      'exception',
    );
    const date = new Date(`${ex.date}T00:00:00Z`);
    const rows: ExceptionRow[] = ex.closed
      ? [{ closed: true, reason: ex.reason }]
      : ex.windows.map((w) => ({ opensAt: w.opensAt, closesAt: w.closesAt, reason: ex.reason }));
    return this.repo.transaction(async (tx) => {
      const site = await this.activeSite(tx, siteId);
      await this.repo.replaceException(tx, siteId, date, rows);
      await this.repo.recordEvent(tx, 'location.site.changed', siteId, { siteId });
      return site;
    });
  }

  async removeHoursException(rawSiteId: unknown, date: string): Promise<WashSite> {
    const siteId = id(rawSiteId, 'siteId');
    return this.repo.transaction(async (tx) => {
      const site = await this.activeSite(tx, siteId);
      await this.repo.removeException(tx, siteId, new Date(`${date}T00:00:00Z`));
      await this.repo.recordEvent(tx, 'location.site.changed', siteId, { siteId });
      return site;
    });
  }

  /**
   * The seed's app-level reference check: the user must exist in the auth feature and be a WASHER or
   * MANAGER (asked through auth's API, batched per request). The database refuses overlapping shifts
   * of one person, whatever races happen above it.
   */
  async assignStaff(
    viewer: Viewer,
    rawSiteId: unknown,
    rawUserId: unknown,
    shift: { startsAt: Date; endsAt: Date },
    lookupUser: UserLookup,
  ): Promise<StaffAssignment> {
    const siteId = id(rawSiteId, 'siteId');
    const userId = id(rawUserId, 'userId');
    if (shift.endsAt <= shift.startsAt) throw badInput('shift.endsAt', 'a shift must end after it starts');
    if (shift.endsAt.getTime() - shift.startsAt.getTime() > MAX_SHIFT_MS)
      throw badInput('shift.endsAt', 'a shift lasts at most 24 hours');
    if (shift.endsAt <= new Date()) throw badInput('shift.endsAt', 'the shift is already over');
    const user = await lookupUser(userId);
    if (!isActiveUser(user)) throw new AppError('NOT_FOUND', { message: 'No such user.', field: 'userId' });
    if (!isActiveUser(user, SHIFT_ROLES))
      throw badInput('userId', 'only washers and managers can be assigned to a site');
    try {
      return await this.repo.transaction(async (tx) => {
        await this.activeSite(tx, siteId);
        return this.repo.createAssignment(tx, {
          siteId,
          userId,
          role: user.role,
          startsAt: shift.startsAt,
          endsAt: shift.endsAt,
          createdBy: viewer.userId,
        });
      });
    } catch (err) {
      if (pgErrorCode(err) === '23P01') throw new AppError('LOCATION_SHIFT_OVERLAP', { field: 'shift' });
      throw err;
    }
  }

  async unassignStaff(rawAssignmentId: unknown, rawReason: unknown): Promise<StaffAssignment> {
    const assignmentId = id(rawAssignmentId, 'assignmentId');
    const why = rawReason == null ? 'unassigned' : validate(reason, rawReason, 'reason');
    return this.repo.transaction(async (tx) => {
      const found = await this.repo.assignmentById(tx, assignmentId);
      if (!found) throw new AppError('NOT_FOUND', { message: 'No such assignment.', field: 'assignmentId' });
      if (found.endedAt) return found;
      const [ended] = await this.endShifts(tx, { id: assignmentId }, why, new Date());
      return ended ?? found;
    });
  }

  /** `auth.user.deleted`: the user's current and future shifts end. Idempotent through the inbox. */
  async handleUserDeleted(event: EventEnvelope<'auth.user.deleted'>): Promise<void> {
    await this.repo.transaction(async (tx) => {
      if (!(await this.repo.firstTime(tx, event))) return;
      await this.endShifts(tx, { userId: event.payload.userId }, 'user_deleted', new Date());
    });
  }

  /** Ends the matching shifts that are not over yet and announces each one. */
  private async endShifts(
    tx: Tx,
    scope: AssignmentScope,
    why: string,
    now: Date,
  ): Promise<StaffAssignment[]> {
    const open = await this.repo.openAssignments(tx, scope, now);
    const ended: StaffAssignment[] = [];
    for (const a of open) {
      ended.push(await this.repo.endAssignment(tx, a.id, now, why));
      await this.repo.recordEvent(tx, 'location.staff.unassigned', a.id, {
        assignmentId: a.id,
        siteId: a.siteId,
        userId: a.userId,
        endedAt: now.toISOString(),
      });
    }
    return ended;
  }

  async listSites(
    args: PageArgs & { active?: boolean | null; near?: Point | null; radiusKm?: number | null },
  ): Promise<Connection<WashSite>> {
    const first = pageSize(args.first);
    const near = args.near ? validate(point, args.near, 'near') : undefined;
    if (args.radiusKm != null && (!near || !(args.radiusKm > 0) || args.radiusKm > MAX_RADIUS_KM))
      throw badInput('radiusKm', `radiusKm needs \`near\` and must be between 0 and ${MAX_RADIUS_KM}`);
    const active = args.active ?? undefined;
    if (!near) {
      const after = SITES_BY_NAME_CURSOR.decode(args.after);
      const page = await this.repo.listSites({ limit: first + 1, active, after });
      return connection(page.sites, first, page.total, (s) =>
        SITES_BY_NAME_CURSOR.encode({ key: s.name, id: s.id }),
      );
    }
    const offset = SITES_NEAR_CURSOR.decode(args.after);
    const radiusKm = args.radiusKm ?? undefined;
    const page = await this.repo.listSites({ limit: first + 1, active, near, radiusKm, offset });
    return connection(page.sites, first, page.total, (_s, i) => SITES_NEAR_CURSOR.encode(offset + i + 1));
  }

  /** `WashSite.distanceKm`: great-circle kilometres from `from` (a malformed point is BAD_USER_INPUT). */
  distanceKm(site: WashSite, from: Point): number {
    return greatCircleKm(validate(point, from, 'from'), site);
  }

  /** One site by id, or null (a malformed id is BAD_USER_INPUT naming `field`). */
  site(reads: SiteReads, rawId: unknown, field = 'id'): Promise<WashSite | null> {
    return reads.site.load(id(rawId, field));
  }

  /** Whether the site is open at `at`; NOT_FOUND for an unknown site. */
  async isOpen(reads: SiteReads, rawSiteId: unknown, at: Date): Promise<boolean> {
    return this.siteIsOpen(reads, await this.existingSite(reads, rawSiteId), at);
  }

  /** The site's opening windows between two instants; NOT_FOUND for an unknown site. */
  async openingWindows(reads: SiteReads, rawSiteId: unknown, from: Date, to: Date): Promise<InstantWindow[]> {
    return this.siteWindows(reads, await this.existingSite(reads, rawSiteId), from, to);
  }

  async siteIsOpen(reads: SiteReads, site: WashSite, at: Date): Promise<boolean> {
    return isOpen(await this.schedule(reads, site), at);
  }

  async siteWindows(reads: SiteReads, site: WashSite, from: Date, to: Date): Promise<InstantWindow[]> {
    return openingWindows(await this.schedule(reads, site), from, to);
  }

  /** The site's weekly hours, Monday first as stored. */
  async weeklyHours(
    reads: SiteReads,
    site: WashSite,
  ): Promise<Array<{ weekday: WeekdayName; opensAt: string; closesAt: string }>> {
    // Weekly rows (weekday set) always carry both times: setWeeklyHours writes no other kind.
    return (await reads.hours.load(site.id))
      .filter((h) => h.weekday !== null)
      .map((h) => ({ weekday: weekdayName(h.weekday!), opensAt: h.opensAt!, closesAt: h.closesAt! }));
  }

  /** Dated exceptions between two local dates (default: today to EXCEPTIONS_DEFAULT_DAYS ahead), in date order. */
  async exceptions(
    reads: SiteReads,
    site: WashSite,
    range: { from?: string | null; to?: string | null },
    now = new Date(),
  ): Promise<HoursException[]> {
    const from = range.from ?? isoDate(now);
    const to = range.to ?? isoDate(new Date(now.getTime() + EXCEPTIONS_DEFAULT_DAYS * DAY_MS));
    return (await this.schedule(reads, site)).exceptions
      .filter((e) => e.date >= from && e.date <= to)
      .sort((a, b) => a.date.localeCompare(b.date));
  }

  private async existingSite(reads: SiteReads, rawSiteId: unknown): Promise<WashSite> {
    const site = await this.site(reads, rawSiteId, 'siteId');
    if (!site) throw new AppError('NOT_FOUND', { message: 'No such site.', field: 'siteId' });
    return site;
  }

  private async schedule(reads: SiteReads, site: WashSite): Promise<Schedule> {
    return toSchedule(site, await reads.hours.load(site.id));
  }
}
