/**
 * The `booking_hold` function (migration 20261201175000_booking_hold) through {@link BookingRepository.hold},
 * on the real database: what it decides and writes, and that its reads see what was committed while it
 * waited on the locks (its statements take their snapshots after the locks, not when the call began).
 */
import { randomUUID } from 'node:crypto';
import { generateServiceKeys } from '@carwash/config';
import { countingPool, createLogger } from '@carwash/subgraph-kit';
import { integrationEnv } from '@carwash/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBookingConfig } from '../src/config.js';
import { BookingRepository, type NewHold } from '../src/repository.js';
import { createBookingSubgraph, type BookingSubgraph } from '../src/server.js';

const keys = generateServiceKeys();
const config = loadBookingConfig(integrationEnv(keys.envFor('booking')));
let app: BookingSubgraph;
let sut: BookingRepository;
/** The pool the repository sends `hold` to, as server.ts gives it the feature's. */
const pool = countingPool(config.BOOKING_DATABASE_URL, 4, { count: 0 });
let serviceId: string;
let addOnId: string;

beforeAll(async () => {
  app = await createBookingSubgraph(config, createLogger('booking', 'silent'));
  sut = new BookingRepository(app.db, pool);
  serviceId = (
    await app.db.service.create({
      data: { name: 'Hold wash', durationMinutes: 30, priceCents: 1000, currency: 'EUR' },
    })
  ).id;
  addOnId = (
    await app.db.service.create({
      data: { name: 'Wax', durationMinutes: 5, priceCents: 300, currency: 'EUR', isAddOn: true },
    })
  ).id;
});
afterAll(async () => {
  await pool.end();
  await app?.stop();
});

const t = (h: number, m = 0) => new Date(Date.UTC(2031, 2, 3, h, m));
const HOUR = 3_600_000;

function newHold(over: { siteId: string; customerId?: string } & Partial<NewHold>): NewHold {
  const customerId = over.customerId ?? randomUUID();
  return {
    reservation: {
      customerId,
      siteId: over.siteId,
      serviceId,
      startsAt: t(9),
      endsAt: t(9, 30),
      blockedUntil: t(9, 40),
      holdExpiresAt: new Date(Date.now() + HOUR),
      serviceName: 'Hold wash',
      priceCents: 1300,
      currency: 'EUR',
      createdBy: customerId,
      items: [{ serviceId: addOnId, name: 'Wax', priceCents: 300, currency: 'EUR' }],
      ...over.reservation,
    },
    bays: over.bays ?? 2,
    maxHolds: over.maxHolds === undefined ? 3 : over.maxHolds,
    now: over.now ?? new Date(),
  };
}

describe('booking_hold', () => {
  it('writes the hold, its history, its lines and its outbox row, on the lowest free bay', async () => {
    const siteId = randomUUID();
    const first = await sut.hold(newHold({ siteId }));
    expect(first.kind).toBe('held');
    if (first.kind !== 'held') return;
    expect(first.reservation).toMatchObject({ siteId, bay: 1, status: 'HELD', priceCents: 1300 });
    const id = first.reservation.id;
    // Sent on the pg pool, not through Prisma: the row reads back exactly as the client reads it.
    expect(first.reservation).toEqual(await app.db.reservation.findUnique({ where: { id } }));
    expect(await app.db.history.findMany({ where: { reservationId: id } })).toEqual([
      expect.objectContaining({ fromStatus: null, toStatus: 'HELD' }),
    ]);
    expect(await app.db.reservationItem.findMany({ where: { reservationId: id } })).toEqual([
      expect.objectContaining({ serviceId: addOnId, name: 'Wax', priceCents: 300, currency: 'EUR' }),
    ]);
    const [event] = await app.db.$queryRaw<Array<{ topic: string; payload: Record<string, unknown> }>>`
      SELECT topic, payload FROM booking_outbox WHERE aggregate_id = ${id}::uuid`;
    expect(event).toEqual({
      topic: 'booking.reservation.created',
      payload: expect.objectContaining({ reservationId: id, siteId, priceCents: 1300, currency: 'EUR' }),
    });

    const second = await sut.hold(newHold({ siteId }));
    expect(second.kind === 'held' && second.reservation.bay).toBe(2);
    expect(await sut.hold(newHold({ siteId }))).toEqual({ kind: 'full' });
    expect(await app.db.reservation.count({ where: { siteId } })).toBe(2);
  });

  it("refuses past the customer's cap, and stores text as written", async () => {
    const siteId = randomUUID();
    const customerId = randomUUID();
    const name = `O'Brien's "wash"; DROP TABLE booking_reservations; -- \\ $$`;
    const held = await sut.hold(
      newHold({
        siteId,
        customerId,
        maxHolds: 1,
        reservation: { serviceName: name } as NewHold['reservation'],
      }),
    );
    expect(held.kind === 'held' && held.reservation.serviceName).toBe(name);
    expect(await sut.hold(newHold({ siteId, customerId, maxHolds: 1 }))).toEqual({ kind: 'limit' });
    // No cap (staff booking for a walk-in): the count is not taken.
    const uncapped = await sut.hold(newHold({ siteId, customerId, maxHolds: null }));
    expect(uncapped.kind).toBe('held');
    expect(await app.db.reservation.count({ where: { siteId } })).toBe(2);
  });

  it('answers lapsed, writing nothing, when a lapsed hold is in the way', async () => {
    const siteId = randomUUID();
    const lapsedHold = newHold({ siteId, bays: 1 });
    lapsedHold.reservation.holdExpiresAt = new Date(Date.now() - 1000);
    expect((await sut.hold({ ...lapsedHold, now: new Date(Date.now() - 2000) })).kind).toBe('held');
    expect(await sut.hold(newHold({ siteId, bays: 1 }))).toEqual({ kind: 'lapsed' });
    expect(await app.db.reservation.count({ where: { siteId } })).toBe(1);
  });

  it('sees a hold committed while it waited on the site lock (its snapshot is taken after the lock)', async () => {
    const siteId = randomUUID();
    let inserted!: () => void;
    const insertedP = new Promise<void>((r) => (inserted = r));
    let commit!: () => void;
    const commitP = new Promise<void>((r) => (commit = r));
    // Another writer holds the site's lock and inserts bay 1 in its transaction; it commits later.
    const other = app.db.$transaction(
      async (tx) => {
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`booking.site:${siteId}`}, 0))`;
        const h = newHold({ siteId }).reservation;
        await tx.reservation.create({
          data: {
            customerId: h.customerId,
            siteId,
            serviceId,
            bay: 1,
            startsAt: h.startsAt,
            endsAt: h.endsAt,
            blockedUntil: h.blockedUntil,
            status: 'HELD',
            holdExpiresAt: h.holdExpiresAt,
            serviceName: h.serviceName,
            priceCents: 1000,
            currency: 'EUR',
          },
        });
        inserted();
        await commitP;
      },
      { timeout: 20_000 },
    );
    await insertedP;
    const waiting = sut.hold(newHold({ siteId }));
    await new Promise((r) => setTimeout(r, 300));
    const [row] = await app.db.$queryRaw<Array<{ n: number }>>`
      SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE wait_event_type = 'Lock' AND wait_event = 'advisory' AND query LIKE '%booking_hold(%'`;
    expect(row?.n).toBeGreaterThanOrEqual(1);
    commit();
    await other;
    // Had its reads kept the snapshot of the call's start, it would pick bay 1 and fail with 23P01.
    const outcome = await waiting;
    expect(outcome.kind === 'held' && outcome.reservation.bay).toBe(2);
  });
});
