/**
 * Booking's caches of its peers' answers (a site's opening windows from location, a customer's role and
 * deletion from auth), through the gateway with the real buses: a change is seen as soon as its event
 * is consumed, and one site's or user's answer never serves another. The TTL is set far beyond the
 * tests, so only an event can make a change visible here (the default TTL of 30 seconds only bounds
 * a late event).
 */
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Consumer } from '@carwash/events';
import { createOpenSite, createService } from './support/fixtures.js';
import { eventually } from './support/eventually.js';
import { signUpAs, startBookingReplica, startSupergraph, type Running } from './support/supergraph.js';

let sg: Running;
let manager: { id: string; token: string };
let consumer: Consumer;

const CREATE = `mutation($input: CreateBookingInput!) { createBooking(input: $input) { id customer { id } } }`;
const SLOTS = `query($site: ID!, $service: ID!, $date: Date!) { availableSlots(siteId: $site, serviceId: $service, date: $date) { startsAt freeBays } }`;
const EVERY_DAY = ['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY', 'SUNDAY'];

/** Far beyond the tests: only a write or an event can change what the caches answer. */
const LONG_TTLS = {
  BOOKING_PEER_CACHE_TTL_MS: '300000',
  BOOKING_SLOTS_CACHE_TTL_MS: '300000',
  BOOKING_SERVICE_CACHE_TTL_MS: '300000',
};
const CANCEL = `mutation($id: ID!) { cancelBooking(id: $id) { id status } }`;

type SlotsData = { availableSlots: Array<{ startsAt: string; freeBays: number }> };

/** A local date some days ahead, and the UTC instant of a local time on it. */
function day(offset: number) {
  const date = DateTime.now().setZone('Europe/Berlin').plus({ days: offset }).toISODate()!;
  return {
    date,
    at: (hhmm: string) => DateTime.fromISO(`${date}T${hhmm}`, { zone: 'Europe/Berlin' }).toUTC().toISO()!,
  };
}

const localTime = (iso: string) => DateTime.fromISO(iso, { zone: 'Europe/Berlin' }).toFormat('HH:mm');

async function slots(site: string, service: string, date: string): Promise<SlotsData['availableSlots']> {
  const res = await sg.gql<SlotsData>(SLOTS, { site, service, date });
  expect(res.errors).toBeUndefined();
  return res.data!.availableSlots;
}

/** Publishes what location and auth wrote to their outboxes; booking's consumer (started once) takes it from there. */
/**
 * A new open site with `bays` bays and a 30-minute service, and a function that books it for a customer
 * at a local time of day `dayOffset` as the manager (so booking asks auth whether that customer is active).
 */
async function bookingByManager(bays: number, dayOffset: number) {
  const site = await createOpenSite(sg, manager.token, { bays });
  const svc = await createService(sg, manager.token, { durationMinutes: 30 });
  const { at } = day(dayOffset);
  return (customerId: string, time: string) =>
    sg.gql<{ createBooking: { customer: { id: string } } }>(
      CREATE,
      { input: { siteId: site, serviceId: svc, startsAt: at(time), customerId } },
      manager.token,
    );
}

async function relay(): Promise<void> {
  for (const s of [sg.location, sg.auth]) while ((await s.relay.runOnce()) > 0);
}

/** Publishes what booking wrote to its outbox; every booking replica's watcher sees it. */
async function bookingRelay(): Promise<void> {
  while ((await sg.booking.relay.runOnce()) > 0);
}

beforeAll(async () => {
  sg = await startSupergraph({ bookingEnv: LONG_TTLS });
  manager = await signUpAs(sg, 'MANAGER');
  consumer = await sg.booking.startConsumers({ blockMs: 50, retryBaseMs: 100 });
});
afterAll(async () => {
  await consumer?.stop();
  await sg?.stop();
});

describe("booking's cache of location's sites", () => {
  it('serves new opening hours once location announces them, not before', async () => {
    const site = await createOpenSite(sg, manager.token, { bays: 1, opensAt: '08:00', closesAt: '10:00' });
    const svc = await createService(sg, manager.token, { durationMinutes: 60 });
    const { date, at } = day(12);
    const before = await slots(site, svc, date);
    expect(before.map((s) => localTime(s.startsAt))).toEqual(['08:00', '08:15', '08:30', '08:45', '09:00']);

    const changed = await sg.gql(
      `mutation($id: ID!, $hours: [WeeklyHoursInput!]!) { setWeeklyHours(siteId: $id, hours: $hours) { id } }`,
      { id: site, hours: EVERY_DAY.map((weekday) => ({ weekday, opensAt: '14:00', closesAt: '15:00' })) },
      manager.token,
    );
    expect(changed.errors).toBeUndefined();
    // Not announced yet: booking still answers from its cache (the proof that the cache is in the way).
    expect((await slots(site, svc, date)).map((s) => localTime(s.startsAt))).toEqual(
      before.map((s) => localTime(s.startsAt)),
    );

    await relay();
    expect(
      await eventually(async () =>
        (await slots(site, svc, date)).every((s) => localTime(s.startsAt) === '14:00'),
      ),
    ).toBe(true);
    expect((await slots(site, svc, date)).map((s) => localTime(s.startsAt))).toEqual(['14:00']);
    // createBooking checks the new hours too.
    const client = await signUpAs(sg, 'CLIENT', 'Hours');
    const early = await sg.gql(
      CREATE,
      { input: { siteId: site, serviceId: svc, startsAt: at('08:00') } },
      client.token,
    );
    expect(early.errors?.[0]?.extensions?.code).toBe('BOOKING_OUTSIDE_OPENING_HOURS');
    const inside = await sg.gql(
      CREATE,
      { input: { siteId: site, serviceId: svc, startsAt: at('14:00') } },
      client.token,
    );
    expect(inside.errors).toBeUndefined();
  });

  it('refuses bookings at a site once its closure is announced', async () => {
    const site = await createOpenSite(sg, manager.token, { bays: 2 });
    const svc = await createService(sg, manager.token, { durationMinutes: 30 });
    const client = await signUpAs(sg, 'CLIENT', 'Closed');
    const { at } = day(13);
    const first = await sg.gql(
      CREATE,
      { input: { siteId: site, serviceId: svc, startsAt: at('09:00') } },
      client.token,
    );
    expect(first.errors).toBeUndefined();
    const closed = await sg.gql(
      `mutation($id: ID!) { closeSite(id: $id, reason: "Cache test") { id } }`,
      { id: site },
      manager.token,
    );
    expect(closed.errors).toBeUndefined();
    await relay();
    expect(
      await eventually(async () => {
        const res = await sg.gql(
          CREATE,
          { input: { siteId: site, serviceId: svc, startsAt: at('12:00') } },
          client.token,
        );
        return res.errors?.[0]?.extensions?.code === 'BOOKING_SITE_UNAVAILABLE';
      }),
    ).toBe(true);
  });

  it("keeps each site's answer to itself", async () => {
    const one = await createOpenSite(sg, manager.token, { bays: 1, opensAt: '08:00', closesAt: '09:00' });
    const three = await createOpenSite(sg, manager.token, { bays: 3, opensAt: '16:00', closesAt: '17:00' });
    const svc = await createService(sg, manager.token, { durationMinutes: 30 });
    const { date } = day(14);
    for (let pass = 0; pass < 2; pass++) {
      // Asked concurrently (one call each to location, shared by nobody else), then from the cache.
      const [a, b] = await Promise.all([slots(one, svc, date), slots(three, svc, date)]);
      expect(a.map((s) => [localTime(s.startsAt), s.freeBays])).toEqual([
        ['08:00', 1],
        ['08:15', 1],
        ['08:30', 1],
      ]);
      expect(b.map((s) => [localTime(s.startsAt), s.freeBays])).toEqual([
        ['16:00', 3],
        ['16:15', 3],
        ['16:30', 3],
      ]);
    }
  });
});

describe("booking's cache of its own free slots", () => {
  /** A site with 2 bays open 08:00–09:00 and a 30-minute service: 3 starts, each with its free bays. */
  async function smallSite(dayOffset: number) {
    const site = await createOpenSite(sg, manager.token, { bays: 2, opensAt: '08:00', closesAt: '09:00' });
    const svc = await createService(sg, manager.token, { durationMinutes: 30 });
    const { date, at } = day(dayOffset);
    const free = async () =>
      (await slots(site, svc, date)).map((s) => `${localTime(s.startsAt)} ${s.freeBays}`);
    return { site, svc, date, at, free };
  }

  async function book(site: string, svc: string, startsAt: string, token: string): Promise<string> {
    const res = await sg.gql<{ createBooking: { id: string } }>(
      CREATE,
      { input: { siteId: site, serviceId: svc, startsAt } },
      token,
    );
    expect(res.errors).toBeUndefined();
    return res.data!.createBooking.id;
  }

  it('shows a booking and its cancellation at once on the replica that made them', async () => {
    const { site, svc, at, free } = await smallSite(16);
    const client = await signUpAs(sg, 'CLIENT', 'Slots');
    expect(await free()).toEqual(['08:00 2', '08:15 2', '08:30 2']);
    expect(await free()).toEqual(['08:00 2', '08:15 2', '08:30 2']); // from the cache

    const id = await book(site, svc, at('08:00'), client.token);
    // No event relayed or consumed: the write evicted the site-day as it committed.
    expect(await free()).toEqual(['08:00 1', '08:15 1', '08:30 1']);

    const cancelled = await sg.gql(CANCEL, { id }, client.token);
    expect(cancelled.errors).toBeUndefined();
    expect(await free()).toEqual(['08:00 2', '08:15 2', '08:30 2']);
  });

  it("shows another replica's booking and cancellation once their events arrive", async () => {
    const replica = await startBookingReplica(sg, LONG_TTLS);
    try {
      const { site, svc, date, at } = await smallSite(17);
      const client = await signUpAs(sg, 'CLIENT', 'Replica');
      const onReplica = async () =>
        (await replica.service.availableSlots(site, svc, date)).map(
          (s) => `${localTime(s.startsAt.toISOString())} ${s.freeBays}`,
        );
      expect(await onReplica()).toEqual(['08:00 2', '08:15 2', '08:30 2']);

      // Booked through the gateway, i.e. on the other replica.
      const id = await book(site, svc, at('08:15'), client.token);
      // Not published yet: the replica still answers from its cache (the proof that the cache is in the way).
      expect(await onReplica()).toEqual(['08:00 2', '08:15 2', '08:30 2']);
      await bookingRelay();
      expect(await eventually(async () => (await onReplica()).join() === '08:00 1,08:15 1,08:30 1')).toBe(
        true,
      );

      expect((await sg.gql(CANCEL, { id }, client.token)).errors).toBeUndefined();
      await bookingRelay();
      expect(await eventually(async () => (await onReplica()).join() === '08:00 2,08:15 2,08:30 2')).toBe(
        true,
      );
      // A booking on another day of the site leaves this day's entry alone (the eviction is per span).
      await book(site, svc, day(20).at('08:00'), client.token);
      await bookingRelay();
      expect(await onReplica()).toEqual(['08:00 2', '08:15 2', '08:30 2']);
    } finally {
      await replica.stop();
    }
  });

  it('stores a hostile service and add-on name as written: the one-message hold takes no SQL from a name', async () => {
    const site = await createOpenSite(sg, manager.token, { bays: 1 });
    const hostile = `O'Brien \\' ); DELETE FROM booking_reservations; -- ${Date.now()}`;
    const svc = await createService(sg, manager.token, { name: hostile });
    const addOn = await createService(sg, manager.token, { name: `${hostile} add-on`, isAddOn: true });
    const client = await signUpAs(sg, 'CLIENT', 'Hostile');
    const before = await sg.booking.db.reservation.count();
    const res = await sg.gql<{ createBooking: { id: string } }>(
      CREATE,
      { input: { siteId: site, serviceId: svc, startsAt: day(19).at('10:00'), addOnIds: [addOn] } },
      client.token,
    );
    expect(res.errors).toBeUndefined();
    const id = res.data!.createBooking.id;
    const row = await sg.booking.db.reservation.findUnique({ where: { id }, include: { items: true } });
    expect(row?.serviceName).toBe(hostile);
    expect(row?.items.map((i) => i.name)).toEqual([`${hostile} add-on`]);
    expect(await sg.booking.db.reservation.count()).toBeGreaterThanOrEqual(before + 1);
  });

  it("gives every user the same slots, with nobody's booking or identity in them", async () => {
    const { site, svc, date, at, free } = await smallSite(18);
    const alice = await signUpAs(sg, 'CLIENT', 'Alice');
    const bob = await signUpAs(sg, 'CLIENT', 'Bob');
    expect(await free()).toEqual(['08:00 2', '08:15 2', '08:30 2']);
    const id = await book(site, svc, at('08:30'), alice.token);
    const everything = `query($site: ID!, $service: ID!, $date: Date!) { availableSlots(siteId: $site, serviceId: $service, date: $date) { __typename startsAt endsAt freeBays } }`;
    const answers = await Promise.all(
      [alice.token, bob.token, undefined].map((token) =>
        sg.gql(everything, { site, service: svc, date }, token),
      ),
    );
    for (const res of answers) {
      expect(res.errors).toBeUndefined();
      expect(res).toEqual(answers[0]);
      // All a slot is: times and a count. Nothing names Alice or her booking.
      const text = JSON.stringify(res.data);
      for (const secret of [alice.id, id]) expect(text).not.toContain(secret);
    }
    expect(await free()).toEqual(['08:00 1', '08:15 1', '08:30 1']);
  });
});

describe("booking's cache of its catalogue rows", () => {
  const UPDATE = `mutation($id: ID!, $input: UpdateServiceInput!) { updateService(id: $id, input: $input) { id } }`;

  it('applies a new duration and a deactivation at once on the replica that made them', async () => {
    const site = await createOpenSite(sg, manager.token, { bays: 1, opensAt: '08:00', closesAt: '09:00' });
    const svc = await createService(sg, manager.token, { durationMinutes: 30 });
    const client = await signUpAs(sg, 'CLIENT', 'Catalogue');
    const { date, at } = day(21);
    const starts = async () => (await slots(site, svc, date)).map((s) => localTime(s.startsAt));
    expect(await starts()).toEqual(['08:00', '08:15', '08:30']);
    expect(await starts()).toEqual(['08:00', '08:15', '08:30']); // the row from the cache

    // No event relayed or consumed: the update evicted the row as it committed.
    expect((await sg.gql(UPDATE, { id: svc, input: { durationMinutes: 60 } }, manager.token)).errors).toBe(
      undefined,
    );
    expect(await starts()).toEqual(['08:00']);

    expect((await sg.gql(UPDATE, { id: svc, input: { active: false } }, manager.token)).errors).toBe(
      undefined,
    );
    const refused = await sg.gql(SLOTS, { site, service: svc, date });
    expect(refused.errors?.[0]?.extensions?.code).toBe('BOOKING_SERVICE_UNAVAILABLE');
    const booked = await sg.gql(
      CREATE,
      { input: { siteId: site, serviceId: svc, startsAt: at('08:00') } },
      client.token,
    );
    expect(booked.errors?.[0]?.extensions?.code).toBe('BOOKING_SERVICE_UNAVAILABLE');
  });

  it("applies another replica's new duration and deactivation once their events arrive", async () => {
    const replica = await startBookingReplica(sg, LONG_TTLS);
    try {
      const site = await createOpenSite(sg, manager.token, { bays: 1, opensAt: '08:00', closesAt: '09:00' });
      const svc = await createService(sg, manager.token, { durationMinutes: 30 });
      const { date } = day(22);
      const onReplica = async () =>
        (await replica.service.availableSlots(site, svc, date)).map((s) =>
          localTime(s.startsAt.toISOString()),
        );
      expect(await onReplica()).toEqual(['08:00', '08:15', '08:30']);

      // Changed through the gateway, i.e. on the other replica.
      expect((await sg.gql(UPDATE, { id: svc, input: { durationMinutes: 60 } }, manager.token)).errors).toBe(
        undefined,
      );
      // Not published yet: the replica still reads the row from its cache (the proof that it is in the way).
      expect(await onReplica()).toEqual(['08:00', '08:15', '08:30']);
      await bookingRelay();
      expect(await eventually(async () => (await onReplica()).join() === '08:00')).toBe(true);

      expect((await sg.gql(UPDATE, { id: svc, input: { active: false } }, manager.token)).errors).toBe(
        undefined,
      );
      await bookingRelay();
      expect(
        await eventually(() =>
          onReplica().then(
            () => false,
            (err: { code?: string }) => err.code === 'BOOKING_SERVICE_UNAVAILABLE',
          ),
        ),
      ).toBe(true);
    } finally {
      await replica.stop();
    }
  });
});

describe("booking's cache of auth's users", () => {
  it('refuses a customer once auth announces their deletion, and only that customer', async () => {
    const forCustomer = await bookingByManager(4, 15);
    const kept = await signUpAs(sg, 'CLIENT', 'Kept');
    const gone = await signUpAs(sg, 'CLIENT', 'Gone');
    // Both checked (and cached) as active clients; each booking is theirs.
    for (const [who, time] of [
      [kept, '08:00'],
      [gone, '08:00'],
    ] as const) {
      const res = await forCustomer(who.id, time);
      expect(res.errors).toBeUndefined();
      expect(res.data!.createBooking.customer.id).toBe(who.id);
    }

    const deleted = await sg.gql(
      `mutation($id: ID!) { deleteUser(id: $id) { deletedUserId } }`,
      { id: gone.id },
      gone.token,
    );
    expect(deleted.errors).toBeUndefined();
    // Not announced yet: the cached answer still says active (the cache is in the way).
    expect((await forCustomer(gone.id, '09:00')).errors).toBeUndefined();

    await relay();
    expect(
      await eventually(async () => {
        const res = await forCustomer(gone.id, '10:00');
        return res.errors?.[0]?.extensions?.field === 'input.customerId';
      }),
    ).toBe(true);
    const still = await forCustomer(kept.id, '11:00');
    expect(still.errors).toBeUndefined();
    expect(still.data!.createBooking.customer.id).toBe(kept.id);
  });

  it('refuses a customer whose role no longer books once the revocation is announced', async () => {
    const book = await bookingByManager(2, 16);
    const admin = await signUpAs(sg, 'ADMIN', 'Root');
    const worker = await signUpAs(sg, 'CLIENT', 'Worker');
    const forWorker = (time: string) => book(worker.id, time);
    expect((await forWorker('08:00')).errors).toBeUndefined();
    const changed = await sg.gql(
      `mutation($id: ID!) { setUserRole(userId: $id, role: WASHER) { id role } }`,
      { id: worker.id },
      admin.token,
    );
    expect(changed.errors).toBeUndefined();
    await relay();
    expect(
      await eventually(
        async () => (await forWorker('09:00')).errors?.[0]?.extensions?.field === 'input.customerId',
      ),
    ).toBe(true);
  });
});
