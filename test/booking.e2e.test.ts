import { randomUUID } from 'node:crypto';
import { sqlStatements as authStatements } from '@carwash/auth';
import { sqlStatements as bookingStatements } from '@carwash/booking';
import { sqlStatements as locationStatements } from '@carwash/location';
import { sqlStatements as paymentStatements } from '@carwash/payment';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpenSite, createService } from './support/fixtures.js';
import { errorCode, signUpAs, startSupergraph, type Running } from './support/supergraph.js';

let sg: Running;
let manager: { id: string; token: string };
let alice: { id: string; token: string };

const CREATE = `mutation($input: CreateBookingInput!) { createBooking(input: $input) { id status bay startsAt endsAt holdExpiresAt price { amountCents currency } } }`;
const SLOTS = `query($site: ID!, $service: ID!, $date: Date!) { availableSlots(siteId: $site, serviceId: $service, date: $date) { startsAt endsAt freeBays } }`;

/** `createBooking` through the gateway as the holder of `token`. */
function book<T = { createBooking: { id: string } }>(token: string, input: Record<string, unknown>) {
  return sg.gql<T>(CREATE, { input }, token);
}

function user(role: 'CLIENT' | 'WASHER' | 'MANAGER', firstName = 'Kim') {
  return signUpAs(sg, role, firstName);
}

/** A Berlin site open 06:00–22:00 every day. */
function site(bays = 1, opensAt = '06:00', closesAt = '22:00'): Promise<string> {
  return createOpenSite(sg, manager.token, {
    name: `Booking site ${randomUUID().slice(0, 6)}`,
    bays,
    opensAt,
    closesAt,
  });
}

function service(durationMinutes = 30, priceCents = 1500, isAddOn = false): Promise<string> {
  const name = `${isAddOn ? 'Wax' : 'Wash'} ${randomUUID().slice(0, 4)}`;
  return createService(sg, manager.token, { name, durationMinutes, priceCents, isAddOn });
}

/** A local date some days ahead, and the UTC instant of a local time on it. */
function day(offset: number) {
  const date = DateTime.now().setZone('Europe/Berlin').plus({ days: offset }).toISODate()!;
  return {
    date,
    at: (hhmm: string) => DateTime.fromISO(`${date}T${hhmm}`, { zone: 'Europe/Berlin' }).toUTC().toISO()!,
  };
}

/** A new site of `bays`, a `minutes`-long service and a day `offset` days ahead: where most tests book. */
async function bookable(bays: number, minutes: number, offset: number) {
  const s = await site(bays);
  const svc = await service(minutes);
  const { date, at } = day(offset);
  /** `createBooking` of that service at that site, at local `hhmm` of that day. */
  const bookAt = <T = { createBooking: { id: string } }>(
    token: string,
    hhmm: string,
    input: Record<string, unknown> = {},
  ) => book<T>(token, { siteId: s, serviceId: svc, startsAt: at(hhmm), ...input });
  return { s, svc, date, at, bookAt };
}

/** `n` users of `role` written straight into auth's table: tests that need dozens, none of whom signs in. */
async function seedUsers(
  n: number,
  role: 'CLIENT' | 'WASHER',
  name: (i: number) => { firstName: string; lastName: string },
) {
  const users = Array.from({ length: n }, (_, i) => ({ id: randomUUID(), role, ...name(i) }));
  await sg.auth.db.user.createMany({ data: users });
  return users;
}

beforeAll(async () => {
  // The 500-request burst below takes longer to drain on a shared 2-core machine than the gateway's 10 s
  // default subgraph deadline (it would answer SUBGRAPH_TIMEOUT); these tests are about booking's rules.
  sg = await startSupergraph({ gatewayEnv: { SUBGRAPH_BOOKING_TIMEOUT_MS: '120000' } });
  manager = await user('MANAGER');
  alice = await user('CLIENT', 'Alice');
});
afterAll(async () => {
  await sg?.stop();
});

describe('catalogue', () => {
  it('lets managers add services that everyone can read, and refuses bad prices and durations', async () => {
    const id = await service(45, 2500);
    const pub = await sg.gql<{
      service: { name: string; durationMinutes: number; price: { amountCents: number; currency: string } };
    }>(`query($id: ID!) { service(id: $id) { name durationMinutes price { amountCents currency } } }`, {
      id,
    });
    expect(pub.data!.service).toMatchObject({
      durationMinutes: 45,
      price: { amountCents: 2500, currency: 'EUR' },
    });
    const byClient = await sg.gql(
      `mutation { createService(input: { name: "x", durationMinutes: 30, priceCents: 100, currency: "EUR" }) { id } }`,
      {},
      alice.token,
    );
    expect(byClient.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    for (const [input, field] of [
      [{ priceCents: -1 }, 'input.priceCents'],
      [{ durationMinutes: 0 }, 'input.durationMinutes'],
      [{ currency: 'euro' }, 'input.currency'],
    ] as const) {
      const res = await sg.gql(
        `mutation($input: CreateServiceInput!) { createService(input: $input) { id } }`,
        { input: { name: 'Bad', durationMinutes: 30, priceCents: 100, currency: 'EUR', ...input } },
        manager.token,
      );
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
  });
});

describe('availability and holds', () => {
  it('offers slots inside opening hours and stops offering a taken one', async () => {
    const s = await site(1, '08:00', '10:00');
    const svc = await service(30);
    const { date, at } = day(10);
    const before = await sg.gql<{ availableSlots: Array<{ startsAt: string; freeBays: number }> }>(SLOTS, {
      site: s,
      service: svc,
      date,
    });
    expect(before.errors).toBeUndefined();
    // 30 min washes, 15 min steps, within 08:00–10:00 local.
    expect(before.data!.availableSlots.map((x) => x.startsAt)).toEqual(
      ['08:00', '08:15', '08:30', '08:45', '09:00', '09:15', '09:30'].map((t) =>
        new Date(at(t)).toISOString(),
      ),
    );
    const booked = await book<{ createBooking: { status: string; holdExpiresAt: string; bay: number } }>(
      alice.token,
      { siteId: s, serviceId: svc, startsAt: at('09:00') },
    );
    expect(booked.errors).toBeUndefined();
    expect(booked.data!.createBooking).toMatchObject({ status: 'HELD', bay: 1 });
    expect(new Date(booked.data!.createBooking.holdExpiresAt).getTime()).toBeGreaterThan(
      Date.now() + 500_000,
    );
    const after = await sg.gql<{ availableSlots: Array<{ startsAt: string }> }>(SLOTS, {
      site: s,
      service: svc,
      date,
    });
    // 09:00–09:30 plus a 10 minute buffer: 08:30 … 09:30 starts collide.
    expect(after.data!.availableSlots.map((x) => x.startsAt)).toEqual(
      ['08:00', '08:15'].map((t) => new Date(at(t)).toISOString()),
    );
  });

  it('accepts exactly 10 of 500 concurrent bookings for 10 slots of one bay', async () => {
    const s = await site(1);
    const svc = await service(30);
    const { at } = day(12);
    const starts = Array.from({ length: 10 }, (_, i) => at(`${String(8 + i).padStart(2, '0')}:00`));
    // One client per slot (50 racing requests each), so the bay decides and not the live-hold cap.
    const clients = await Promise.all(starts.map(() => user('CLIENT', 'Racer')));
    const results = await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        book(clients[i % 10]!.token, { siteId: s, serviceId: svc, startsAt: starts[i % 10] }),
      ),
    );
    const codes = results.map(errorCode);
    expect(codes.filter((c) => c === 'OK')).toHaveLength(10);
    expect(codes.filter((c) => c === 'BOOKING_SLOT_TAKEN')).toHaveLength(490);
    const rows = await sg.booking.db.reservation.findMany({ where: { siteId: s } });
    expect(rows).toHaveLength(10);
    expect(new Set(rows.map((r) => r.startsAt.toISOString())).size).toBe(10);
  }, 120_000);

  it('refuses past times, times outside opening hours, unknown services and closed sites with coded errors', async () => {
    const s = await site(2, '08:00', '12:00');
    const svc = await service(60);
    const { at } = day(14);
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ startsAt: new Date(Date.now() - 3_600_000).toISOString() }, 'BAD_USER_INPUT', 'input.startsAt'],
      [{ startsAt: at('11:30') }, 'BOOKING_OUTSIDE_OPENING_HOURS', 'input.startsAt'],
      [{ startsAt: at('07:00') }, 'BOOKING_OUTSIDE_OPENING_HOURS', 'input.startsAt'],
      [{ serviceId: randomUUID() }, 'BOOKING_SERVICE_UNAVAILABLE', 'input.serviceId'],
      [{ siteId: randomUUID() }, 'BOOKING_SITE_UNAVAILABLE', 'input.siteId'],
      [{ siteId: 'not-a-uuid' }, 'BAD_USER_INPUT', 'input.siteId'],
    ];
    for (const [override, code, field] of cases) {
      const res = await book(alice.token, { siteId: s, serviceId: svc, startsAt: at('09:00'), ...override });
      expect(res.errors?.[0]?.extensions, JSON.stringify(override)).toMatchObject({ code, field });
    }
    await sg.gql(
      `mutation($id: ID!) { closeSite(id: $id, reason: "Renovation") { id } }`,
      { id: s },
      manager.token,
    );
    // Booking knows of the closure from its event (which also evicts its cached answer about the site).
    const closure = await sg.location.db.outboxEvent.findFirstOrThrow({
      where: { aggregateId: s, topic: 'location.site.closed' },
    });
    const consumer = await sg.booking.startConsumers({ blockMs: 50, retryBaseMs: 100 });
    try {
      while ((await sg.location.relay.runOnce()) > 0);
      const until = Date.now() + 10_000;
      const handled = () => sg.booking.db.inboxEntry.count({ where: { eventId: closure.id } });
      while ((await handled()) === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
      expect(await handled()).toBe(1);
    } finally {
      await consumer.stop();
    }
    const closed = await book(alice.token, { siteId: s, serviceId: svc, startsAt: at('09:00') });
    expect(closed.errors?.[0]?.extensions?.code).toBe('BOOKING_SITE_UNAVAILABLE');
  });

  it('lets a hold lapse by itself, freeing the bay', async () => {
    const quick = await startSupergraph({ bookingEnv: { BOOKING_HOLD_TTL_SECONDS: '10' } });
    try {
      const svc = await service(30);
      const s = await site(1);
      const { at } = day(16);
      const first = await quick.gql<{ createBooking: { id: string } }>(
        CREATE,
        { input: { siteId: s, serviceId: svc, startsAt: at('10:00') } },
        alice.token,
      );
      expect(first.errors).toBeUndefined();
      const blocked = await quick.gql(
        CREATE,
        { input: { siteId: s, serviceId: svc, startsAt: at('10:00') } },
        alice.token,
      );
      expect(blocked.errors?.[0]?.extensions?.code).toBe('BOOKING_SLOT_TAKEN');
      // Let the hold lapse (10 s TTL) by moving its expiry into the past rather than sleeping.
      await quick.booking.db.reservation.update({
        where: { id: first.data!.createBooking.id },
        data: { holdExpiresAt: new Date(Date.now() - 1000) },
      });
      const confirm = await quick.gql(
        `mutation($id: ID!) { confirmBooking(id: $id, reason: "paid at the site") { status } }`,
        { id: first.data!.createBooking.id },
        manager.token,
      );
      expect(confirm.errors?.[0]?.extensions?.code).toBe('BOOKING_HOLD_EXPIRED');
      const again = await quick.gql<{ createBooking: { status: string } }>(
        CREATE,
        { input: { siteId: s, serviceId: svc, startsAt: at('10:00') } },
        alice.token,
      );
      expect(again.data?.createBooking.status).toBe('HELD');
      const history = await quick.booking.db.history.findMany({
        where: { reservationId: first.data!.createBooking.id },
        orderBy: { changedAt: 'asc' },
      });
      expect(history.map((h) => [h.fromStatus, h.toStatus])).toEqual([
        [null, 'HELD'],
        ['HELD', 'EXPIRED'],
      ]);
    } finally {
      await quick.stop();
    }
  });
});

describe('the booking lifecycle', () => {
  it('runs held → confirmed → in progress → completed with the assigned washer, recording history', async () => {
    const s = await site(2);
    const svc = await service(30, 2000);
    const wax = await service(30, 500, true);
    const { at } = day(18);
    const washer = await user('WASHER', 'Wes');
    await sg.gql(
      `mutation($site: ID!, $user: ID!, $shift: ShiftInput!) { assignStaff(siteId: $site, userId: $user, shift: $shift) { id } }`,
      { site: s, user: washer.id, shift: { startsAt: at('08:00'), endsAt: at('16:00') } },
      manager.token,
    );
    const created = await book<{ createBooking: { id: string; price: { amountCents: number } } }>(
      alice.token,
      { siteId: s, serviceId: svc, startsAt: at('10:00'), addOnIds: [wax] },
    );
    const id = created.data!.createBooking.id;
    expect(created.data!.createBooking.price.amountCents).toBe(2500);
    await sg.gql(
      `mutation($id: ID!, $input: UpdateServiceInput!) { updateService(id: $id, input: $input) { id } }`,
      { id: svc, input: { priceCents: 9999 } },
      manager.token,
    );

    const step = async (mutation: string, token: string, extra = '') =>
      sg.gql<Record<string, { status: string }>>(
        `mutation($id: ID!) { ${mutation}(id: $id${extra}) { status } }`,
        { id },
        token,
      );
    expect((await step('confirmBooking', alice.token)).errors?.[0]?.extensions?.code).toBe(
      'BOOKING_PAYMENT_REQUIRED',
    );
    expect((await step('confirmBooking', manager.token, ', reason: "paid at the site"')).data).toEqual({
      confirmBooking: { status: 'CONFIRMED' },
    });
    expect((await step('startBooking', washer.token)).errors?.[0]?.extensions?.code).toBe('NOT_FOUND'); // not his booking yet
    const assigned = await sg.gql(
      `mutation($id: ID!, $w: ID!) { assignWasher(id: $id, washerId: $w) { id } }`,
      { id, w: washer.id },
      manager.token,
    );
    expect(assigned.errors).toBeUndefined();
    expect((await step('startBooking', washer.token)).data).toEqual({
      startBooking: { status: 'IN_PROGRESS' },
    });
    expect((await step('completeBooking', washer.token)).data).toEqual({
      completeBooking: { status: 'COMPLETED' },
    });
    const illegal = await step('confirmBooking', manager.token, ', reason: "again"');
    expect(illegal.errors?.[0]?.extensions).toMatchObject({
      code: 'BOOKING_ILLEGAL_TRANSITION',
      from: 'COMPLETED',
      to: 'CONFIRMED',
    });

    const view = await sg.gql<{ booking: Record<string, unknown> }>(
      `query($id: ID!) { booking(id: $id) { status price { amountCents } items { name price { amountCents } } customer { firstName } washer { firstName } site { name } service { name } history { from to reason changedBy { id } } } }`,
      { id },
      alice.token,
    );
    expect(view.errors).toBeUndefined();
    expect(view.data!.booking).toMatchObject({
      status: 'COMPLETED',
      price: { amountCents: 2500 },
      customer: { firstName: 'Alice' },
      washer: { firstName: 'Wes' },
    });
    expect(
      (
        view.data!.booking.history as Array<{
          from: string | null;
          to: string;
          reason: string | null;
          changedBy: { id: string } | null;
        }>
      ).map((h) => [h.from, h.to, h.reason, h.changedBy?.id]),
    ).toEqual([
      [null, 'HELD', null, alice.id],
      ['HELD', 'CONFIRMED', 'paid at the site', manager.id],
      ['CONFIRMED', 'IN_PROGRESS', null, washer.id],
      ['IN_PROGRESS', 'COMPLETED', null, washer.id],
    ]);
    const events = await sg.booking.db.outboxEvent.findMany({
      where: { aggregateId: id },
      orderBy: { seq: 'asc' },
    });
    expect(events.map((e) => e.topic)).toEqual([
      'booking.reservation.created',
      ...Array(3).fill('booking.reservation.statusChanged'),
    ]);
  });

  it('lets a client cancel before the cutoff but not after; managers cancel with a reason', async () => {
    const { s, svc, bookAt } = await bookable(3, 30, 20);
    const later = await bookAt(alice.token, '12:00');
    const cancel = (id: string, token: string, reason?: string) =>
      sg.gql<{ cancelBooking: { status: string } }>(
        `mutation($id: ID!, $r: String) { cancelBooking(id: $id, reason: $r) { status } }`,
        { id, r: reason },
        token,
      );
    expect((await cancel(later.data!.createBooking.id, alice.token)).data).toEqual({
      cancelBooking: { status: 'CANCELLED' },
    });

    const tight = await sg.booking.db.reservation.create({
      data: {
        customerId: alice.id,
        siteId: s,
        serviceId: svc,
        bay: 2,
        startsAt: new Date(Date.now() + 30 * 60_000),
        endsAt: new Date(Date.now() + 60 * 60_000),
        blockedUntil: new Date(Date.now() + 70 * 60_000),
        status: 'CONFIRMED',
        serviceName: 'x',
        priceCents: 1,
        currency: 'EUR',
      },
    });
    expect((await cancel(tight.id, alice.token)).errors?.[0]?.extensions?.code).toBe(
      'BOOKING_CANCELLATION_TOO_LATE',
    );
    expect((await cancel(tight.id, manager.token)).errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'reason',
    });
    expect((await cancel(tight.id, manager.token, 'Machine broken')).data).toEqual({
      cancelBooking: { status: 'CANCELLED' },
    });
    const cancelled = await sg.booking.db.outboxEvent.findMany({
      where: { aggregateId: tight.id, topic: 'booking.reservation.cancelled' },
    });
    expect(cancelled[0]!.payload).toMatchObject({
      reservationId: tight.id,
      reason: 'Machine broken',
      cancelledBy: manager.id,
    });
  });

  it('refuses to book one washer into two overlapping jobs', async () => {
    const { s, at, bookAt } = await bookable(2, 60, 22);
    const washer = await user('WASHER');
    const carl = await user('CLIENT', 'Carl');
    await sg.gql(
      `mutation($site: ID!, $user: ID!, $shift: ShiftInput!) { assignStaff(siteId: $site, userId: $user, shift: $shift) { id } }`,
      { site: s, user: washer.id, shift: { startsAt: at('08:00'), endsAt: at('16:00') } },
      manager.token,
    );
    const a = await bookAt(carl.token, '10:00');
    const b = await bookAt(carl.token, '10:30');
    const assign = (id: string) =>
      sg.gql(
        `mutation($id: ID!, $w: ID!) { assignWasher(id: $id, washerId: $w) { id } }`,
        { id, w: washer.id },
        manager.token,
      );
    expect((await assign(a.data!.createBooking.id)).errors).toBeUndefined();
    expect((await assign(b.data!.createBooking.id)).errors?.[0]?.extensions?.code).toBe(
      'BOOKING_WASHER_BUSY',
    );
    const offShift = await bookAt(carl.token, '17:00');
    expect((await assign(offShift.data!.createBooking.id)).errors?.[0]?.extensions?.code).toBe(
      'BOOKING_WASHER_NOT_ASSIGNED',
    );
  });

  it('shows a client only their own bookings, also through User.bookings', async () => {
    const { bookAt } = await bookable(2, 30, 24);
    const bob = await user('CLIENT', 'Bob');
    const mine = await bookAt(bob.token, '09:00');
    const other = await sg.gql<{ booking: unknown }>(
      `query($id: ID!) { booking(id: $id) { id } }`,
      { id: mine.data!.createBooking.id },
      alice.token,
    );
    expect(other.data!.booking).toBeNull();
    const own = await sg.gql<{
      me: { bookings: { totalCount: number; nodes: Array<{ id: string; status: string }> } };
    }>(`{ me { bookings(status: [HELD]) { totalCount nodes { id status } } } }`, {}, bob.token);
    expect(own.data!.me.bookings).toEqual({
      totalCount: 1,
      nodes: [{ id: mine.data!.createBooking.id, status: 'HELD' }],
    });
    const snoop = await sg.gql(
      `query($id: ID!) { user(id: $id) { bookings { totalCount } } }`,
      { id: bob.id },
      alice.token,
    );
    expect(snoop.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('on behalf and no-shows', () => {
  it('lets a manager book for a client, but not a client for someone else', async () => {
    const { bookAt } = await bookable(2, 30, 30);
    const dave = await user('CLIENT', 'Dave');
    const forDave = await bookAt(manager.token, '09:00', { customerId: dave.id });
    expect(forDave.errors).toBeUndefined();
    const row = await sg.booking.db.reservation.findUniqueOrThrow({
      where: { id: forDave.data!.createBooking.id },
    });
    expect(row).toMatchObject({ customerId: dave.id, createdBy: manager.id });
    const sneaky = await bookAt(alice.token, '10:00', { customerId: dave.id });
    expect(sneaky.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', field: 'input.customerId' });
    const washer = await user('WASHER');
    const forWasher = await bookAt(manager.token, '11:00', { customerId: washer.id });
    expect(forWasher.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.customerId',
    });
  });

  it('records a no-show only after the start', async () => {
    const { s, svc, bookAt } = await bookable(2, 30, 32);
    const future = await bookAt(alice.token, '09:00');
    await sg.gql(
      `mutation($id: ID!) { confirmBooking(id: $id, reason: "paid at the site") { id } }`,
      { id: future.data!.createBooking.id },
      manager.token,
    );
    const early = await sg.gql(
      `mutation($id: ID!) { markNoShow(id: $id) { status } }`,
      { id: future.data!.createBooking.id },
      manager.token,
    );
    expect(early.errors?.[0]?.extensions?.code).toBe('BOOKING_ILLEGAL_TRANSITION');
    const past = await sg.booking.db.reservation.create({
      data: {
        customerId: alice.id,
        siteId: s,
        serviceId: svc,
        bay: 1,
        startsAt: new Date(Date.now() - 3_600_000),
        endsAt: new Date(Date.now() - 1_800_000),
        blockedUntil: new Date(Date.now() - 1_200_000),
        status: 'CONFIRMED',
        serviceName: 'x',
        priceCents: 1,
        currency: 'EUR',
      },
    });
    const late = await sg.gql<{ markNoShow: { status: string } }>(
      `mutation($id: ID!) { markNoShow(id: $id) { status } }`,
      { id: past.id },
      manager.token,
    );
    expect(late.data).toEqual({ markNoShow: { status: 'NO_SHOW' } });
  });
});

describe('events', () => {
  it('cancels the future bookings of a site that closes, through the bus', async () => {
    const { s, bookAt } = await bookable(2, 30, 34);
    const booked = await bookAt(alice.token, '09:00');
    await sg.gql(
      `mutation($id: ID!) { closeSite(id: $id, reason: "Flood") { id } }`,
      { id: s },
      manager.token,
    );
    const consumer = await sg.booking.startConsumers({ blockMs: 50, retryBaseMs: 100 });
    try {
      while ((await sg.location.relay.runOnce()) > 0);
      const until = Date.now() + 10_000;
      const status = async () =>
        (await sg.booking.db.reservation.findUniqueOrThrow({ where: { id: booked.data!.createBooking.id } }))
          .status;
      while ((await status()) !== 'CANCELLED' && Date.now() < until)
        await new Promise((r) => setTimeout(r, 25));
      expect(await status()).toBe('CANCELLED');
      const [entry] = await sg.booking.db.history.findMany({
        where: { reservationId: booked.data!.createBooking.id, toStatus: 'CANCELLED' },
      });
      expect(entry).toMatchObject({ changedBy: null, reason: 'site closed: Flood' });
    } finally {
      await consumer.stop();
    }
  });

  it("cancels a deleted customer's future bookings through the bus", async () => {
    const { bookAt } = await bookable(2, 30, 26);
    const carol = await user('CLIENT', 'Carol');
    const ids: string[] = [];
    for (const t of ['09:00', '11:00']) ids.push((await bookAt(carol.token, t)).data!.createBooking.id);
    await sg.gql(
      `mutation($id: ID!) { deleteUser(id: $id) { deletedUserId } }`,
      { id: carol.id },
      carol.token,
    );
    const consumer = await sg.booking.startConsumers({ blockMs: 50, retryBaseMs: 100 });
    try {
      while ((await sg.auth.relay.runOnce()) > 0);
      const until = Date.now() + 10_000;
      const cancelled = () =>
        sg.booking.db.reservation.count({ where: { id: { in: ids }, status: 'CANCELLED' } });
      while ((await cancelled()) < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
      expect(await cancelled()).toBe(2);
      expect(
        await sg.booking.db.outboxEvent.count({
          where: { aggregateId: { in: ids }, topic: 'booking.reservation.cancelled' },
        }),
      ).toBe(2);
    } finally {
      await consumer.stop();
    }
  });
});

describe('the manager dashboard', () => {
  it('costs a constant number of SQL statements per subgraph for 10 or 100 bookings with customer, washer, site, service and items', async () => {
    const s = await site(100);
    const svc = await service(30);
    const wax = await service(30, 300, true);
    const { date, at } = day(28);
    const customers = await seedUsers(100, 'CLIENT', () => ({ firstName: 'Dash', lastName: 'Board' }));
    const start = new Date(at('10:00'));
    const rows = customers.map((c, i) => ({
      id: randomUUID(),
      customerId: c.id,
      siteId: s,
      serviceId: svc,
      washerId: customers[(i + 1) % 100]!.id,
      bay: i + 1,
      startsAt: new Date(start.getTime() + (i % 10) * 60_000),
      endsAt: new Date(start.getTime() + 30 * 60_000),
      blockedUntil: new Date(start.getTime() + 40 * 60_000),
      status: 'CONFIRMED' as const,
      serviceName: 'Wash',
      priceCents: 1800,
      currency: 'EUR',
    }));
    // Distinct washers must not overlap: give each row its own washer (the next customer id stands in).
    await sg.booking.db.reservation.createMany({ data: rows });
    await sg.booking.db.reservationItem.createMany({
      data: rows.map((r) => ({
        reservationId: r.id,
        serviceId: wax,
        name: 'Wax',
        priceCents: 300,
        currency: 'EUR',
      })),
    });
    const q = `query($id: ID!, $date: Date!) { site(id: $id) { name bookings(date: $date) { id customer { firstName } washer { firstName } site { name } service { name } items { name } } } }`;
    const count = async () => ({
      booking: bookingStatements.count,
      auth: authStatements.count,
      location: locationStatements.count,
    });
    const measure = async (siteId: string) => {
      const before = await count();
      const res = await sg.gql<{
        site: { bookings: Array<{ customer: { firstName: string }; items: unknown[] }> };
      }>(q, { id: siteId, date }, manager.token);
      expect(res.errors).toBeUndefined();
      const after = await count();
      return {
        n: res.data!.site.bookings.length,
        sql: {
          booking: after.booking - before.booking,
          auth: after.auth - before.auth,
          location: after.location - before.location,
        },
      };
    };
    const small = await site(10);
    const smallWashers = await seedUsers(10, 'WASHER', () => ({ firstName: 'Wash', lastName: 'Er' }));
    await sg.booking.db.reservation.createMany({
      data: rows
        .slice(0, 10)
        .map((r, i) => ({ ...r, id: randomUUID(), siteId: small, washerId: smallWashers[i]!.id })),
    });
    const ten = await measure(small);
    const hundred = await measure(s);
    expect(ten.n).toBe(10);
    expect(hundred.n).toBe(100);
    // booking: the day's bookings, their services, their items; auth: customers and washers (one
    // fetch each in the query plan); location: the site name and the time zone that @requires needs.
    expect(hundred.sql).toEqual(ten.sql);
    expect(hundred.sql).toEqual({ booking: 3, auth: 2, location: 2 });
  });
});

describe("the customers' own lists under a site's day", () => {
  type Page = {
    totalCount: number;
    pageInfo: { hasNextPage: boolean; endCursor: string };
    nodes: Array<{ id: string }>;
  };
  const Q = `query($id: ID!, $date: Date!) { site(id: $id) { bookings(date: $date) { customer { id bookings(first: 2) { totalCount pageInfo { hasNextPage endCursor } nodes { id } } transactions(first: 2) { totalCount pageInfo { hasNextPage endCursor } nodes { id } } } } } }`;

  /** A site whose day has one booking of each of `n` new customers, who each have 3 bookings and 3 charges. */
  async function customersOfADay(n: number, svc: string, date: string, at: (hhmm: string) => string) {
    const s = await site(n);
    const customers = await seedUsers(n, 'CLIENT', (i) => ({ firstName: `Many${i}`, lastName: 'Lists' }));
    const base = new Date(at('12:00')).getTime();
    const reservation = (
      customerId: string,
      startsAt: number,
      bay: number,
      status: 'CONFIRMED' | 'COMPLETED',
    ) => ({
      id: randomUUID(),
      customerId,
      siteId: s,
      serviceId: svc,
      bay,
      startsAt: new Date(startsAt),
      endsAt: new Date(startsAt + 30 * 60_000),
      blockedUntil: new Date(startsAt + 40 * 60_000),
      status,
      serviceName: 'Wash',
      priceCents: 1800,
      currency: 'EUR',
    });
    const DAY_MS = 86_400_000;
    // The day's booking is each customer's latest; two earlier ones (completed) lie on other days.
    const rows = customers.flatMap((c, i) => [
      reservation(c.id, base, i + 1, 'CONFIRMED'),
      reservation(c.id, base - 3 * DAY_MS, i + 1, 'COMPLETED'),
      reservation(c.id, base - 5 * DAY_MS, i + 1, 'COMPLETED'),
    ]);
    await sg.booking.db.reservation.createMany({ data: rows });
    const charges = customers.flatMap((c) =>
      [0, 1, 2].map((k) => ({
        id: randomUUID(),
        customerId: c.id,
        amountCents: 1800,
        currency: 'EUR',
        capturedCents: 1800,
        status: 'CAPTURED' as const,
        idempotencyKey: `many-${k}`,
        providerKey: `many-${c.id}-${k}`,
        requestHash: 'x',
        createdAt: new Date(Date.now() - k * 60_000),
      })),
    );
    await sg.payment.db.transaction.createMany({ data: charges });
    return { site: s, customers, rows, charges };
  }

  it('reads the bookings and charges of 10 or 50 customers with the same number of SQL statements', async () => {
    const svc = await service(30);
    const { date, at } = day(33);
    const measure = async (n: number) => {
      const seeded = await customersOfADay(n, svc, date, at);
      const before = { booking: bookingStatements.count, payment: paymentStatements.count };
      const res = await sg.gql<{
        site: {
          bookings: Array<{ customer: { id: string; bookings: Page; transactions: Page } }>;
        };
      }>(Q, { id: seeded.site, date }, manager.token);
      expect(res.errors).toBeUndefined();
      const sql = {
        booking: bookingStatements.count - before.booking,
        payment: paymentStatements.count - before.payment,
      };
      const lists = res.data!.site.bookings.map((b) => b.customer);
      expect(lists).toHaveLength(n);
      for (const c of lists) {
        // Each customer's own latest two, not another's: the page is per customer in the one statement.
        const mine = seeded.rows.filter((r) => r.customerId === c.id);
        expect(c.bookings.nodes.map((b) => b.id)).toEqual([mine[0]!.id, mine[1]!.id]);
        expect(c.bookings).toMatchObject({ totalCount: 3, pageInfo: { hasNextPage: true } });
        const charges = seeded.charges.filter((t) => t.customerId === c.id);
        expect(c.transactions.nodes.map((t) => t.id)).toEqual([charges[0]!.id, charges[1]!.id]);
        expect(c.transactions).toMatchObject({ totalCount: 3, pageInfo: { hasNextPage: true } });
      }
      return { sql, seeded, lists };
    };
    const ten = await measure(10);
    const fifty = await measure(50);
    // booking: the day's bookings, then every customer's page in one; payment: every customer's charges in one.
    expect(fifty.sql).toEqual(ten.sql);
    expect(fifty.sql).toEqual({ booking: 2, payment: 1 });

    // The next page of one customer resumes after the cursor (keyset): the third, oldest booking and charge.
    const one = ten.lists[0]!;
    const next = await sg.gql<{ user: { bookings: Page; transactions: Page } }>(
      `query($id: ID!, $b: String, $t: String) { user(id: $id) { bookings(first: 2, after: $b) { totalCount pageInfo { hasNextPage endCursor } nodes { id } } transactions(first: 2, after: $t) { totalCount pageInfo { hasNextPage endCursor } nodes { id } } } }`,
      { id: one.id, b: one.bookings.pageInfo.endCursor, t: one.transactions.pageInfo.endCursor },
      manager.token,
    );
    expect(next.errors).toBeUndefined();
    const mine = ten.seeded.rows.filter((r) => r.customerId === one.id);
    const charges = ten.seeded.charges.filter((t) => t.customerId === one.id);
    expect(next.data!.user.bookings).toMatchObject({
      totalCount: 3,
      pageInfo: { hasNextPage: false },
      nodes: [{ id: mine[2]!.id }],
    });
    expect(next.data!.user.transactions).toMatchObject({
      totalCount: 3,
      pageInfo: { hasNextPage: false },
      nodes: [{ id: charges[2]!.id }],
    });
  });

  it('refuses a booking cursor given to transactions, an edited one and a page above 100', async () => {
    const { date, at } = day(34);
    const seeded = await customersOfADay(1, await service(30), date, at);
    const id = seeded.customers[0]!.id;
    const first = await sg.gql<{ user: { bookings: Page } }>(
      `query($id: ID!) { user(id: $id) { bookings(first: 1) { pageInfo { endCursor } } } }`,
      { id },
      manager.token,
    );
    const cursor = first.data!.user.bookings.pageInfo.endCursor;
    const TX = `query($id: ID!, $after: String, $first: Int) { user(id: $id) { transactions(first: $first, after: $after) { totalCount } } }`;
    const BK = `query($id: ID!, $after: String, $first: Int) { user(id: $id) { bookings(first: $first, after: $after) { totalCount } } }`;
    for (const [q, after, first, field] of [
      [TX, cursor, 1, 'after'],
      [BK, `${cursor.slice(0, -4)}AAAA`, 1, 'after'],
      [BK, 'b2Zmc2V0OjQw', 1, 'after'],
      [BK, null, 101, 'first'],
      [TX, null, 101, 'first'],
    ] as const) {
      const res = await sg.gql(q, { id, after, first }, manager.token);
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
      expect(JSON.stringify(res.errors)).not.toMatch(/SELECT|prisma|stack/i);
    }
  });
});
