/**
 * The availability choices of createBooking and availableSlots as BookingService makes them, over an
 * in-memory repository and fake peers: lowest free bay, the clean-up buffer, lapsed holds expired on
 * the write path, the live-hold cap and its lock order, and the retries on a lost race.
 */
import { randomUUID } from 'node:crypto';
import type { Viewer } from '@carwash/service-trust';
import { beforeEach, describe, expect, it } from 'vitest';
import type { PeerUser } from '@carwash/subgraph-kit';
import type { Reservation, Service } from '../src/repository.js';
import { BookingService, openingWindowBlocks, type RequestDeps } from '../src/service.js';
import { codeOf, FakeBookingStore, FakeLocation, fakeUsers, pgError, SETTINGS, viewer } from './fakes.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

// A day well ahead, at a UTC site open 08:00–18:00.
const DATE = new Date(Date.now() + 7 * DAY).toISOString().slice(0, 10);
const at = (hhmm: string) => new Date(`${DATE}T${hhmm}:00Z`);

let store: FakeBookingStore;
let peers: FakeLocation;
let service: BookingService;
let wash: Service;
let client: Viewer;
let manager: Viewer;
let deps: RequestDeps;
const siteId = randomUUID();

function openSite(bays: number) {
  peers.sites.set(siteId, {
    id: siteId,
    active: true,
    bays,
    timeZone: 'UTC',
    openingWindows: [{ start: at('08:00').toISOString(), end: at('18:00').toISOString() }],
  });
}

beforeEach(() => {
  store = new FakeBookingStore();
  peers = new FakeLocation();
  service = new BookingService(store, peers, SETTINGS);
  wash = store.seedService({ durationMinutes: 30 });
  client = viewer('CLIENT');
  manager = viewer('MANAGER');
  const users: PeerUser[] = [client, manager].map((v) => ({ id: v.userId, role: v.role, deleted: false }));
  deps = fakeUsers(users);
  openSite(2);
});

const book = (by: Viewer, startsAt: Date, over: Record<string, unknown> = {}) =>
  service.createBooking(by, { siteId, serviceId: wash.id, startsAt, ...over }, deps);

/** A live reservation of someone else, on `bay` from `hhmm` for 30 minutes plus the buffer. */
const occupy = (bay: number, hhmm: string, over: Partial<Reservation> = {}) =>
  store.seedReservation({
    siteId,
    bay,
    startsAt: at(hhmm),
    endsAt: new Date(at(hhmm).getTime() + 30 * MINUTE),
    blockedUntil: new Date(at(hhmm).getTime() + 40 * MINUTE),
    ...over,
  });

describe('createBooking: which bay', () => {
  it('holds the lowest free bay, with the hold expiry, buffer and price written', async () => {
    const r = await book(client, at('09:00'));
    expect(r).toMatchObject({
      bay: 1,
      status: 'HELD',
      customerId: client.userId,
      createdBy: client.userId,
      priceCents: wash.priceCents,
      endsAt: at('09:30'),
      blockedUntil: at('09:40'),
    });
    expect(r.holdExpiresAt!.getTime()).toBeGreaterThan(
      Date.now() + (SETTINGS.BOOKING_HOLD_TTL_SECONDS - 5) * 1000,
    );
    expect(store.historyOf(r.id)).toEqual([
      expect.objectContaining({ fromStatus: null, toStatus: 'HELD', changedBy: client.userId }),
    ]);
    expect(store.eventsOf(r.id).map((e) => e.topic)).toEqual(['booking.reservation.created']);
    // Bay 2 taken at 10:00 does not push a 10:00 booking off bay 1.
    occupy(2, '10:00');
    expect((await book(client, at('10:00'))).bay).toBe(1);
  });

  it('skips a bay taken for the time and holds the next one', async () => {
    occupy(1, '09:00');
    expect((await book(client, at('09:00'))).bay).toBe(2);
  });

  it('refuses the slot when every bay is taken', async () => {
    occupy(1, '09:00');
    occupy(2, '09:15');
    expect(await codeOf(() => book(client, at('09:00')))).toBe('BOOKING_SLOT_TAKEN');
    expect(store.reservations).toHaveLength(2);
  });

  it('keeps the clean-up buffer after a booking: refused inside it, accepted when it ends', async () => {
    openSite(1);
    occupy(1, '09:00'); // blocked until 09:40
    expect(await codeOf(() => book(client, at('09:35')))).toBe('BOOKING_SLOT_TAKEN');
    // …and before one: a 08:25 start would block until 09:05.
    expect(await codeOf(() => book(client, at('08:25')))).toBe('BOOKING_SLOT_TAKEN');
    expect((await book(client, at('09:40'))).bay).toBe(1);
  });

  it('ignores cancelled, expired and finished bookings of the bay', async () => {
    openSite(1);
    for (const status of ['CANCELLED', 'EXPIRED', 'COMPLETED', 'NO_SHOW'] as const)
      occupy(1, '09:00', { status });
    expect((await book(client, at('09:00'))).bay).toBe(1);
  });
});

describe('createBooking: lapsed holds on the write path', () => {
  it('expires a lapsed hold on the bay, with history, and takes the bay', async () => {
    openSite(1);
    const lapsed = occupy(1, '09:00', { status: 'HELD', holdExpiresAt: new Date(Date.now() - MINUTE) });
    const untouched = occupy(1, '12:00', { status: 'HELD', holdExpiresAt: new Date(Date.now() - MINUTE) });
    const r = await book(client, at('09:00'));
    expect(r.bay).toBe(1);
    expect(store.find(lapsed.id)!.status).toBe('EXPIRED');
    expect(store.historyOf(lapsed.id)).toEqual([expect.objectContaining(FakeBookingStore.LAPSED_HOLD_ENTRY)]);
    // Only the holds in the way are expired here; the sweep records the rest.
    expect(store.find(untouched.id)!.status).toBe('HELD');
    expect(await service.expireLapsedHolds()).toBe(1);
    expect(store.find(untouched.id)!.status).toBe('EXPIRED');
  });

  it('still respects a hold that has not lapsed', async () => {
    openSite(1);
    occupy(1, '09:00', { status: 'HELD', holdExpiresAt: new Date(Date.now() + MINUTE) });
    expect(await codeOf(() => book(client, at('09:00')))).toBe('BOOKING_SLOT_TAKEN');
  });
});

describe('createBooking: the live-hold cap', () => {
  const hold = (customerId: string, hhmm: string, expiresIn = 10 * MINUTE) =>
    occupy(2, hhmm, { customerId, status: 'HELD', holdExpiresAt: new Date(Date.now() + expiresIn) });

  it('refuses a customer a hold beyond the cap, writing nothing', async () => {
    for (const t of ['10:00', '11:00', '12:00']) hold(client.userId, t);
    const before = store.reservations.length;
    expect(await codeOf(() => book(client, at('09:00')))).toBe('BOOKING_HOLD_LIMIT_REACHED');
    expect(store.reservations).toHaveLength(before);
    expect(store.outbox).toEqual([]);
  });

  it('does not count lapsed or confirmed holds', async () => {
    hold(client.userId, '10:00');
    hold(client.userId, '11:00', -MINUTE);
    occupy(2, '12:00', { customerId: client.userId, status: 'CONFIRMED' });
    await book(client, at('09:00'));
    expect(await codeOf(() => book(client, at('13:00')))).toBe('OK');
  });

  it('takes the customer lock before the site lock, and no customer lock when staff book for a client', async () => {
    await book(client, at('09:00'));
    expect(store.locks).toEqual([`customer:${client.userId}`, `site:${siteId}`]);
    store.locks.length = 0;
    await book(manager, at('10:00'), { customerId: client.userId });
    expect(store.locks).toEqual([`site:${siteId}`]);
  });

  it('lets staff book beyond a client’s cap, and counts those holds towards the client’s own', async () => {
    for (const t of ['09:00', '10:00', '11:00']) await book(manager, at(t), { customerId: client.userId });
    const staffMade = store.reservations.filter((r) => r.customerId === client.userId);
    expect(staffMade.map((r) => r.createdBy)).toEqual([manager.userId, manager.userId, manager.userId]);
    expect(await codeOf(() => book(client, at('12:00')))).toBe('BOOKING_HOLD_LIMIT_REACHED');
  });
});

describe('createBooking: a lost race', () => {
  it('reads again after an exclusion violation and holds the next bay', async () => {
    store.beforeInsert = (attempt) => {
      // A rival committed bay 1 between our read and insert.
      if (attempt === 0)
        store.commitConcurrently({
          siteId,
          bay: 1,
          startsAt: at('09:00'),
          endsAt: at('09:30'),
          blockedUntil: at('09:40'),
        });
    };
    const r = await book(client, at('09:00'));
    expect(r.bay).toBe(2);
    expect(store.reservations.map((x) => [x.bay, x.status])).toEqual([
      [1, 'CONFIRMED'],
      [2, 'HELD'],
    ]);
  });

  it('retries a deadlock, and gives up as BOOKING_SLOT_TAKEN after three lost races', async () => {
    let attempts = 0;
    store.beforeInsert = () => {
      attempts++;
      if (attempts === 1) throw pgError('40P01');
    };
    expect((await book(client, at('09:00'))).bay).toBe(1);
    attempts = 0;
    store.beforeInsert = () => {
      attempts++;
      throw pgError('23P01');
    };
    expect(await codeOf(() => book(client, at('10:00')))).toBe('BOOKING_SLOT_TAKEN');
    expect(attempts).toBe(3);
    // Each failed attempt rolled back: no stray history or events.
    expect(store.outbox.map((e) => e.topic)).toEqual(['booking.reservation.created']);
  });

  it('does not retry other errors', async () => {
    let attempts = 0;
    store.beforeInsert = () => {
      attempts++;
      throw new Error('connection lost');
    };
    expect(await codeOf(() => book(client, at('09:00')))).toBe('connection lost');
    expect(attempts).toBe(1);
  });
});

describe('createBooking: references and who books', () => {
  it('refuses times in the past, outside opening hours, and at an unknown or closed site', async () => {
    expect(await codeOf(() => book(client, new Date(Date.now() - MINUTE)))).toBe('BAD_USER_INPUT');
    expect(await codeOf(() => book(client, at('17:45')))).toBe('BOOKING_OUTSIDE_OPENING_HOURS');
    expect(
      await codeOf(() =>
        service.createBooking(
          client,
          { siteId: randomUUID(), serviceId: wash.id, startsAt: at('09:00') },
          deps,
        ),
      ),
    ).toBe('BOOKING_SITE_UNAVAILABLE');
    peers.sites.set(siteId, { ...peers.sites.get(siteId)!, active: false });
    expect(await codeOf(() => book(client, at('09:00')))).toBe('BOOKING_SITE_UNAVAILABLE');
    expect(store.reservations).toEqual([]);
  });

  it('refuses an inactive service, an add-on as the main wash, and an add-on in another currency', async () => {
    const inactive = store.seedService({ active: false });
    const addOn = store.seedService({ isAddOn: true, priceCents: 300 });
    const dollars = store.seedService({ isAddOn: true, currency: 'USD' });
    expect(
      await codeOf(() =>
        service.createBooking(client, { siteId, serviceId: inactive.id, startsAt: at('09:00') }, deps),
      ),
    ).toBe('BOOKING_SERVICE_UNAVAILABLE');
    expect(
      await codeOf(() =>
        service.createBooking(client, { siteId, serviceId: addOn.id, startsAt: at('09:00') }, deps),
      ),
    ).toBe('BOOKING_SERVICE_UNAVAILABLE');
    expect(await codeOf(() => book(client, at('09:00'), { addOnIds: [dollars.id] }))).toBe(
      'BOOKING_SERVICE_UNAVAILABLE',
    );
    // The legitimate path: an add-on in the same currency adds its price.
    expect((await book(client, at('09:00'), { addOnIds: [addOn.id] })).priceCents).toBe(
      wash.priceCents + addOn.priceCents,
    );
  });

  it('asks location for whole 7-day blocks around the booking, one range for the bookings of a week', async () => {
    const WEEK = 7 * DAY;
    const first = at('09:00');
    await book(client, first);
    const [call] = peers.siteCalls;
    // Whole days, a week or two, and a day wider than the booking on either side.
    expect(call!.from.getTime() % DAY).toBe(0);
    expect([WEEK, 2 * WEEK]).toContain(call!.to.getTime() - call!.from.getTime());
    expect(call!.from.getTime()).toBeLessThanOrEqual(first.getTime() - DAY);
    expect(call!.to.getTime()).toBeGreaterThanOrEqual(first.getTime() + 30 * MINUTE + DAY);
    // Two other times of one block ask one range (so the cache in front of location keeps one answer),
    // even where they fall on other UTC days; outside the site's hours they are refused after the ask.
    const block = call!.to.getTime() + WEEK;
    for (const t of [block + DAY + 9 * HOUR, block + 5 * DAY + 17 * HOUR])
      expect(await codeOf(() => book(client, new Date(t)))).toBe('BOOKING_OUTSIDE_OPENING_HOURS');
    const [, a, b] = peers.siteCalls;
    expect(a).toEqual(b);
    expect(a!.from.getTime()).toBe(block);
    expect(a!.to.getTime()).toBe(block + WEEK);
  });

  it("starts each site's blocks on a day of its own, so many sites do not all need the next block at once", () => {
    const t = Date.parse('2027-03-10T12:00:00Z');
    const starts = new Set<number>();
    for (let i = 0; i < 60; i++) {
      const id = randomUUID();
      const b = openingWindowBlocks(id, t, t + HOUR);
      expect(b.to.getTime() - b.from.getTime()).toBe(7 * DAY);
      expect(b.from.getTime()).toBeLessThanOrEqual(t);
      expect(b.to.getTime()).toBeGreaterThanOrEqual(t + HOUR);
      // The same site always gets the same blocks.
      expect(openingWindowBlocks(id, t, t + HOUR)).toEqual(b);
      starts.add((b.from.getTime() / DAY) % 7);
    }
    // 60 random sites over 7 possible start days: all 7 but for a chance of about 7·(6/7)^60 ≈ 1e-3.
    expect(starts.size).toBeGreaterThanOrEqual(5);
  });

  it('refuses a client booking for someone else, and a washer booking for themselves', async () => {
    expect(await codeOf(() => book(client, at('09:00'), { customerId: manager.userId }))).toBe('FORBIDDEN');
    const washer = viewer('WASHER');
    expect(await codeOf(() => book(washer, at('09:00')))).toBe('FORBIDDEN');
    expect(await codeOf(() => book(manager, at('09:00'), { customerId: washer.userId }))).toBe(
      'BAD_USER_INPUT',
    ); // not a known active client
  });
});

describe('availableSlots', () => {
  it('asks location for a range covering the local day in any time zone, and offers starts around the buffer', async () => {
    openSite(1);
    occupy(1, '09:00');
    const slots = await service.availableSlots(siteId, wash.id, DATE);
    const starts = slots.map((s) => s.startsAt.toISOString().slice(11, 16));
    // 09:00 booked until 09:40: 08:30 … 09:30 starts collide; steps of 15 minutes.
    expect(starts.slice(0, 4)).toEqual(['08:00', '08:15', '09:45', '10:00']);
    const [call] = peers.siteCalls;
    expect(call!.from).toEqual(new Date(Date.parse(`${DATE}T00:00:00Z`) - 14 * HOUR));
    expect(call!.to).toEqual(new Date(Date.parse(`${DATE}T00:00:00Z`) + DAY + 14 * HOUR));
  });

  it('refuses an unknown service or site', async () => {
    expect(await codeOf(() => service.availableSlots(siteId, randomUUID(), DATE))).toBe(
      'BOOKING_SERVICE_UNAVAILABLE',
    );
    expect(await codeOf(() => service.availableSlots(randomUUID(), wash.id, DATE))).toBe(
      'BOOKING_SITE_UNAVAILABLE',
    );
  });
});
