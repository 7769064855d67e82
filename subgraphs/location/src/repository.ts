import type { KeysetPosition } from '@carwash/subgraph-kit';
import type { LocationDb } from './db.js';
import { outbox } from './events.js';
import { EARTH_RADIUS_KM, type Point } from './geo.js';
import type { OperatingHours, Prisma, StaffAssignment, WashSite } from './generated/prisma/client.js';

export type { OperatingHours, StaffAssignment, WashSite };
/** A transaction client: every write method takes one, so the service decides what commits together. */
export type Tx = Prisma.TransactionClient;
/** The columns of a new site (the database fills id, active and the timestamps). */
export type NewSite = Pick<
  Prisma.WashSiteCreateInput,
  | 'name'
  | 'addressLine1'
  | 'addressLine2'
  | 'city'
  | 'postalCode'
  | 'region'
  | 'country'
  | 'timeZone'
  | 'latitude'
  | 'longitude'
  | 'bays'
>;
/** The columns an update may change; absent keys stay as they are. */
export type SitePatch = Partial<NewSite>;
/** One row of `location_operating_hours` for a dated exception: a window, or the whole day closed. */
export type ExceptionRow =
  { opensAt: string; closesAt: string; reason: string | null } | { closed: true; reason: string | null };
/** The columns of a new shift. */
export type NewAssignment = Pick<
  StaffAssignment,
  'siteId' | 'userId' | 'role' | 'startsAt' | 'endsAt' | 'createdBy'
>;
/** Which shifts `openAssignments` looks at: a site's, a user's, or one by id. */
export type AssignmentScope = { siteId: string } | { userId: string } | { id: string };
/** The reason column's width (`VARCHAR(64)`). */
const ENDED_REASON_MAX = 64;

/** Which page of sites to read: by name after a keyset position, or nearest a point from an offset. */
export type SitesQuery = {
  /** Rows to read: the page and one more, which tells whether there is a next page. */
  limit: number;
  active?: boolean | undefined;
} & (
  | { near?: undefined; after?: KeysetPosition<string> | undefined }
  | { near: Point; radiusKm?: number | undefined; offset: number }
);

/**
 * Data access for the location tables, and the only user of the location Prisma client (lint rule
 * `carwash/prisma-in-repositories`). No rules here: those live in the service. Writes take the
 * transaction client `transaction` hands out; reads that run outside one use the pool.
 */
export class LocationRepository {
  constructor(private readonly db: LocationDb) {}

  /** Runs `fn` in one interactive transaction: all of its writes commit together or not at all. */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.db.$transaction(fn);
  }

  siteById(tx: Tx, id: string): Promise<WashSite | null> {
    return tx.washSite.findUnique({ where: { id } });
  }

  createSite(data: NewSite): Promise<WashSite> {
    return this.db.washSite.create({ data });
  }

  updateSite(tx: Tx, id: string, patch: SitePatch): Promise<WashSite> {
    return tx.washSite.update({ where: { id }, data: patch });
  }

  closeSite(tx: Tx, id: string, at: Date, reason: string): Promise<WashSite> {
    return tx.washSite.update({ where: { id }, data: { active: false, closedAt: at, closedReason: reason } });
  }

  /** Replaces the site's weekly rows (exceptions stay): one delete, and one insert when there are windows. */
  async replaceWeeklyHours(
    tx: Tx,
    siteId: string,
    windows: ReadonlyArray<{ weekday: number; opensAt: string; closesAt: string }>,
  ): Promise<void> {
    await tx.operatingHours.deleteMany({ where: { siteId, weekday: { not: null } } });
    if (windows.length)
      await tx.operatingHours.createMany({
        data: windows.map((w) => ({ siteId, weekday: w.weekday, opensAt: w.opensAt, closesAt: w.closesAt })),
      });
  }

  /** Replaces the rows of one dated exception (`date` at 00:00 UTC). */
  async replaceException(tx: Tx, siteId: string, date: Date, rows: readonly ExceptionRow[]): Promise<void> {
    await tx.operatingHours.deleteMany({ where: { siteId, date } });
    await tx.operatingHours.createMany({ data: rows.map((r) => ({ siteId, date, ...r })) });
  }

  async removeException(tx: Tx, siteId: string, date: Date): Promise<void> {
    await tx.operatingHours.deleteMany({ where: { siteId, date } });
  }

  /** Inserts a shift; an overlapping active shift of the same person fails with 23P01 (exclusion constraint). */
  createAssignment(tx: Tx, data: NewAssignment): Promise<StaffAssignment> {
    return tx.staffAssignment.create({ data });
  }

  assignmentById(tx: Tx, id: string): Promise<StaffAssignment | null> {
    return tx.staffAssignment.findUnique({ where: { id } });
  }

  /** The shifts in `scope` that have neither ended nor run out by `now`. */
  openAssignments(tx: Tx, scope: AssignmentScope, now: Date): Promise<StaffAssignment[]> {
    return tx.staffAssignment.findMany({ where: { ...scope, endedAt: null, endsAt: { gt: now } } });
  }

  endAssignment(tx: Tx, id: string, at: Date, reason: string): Promise<StaffAssignment> {
    return tx.staffAssignment.update({
      where: { id },
      data: { endedAt: at, endedReason: reason.slice(0, ENDED_REASON_MAX) },
    });
  }

  /** Writes an event to the location outbox inside the caller's transaction. */
  readonly recordEvent = outbox.record;

  /** True the first time this feature handles `event` (inbox row in the caller's transaction). */
  readonly firstTime = outbox.firstTime;

  sitesByIds(ids: readonly string[]): Promise<WashSite[]> {
    // Raw: every `WashSite` reference comes through here; it skips the client's query compilation and
    // result mapping.
    return this.db.$queryRaw<WashSite[]>`
      SELECT id, name, address_line1 AS "addressLine1", address_line2 AS "addressLine2", city,
             postal_code AS "postalCode", region, country, time_zone AS "timeZone", latitude, longitude,
             bays, active, closed_at AS "closedAt", closed_reason AS "closedReason",
             created_at AS "createdAt", updated_at AS "updatedAt"
      FROM location_wash_sites WHERE id = ANY(${[...ids]}::uuid[])`;
  }

  /** Weekly rows and exceptions from `since` on, for many sites in one statement. */
  hoursForSites(siteIds: readonly string[], since: Date): Promise<OperatingHours[]> {
    return this.db.operatingHours.findMany({
      where: { siteId: { in: [...siteIds] }, OR: [{ weekday: { not: null } }, { date: { gte: since } }] },
      orderBy: [{ date: 'asc' }, { weekday: 'asc' }, { opensAt: 'asc' }],
    });
  }

  exceptions(siteId: string, from: Date, to: Date): Promise<OperatingHours[]> {
    return this.db.operatingHours.findMany({
      where: { siteId, date: { gte: from, lte: to } },
      orderBy: [{ date: 'asc' }, { opensAt: 'asc' }],
    });
  }

  /** Shifts for many sites (or users) in one statement; by default only those not yet over. */
  assignmentsFor(
    by: 'siteId' | 'userId',
    ids: readonly string[],
    includePast: boolean,
    now = new Date(),
  ): Promise<StaffAssignment[]> {
    return this.db.staffAssignment.findMany({
      where: { [by]: { in: [...ids] }, ...(includePast ? {} : { endedAt: null, endsAt: { gt: now } }) },
      orderBy: [{ startsAt: 'asc' }, { id: 'asc' }],
    });
  }

  /**
   * One page of sites and how many match in all: by (name, id) after a keyset position, or nearest
   * first (great-circle distance, then id) from an offset when `near` is given.
   */
  async listSites(args: SitesQuery): Promise<{ sites: WashSite[]; total: number }> {
    if (!args.near) {
      const where: Prisma.WashSiteWhereInput = args.active === undefined ? {} : { active: args.active };
      const after = args.after;
      const page: Prisma.WashSiteWhereInput = after
        ? { OR: [{ name: { gt: after.key } }, { name: after.key, id: { gt: after.id } }] }
        : {};
      const [sites, total] = await Promise.all([
        this.db.washSite.findMany({
          where: { AND: [where, page] },
          orderBy: [{ name: 'asc' }, { id: 'asc' }],
          take: args.limit,
        }),
        this.db.washSite.count({ where }),
      ]);
      return { sites, total };
    }
    const { latitude, longitude } = args.near;
    const distance = `(2 * ${EARTH_RADIUS_KM} * asin(sqrt(power(sin(radians(latitude - $1::float8) / 2), 2) + cos(radians($1::float8)) * cos(radians(latitude)) * power(sin(radians(longitude - $2::float8) / 2), 2))))`;
    const filters = [
      args.active === undefined ? 'TRUE' : `active = ${args.active ? 'TRUE' : 'FALSE'}`,
      `($3::float8 <= 0 OR ${distance} <= $3::float8)`,
    ];
    const where = filters.join(' AND ');
    const params = [latitude, longitude, args.radiusKm ?? 0];
    const [rows, count] = await Promise.all([
      this.db.$queryRawUnsafe<Array<{ id: string }>>(
        `SELECT id FROM location_wash_sites WHERE ${where} ORDER BY ${distance}, id OFFSET $4::int LIMIT $5::int`,
        ...params,
        args.offset,
        args.limit,
      ),
      this.db.$queryRawUnsafe<Array<{ n: bigint }>>(
        `SELECT count(*) AS n FROM location_wash_sites WHERE ${where}`,
        ...params,
      ),
    ]);
    const sites = await this.sitesByIds(rows.map((r) => r.id));
    const byId = new Map(sites.map((s) => [s.id, s]));
    return {
      sites: rows.flatMap((r) => byId.get(r.id) ?? []),
      total: Number(count[0]?.n ?? 0),
    };
  }
}
