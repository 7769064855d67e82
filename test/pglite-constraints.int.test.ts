import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { btree_gist } from '@electric-sql/pglite/contrib/btree_gist';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The zero-setup run (`pnpm start`) keeps every feature on an embedded PGlite. The invariants the
 * database enforces must hold there exactly as on PostgreSQL: the booking and location migrations —
 * the very files `prisma migrate deploy` applies — are run on a PGlite with btree_gist, and the
 * exclusion constraints refuse overlaps with SQLSTATE 23P01 (which the services map to coded errors).
 */
const migrationSql = (feature: string) => {
  const dir = new URL(`../prisma/${feature}/migrations/`, import.meta.url);
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort()
    .map((name) => readFileSync(new URL(`${name}/migration.sql`, dir), 'utf8'));
};

async function migrated(feature: string): Promise<PGlite> {
  const db = await PGlite.create({ extensions: { btree_gist } });
  for (const sql of migrationSql(feature)) await db.exec(sql);
  return db;
}

const sqlState = async (p: Promise<unknown>) => {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
};

describe('exclusion constraints on PGlite', () => {
  let booking: PGlite;
  let location: PGlite;
  const serviceId = randomUUID();
  beforeAll(async () => {
    [booking, location] = await Promise.all([migrated('booking'), migrated('location')]);
    await booking.query(
      `INSERT INTO booking_services (id, name, duration_minutes, price_cents, currency, updated_at)
       VALUES ($1, 'Wash', 30, 1000, 'EUR', now())`,
      [serviceId],
    );
  }, 120_000);
  afterAll(async () => {
    await booking?.close();
    await location?.close();
  });

  const reserve = (r: {
    site: string;
    bay: number;
    from: string;
    to: string;
    washer?: string | null;
    status?: string;
  }) =>
    booking.query(
      `INSERT INTO booking_reservations (id, customer_id, site_id, service_id, washer_id, bay, starts_at, ends_at,
         blocked_until, status, service_name, price_cents, currency, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8::timestamptz + interval '10 minutes', $9::booking_status,
         'Wash', 1000, 'EUR', now())`,
      [
        randomUUID(),
        randomUUID(),
        r.site,
        serviceId,
        r.washer ?? null,
        r.bay,
        r.from,
        r.to,
        r.status ?? 'HELD',
      ],
    );

  it('refuses a second live booking of the same bay at an overlapping time (23P01)', async () => {
    const site = randomUUID();
    await reserve({ site, bay: 1, from: '2030-01-01T10:00Z', to: '2030-01-01T10:30Z' });
    // Overlaps the first one's clean-up buffer (10:30–10:40).
    expect(
      await sqlState(reserve({ site, bay: 1, from: '2030-01-01T10:35Z', to: '2030-01-01T11:00Z' })),
    ).toBe('23P01');
    expect(
      await sqlState(reserve({ site, bay: 2, from: '2030-01-01T10:00Z', to: '2030-01-01T10:30Z' })),
    ).toBe('ok');
    expect(
      await sqlState(reserve({ site, bay: 1, from: '2030-01-01T10:40Z', to: '2030-01-01T11:00Z' })),
    ).toBe('ok');
  });

  it('lets a cancelled booking free its bay, as the constraint only covers live statuses', async () => {
    const site = randomUUID();
    await reserve({ site, bay: 1, from: '2030-01-02T10:00Z', to: '2030-01-02T10:30Z', status: 'CANCELLED' });
    expect(
      await sqlState(reserve({ site, bay: 1, from: '2030-01-02T10:00Z', to: '2030-01-02T10:30Z' })),
    ).toBe('ok');
  });

  it('refuses one washer in two live jobs at once (23P01)', async () => {
    const washer = randomUUID();
    await reserve({ site: randomUUID(), bay: 1, from: '2030-01-03T10:00Z', to: '2030-01-03T11:00Z', washer });
    expect(
      await sqlState(
        reserve({ site: randomUUID(), bay: 1, from: '2030-01-03T10:30Z', to: '2030-01-03T11:30Z', washer }),
      ),
    ).toBe('23P01');
  });

  it('refuses overlapping shifts of one person (23P01)', async () => {
    const site = randomUUID();
    await location.query(
      `INSERT INTO location_wash_sites (id, name, address_line1, city, postal_code, country, time_zone, latitude,
         longitude, bays, updated_at)
       VALUES ($1, 'Test wash', 'x', 'Berlin', '1', 'DE', 'Europe/Berlin', 52.5, 13.4, 2, now())`,
      [site],
    );
    const user = randomUUID();
    const shift = (from: string, to: string) =>
      location.query(
        `INSERT INTO location_staff_assignments (id, site_id, user_id, role, starts_at, ends_at)
         VALUES (gen_random_uuid(), $1, $2, 'WASHER', $3, $4)`,
        [site, user, from, to],
      );
    await shift('2030-01-01T08:00Z', '2030-01-01T16:00Z');
    expect(await sqlState(shift('2030-01-01T15:00Z', '2030-01-01T20:00Z'))).toBe('23P01');
    expect(await sqlState(shift('2030-01-01T16:00Z', '2030-01-01T20:00Z'))).toBe('ok');
  });
});
