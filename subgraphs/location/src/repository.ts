import type { LocationDb } from './db.js';
import type { OperatingHours, Prisma, StaffAssignment, WashSite } from './generated/prisma/client.js';

export type { OperatingHours, StaffAssignment, WashSite };
export type Tx = Prisma.TransactionClient;

export interface SiteRow {
  site: WashSite;
  distanceKm: number | null;
}

const EARTH_RADIUS_KM = 6371.0088;

/** Data access for the location tables. No rules here: those live in the service. */
export class LocationRepository {
  constructor(readonly db: LocationDb) {}

  sitesByIds(ids: readonly string[]): Promise<WashSite[]> {
    return this.db.washSite.findMany({ where: { id: { in: [...ids] } } });
  }

  /** Weekly rows and exceptions from `since` on, for many sites in one statement. */
  hoursForSites(siteIds: readonly string[], since: Date): Promise<OperatingHours[]> {
    return this.db.operatingHours.findMany({
      where: { siteId: { in: [...siteIds] }, OR: [{ weekday: { not: null } }, { date: { gte: since } }] },
      orderBy: [{ date: 'asc' }, { weekday: 'asc' }, { opensAt: 'asc' }],
    });
  }

  exceptions(siteId: string, from: Date, to: Date): Promise<OperatingHours[]> {
    return this.db.operatingHours.findMany({ where: { siteId, date: { gte: from, lte: to } }, orderBy: [{ date: 'asc' }, { opensAt: 'asc' }] });
  }

  /** Shifts for many sites (or users) in one statement; by default only those not yet over. */
  assignmentsFor(by: 'siteId' | 'userId', ids: readonly string[], includePast: boolean, now = new Date()): Promise<StaffAssignment[]> {
    return this.db.staffAssignment.findMany({
      where: { [by]: { in: [...ids] }, ...(includePast ? {} : { endedAt: null, endsAt: { gt: now } }) },
      orderBy: [{ startsAt: 'asc' }, { id: 'asc' }],
    });
  }

  /**
   * One page of sites: by name, or nearest first (great-circle distance) when `near` is given.
   * Offset paging keeps the order stable for both sort keys.
   */
  async listSites(args: { offset: number; limit: number; active?: boolean | undefined; near?: { latitude: number; longitude: number } | undefined; radiusKm?: number | undefined }): Promise<{ rows: SiteRow[]; total: number }> {
    if (!args.near) {
      const where: Prisma.WashSiteWhereInput = args.active === undefined ? {} : { active: args.active };
      const [sites, total] = await Promise.all([
        this.db.washSite.findMany({ where, orderBy: [{ name: 'asc' }, { id: 'asc' }], skip: args.offset, take: args.limit }),
        this.db.washSite.count({ where }),
      ]);
      return { rows: sites.map((site) => ({ site, distanceKm: null })), total };
    }
    const { latitude, longitude } = args.near;
    const distance = `(2 * ${EARTH_RADIUS_KM} * asin(sqrt(power(sin(radians(latitude - $1::float8) / 2), 2) + cos(radians($1::float8)) * cos(radians(latitude)) * power(sin(radians(longitude - $2::float8) / 2), 2))))`;
    const filters = [args.active === undefined ? 'TRUE' : `active = ${args.active ? 'TRUE' : 'FALSE'}`, `($3::float8 <= 0 OR ${distance} <= $3::float8)`];
    const where = filters.join(' AND ');
    const params = [latitude, longitude, args.radiusKm ?? 0];
    const [rows, count] = await Promise.all([
      this.db.$queryRawUnsafe<Array<{ id: string; distance_km: number }>>(
        `SELECT id, ${distance} AS distance_km FROM location_wash_sites WHERE ${where} ORDER BY distance_km, id OFFSET $4::int LIMIT $5::int`,
        ...params,
        args.offset,
        args.limit,
      ),
      this.db.$queryRawUnsafe<Array<{ n: bigint }>>(`SELECT count(*) AS n FROM location_wash_sites WHERE ${where}`, ...params),
    ]);
    const sites = await this.sitesByIds(rows.map((r) => r.id));
    const byId = new Map(sites.map((s) => [s.id, s]));
    return {
      rows: rows.flatMap((r) => (byId.has(r.id) ? [{ site: byId.get(r.id)!, distanceKm: Math.round(Number(r.distance_km) * 1000) / 1000 }] : [])),
      total: Number(count[0]?.n ?? 0),
    };
  }
}
