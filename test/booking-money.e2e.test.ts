import { randomUUID } from 'node:crypto';
import type { EventBus } from '@carwash/events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpenSite, createService } from './support/fixtures.js';
import { errorCode, signUpAs, startSupergraph, type Running } from './support/supergraph.js';

/**
 * Issue 9, the booking feature's money holes, replayed through the gateway on the real PostgreSQL and
 * Redis: a client confirming their own unpaid hold, one account holding every bay, and a payment
 * captured after its hold lapsed (or its booking was cancelled) that was never refunded.
 */
let sg: Running;
let manager: { id: string; token: string };
let serviceId: string;
let dayOffset = 3;

const PRICE = 4200;
const HOLD_CAP = 3; // BOOKING_MAX_LIVE_HOLDS' default
const CREATE = `mutation($i: CreateBookingInput!) { createBooking(input: $i) { id status bay } }`;
const CONFIRM = `mutation($id: ID!, $r: String) { confirmBooking(id: $id, reason: $r) { id status holdExpiresAt } }`;
const CANCEL = `mutation($id: ID!) { cancelBooking(id: $id) { status } }`;
const PAY = `mutation($b: ID!, $m: ID!, $k: String!) { payForBooking(bookingId: $b, methodId: $m, idempotencyKey: $k) { id status } }`;
const VIEW = `query($id: ID!) { booking(id: $id) { status bay history { from to reason changedBy { id } } transactions { status captured { amountCents } refunded { amountCents } refunds { amount { amountCents } status } } } }`;

type Client = { id: string; token: string };
interface View {
  status: string;
  bay: number;
  history: Array<{
    from: string | null;
    to: string;
    reason: string | null;
    changedBy: { id: string } | null;
  }>;
  transactions: Array<{
    status: string;
    captured: { amountCents: number };
    refunded: { amountCents: number };
    refunds: Array<{ amount: { amountCents: number }; status: string }>;
  }>;
}

const user = (role: 'CLIENT' | 'WASHER' | 'MANAGER', name = 'Mo') => signUpAs(sg, role, name);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A Berlin site open around the clock. */
function site(bays: number): Promise<string> {
  return createOpenSite(sg, manager.token, {
    name: `Money wash ${randomUUID().slice(0, 6)}`,
    bays,
    opensAt: '00:00',
    closesAt: '24:00',
  });
}

/** 12:00 UTC some days ahead, plus `minutes`: every test takes days of its own. */
function slot(days: number, minutes = 0): string {
  const d = new Date(Date.now() + days * 86_400_000);
  d.setUTCHours(12, minutes, 0, 0);
  return d.toISOString();
}

async function book(token: string, siteId: string, startsAt: string, customerId?: string): Promise<string> {
  const res = await sg.gql<{ createBooking: { id: string; status: string } }>(
    CREATE,
    { i: { siteId, serviceId, startsAt, customerId } },
    token,
  );
  expect(res.errors).toBeUndefined();
  expect(res.data!.createBooking.status).toBe('HELD');
  return res.data!.createBooking.id;
}

async function method(token: string): Promise<string> {
  const res = await sg.gql<{ addPaymentMethod: { id: string } }>(
    `mutation($i: AddPaymentMethodInput!) { addPaymentMethod(input: $i) { id } }`,
    { i: { providerToken: 'tok_visa', brand: 'visa', last4: '4242', expMonth: 12, expYear: 2099 } },
    token,
  );
  expect(res.errors).toBeUndefined();
  return res.data!.addPaymentMethod.id;
}

async function pay(client: Client, bookingId: string, methodId: string): Promise<void> {
  const res = await sg.gql<{ payForBooking: { status: string } }>(
    PAY,
    { b: bookingId, m: methodId, k: `pay-${randomUUID()}` },
    client.token,
  );
  expect(res.errors).toBeUndefined();
  expect(res.data!.payForBooking.status).toBe('CAPTURED');
}

async function view(token: string, id: string): Promise<View> {
  const res = await sg.gql<{ booking: View }>(VIEW, { id }, token);
  expect(res.errors).toBeUndefined();
  return res.data!.booking;
}

/** Every feature's outbox published once. */
async function relayAll(): Promise<void> {
  for (const s of [sg.auth, sg.location, sg.booking, sg.payment]) while ((await s.relay.runOnce()) > 0);
}

/** Runs the relays until `done` holds (or fails after the timeout). */
async function until(done: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await relayAll();
    if (await done()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** The consumer group has read and acknowledged everything on every stream (nothing undelivered or pending). */
async function drained(bus: EventBus, group: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const lag = await bus.lag(group);
    if (lag.every((l) => l.pending === 0 && l.undelivered === 0)) return;
    if (Date.now() > deadline) throw new Error(`group ${group} did not drain: ${JSON.stringify(lag)}`);
    await sleep(25);
  }
}

/** Booking's and payment's consumer groups have handled everything on the bus. */
async function bothDrained(): Promise<void> {
  await drained(sg.booking.bus, 'booking');
  await drained(sg.payment.bus, 'payment');
}

/**
 * Publishes the booking's `payment.charge.captured` event again, with its original id, as the bus does
 * after a consumer crash; waits until booking has consumed it and payment has consumed whatever booking
 * published in answer.
 */
async function redeliverCapture(bookingId: string): Promise<void> {
  const t = await sg.payment.db.transaction.findFirstOrThrow({
    where: { bookingId, status: { not: 'FAILED' } },
  });
  const n = await sg.payment.db.outboxEvent.updateMany({
    where: { topic: 'payment.charge.captured', aggregateId: t.id },
    data: { publishedAt: null },
  });
  expect(n.count).toBe(1);
  await relayAll();
  await drained(sg.booking.bus, 'booking');
  await relayAll();
  await drained(sg.payment.bus, 'payment');
}

const fast = { blockMs: 50, retryBaseMs: 100, retryMaxMs: 200 };

/** Moves the holds' expiry into the past rather than waiting for it (the sweep has not seen them yet). */
async function lapse(...ids: string[]): Promise<void> {
  await sg.booking.db.reservation.updateMany({
    where: { id: { in: ids } },
    data: { holdExpiresAt: new Date(Date.now() - 1000) },
  });
}

/** Runs `body` with booking's and payment's consumers on the bus, stopping them after. */
async function withConsumers(body: () => Promise<void>): Promise<void> {
  const consumers = [await sg.booking.startConsumers(fast), await sg.payment.startConsumers(fast)];
  try {
    await body();
  } finally {
    await Promise.all(consumers.map((c) => c.stop()));
  }
}

/** How many times booking announced the booking's cancellation. */
const cancellations = (aggregateId: string) =>
  sg.booking.db.outboxEvent.count({ where: { aggregateId, topic: 'booking.reservation.cancelled' } });

/** One charge, captured and refunded in full by one successful refund. */
const REFUNDED_IN_FULL: View['transactions'] = [
  {
    status: 'REFUNDED',
    captured: { amountCents: PRICE },
    refunded: { amountCents: PRICE },
    refunds: [{ amount: { amountCents: PRICE }, status: 'SUCCEEDED' }],
  },
];

/**
 * The booking stays `status`, its charge is refunded in full, and its history notes the refund once (from
 * and to that status, by no one) with `reason`.
 */
async function expectRefundedInFull(token: string, bookingId: string, status: string, reason: string) {
  const seen = await view(token, bookingId);
  expect(seen.status).toBe(status);
  expect(seen.transactions).toEqual(REFUNDED_IN_FULL);
  expect(seen.history.filter((h) => h.reason?.includes('refunded'))).toEqual([
    { from: status, to: status, reason, changedBy: null },
  ]);
}

/**
 * Waits until the lapsed, paid booking's charge is refunded, redelivers the capture, and checks it was
 * refunded in full exactly once and its cancellation announced once.
 */
async function expectRefundedOnceAfterLapse(token: string, bookingId: string): Promise<void> {
  await until(
    async () => (await view(token, bookingId)).transactions[0]?.status === 'REFUNDED',
    'the refund',
  );
  await redeliverCapture(bookingId);
  const seen = await view(token, bookingId);
  expect(seen.status).toBe('EXPIRED');
  expect(seen.transactions).toEqual(REFUNDED_IN_FULL);
  expect(await cancellations(bookingId)).toBe(1);
}

beforeAll(async () => {
  sg = await startSupergraph();
  manager = await user('MANAGER', 'Mia');
  serviceId = await createService(sg, manager.token, { name: 'Money wash', priceCents: PRICE });
});
afterAll(async () => {
  await sg?.stop();
});

describe('only money confirms a client hold', () => {
  it('refuses a client confirming its own unpaid hold, and confirms it when the payment is captured', async () => {
    const client = await user('CLIENT', 'Cleo');
    const s = await site(1);
    const b = await book(client.token, s, slot(dayOffset++));
    const before = await sg.booking.db.reservation.findUniqueOrThrow({ where: { id: b } });

    // The attack as the issue writes it: confirmBooking on one's own unpaid HELD booking.
    const free = await sg.gql(CONFIRM, { id: b }, client.token);
    expect(free.errors?.[0]?.extensions?.code).toBe('BOOKING_PAYMENT_REQUIRED');
    expect(free.data).toBeNull();
    const withReason = await sg.gql(CONFIRM, { id: b, r: 'I will pay at the site' }, client.token);
    expect(withReason.errors?.[0]?.extensions?.code).toBe('BOOKING_PAYMENT_REQUIRED');
    const after = await sg.booking.db.reservation.findUniqueOrThrow({ where: { id: b } });
    expect(after).toMatchObject({ status: 'HELD', holdExpiresAt: before.holdExpiresAt });
    expect((await view(client.token, b)).transactions).toEqual([]);

    // The legitimate path: the hold is still payable, and the captured payment confirms it through the bus.
    const consumer = await sg.booking.startConsumers(fast);
    try {
      await pay(client, b, await method(client.token));
      await until(
        async () =>
          (await sg.booking.db.reservation.findUniqueOrThrow({ where: { id: b } })).status === 'CONFIRMED',
        'the bus to confirm the paid hold',
      );
    } finally {
      await consumer.stop();
    }
    const seen = await view(client.token, b);
    expect(seen.status).toBe('CONFIRMED');
    expect(seen.history.map((h) => [h.from, h.to, h.reason, h.changedBy])).toEqual([
      [null, 'HELD', null, { id: client.id }],
      ['HELD', 'CONFIRMED', 'paid', null],
    ]);
    expect(seen.transactions).toMatchObject([
      { status: 'CAPTURED', captured: { amountCents: PRICE }, refunded: { amountCents: 0 } },
    ]);
  }, 30_000);

  it('lets a manager confirm a client hold only with a reason, recording who and why', async () => {
    const client = await user('CLIENT', 'Cole');
    const s = await site(1);
    const b = await book(client.token, s, slot(dayOffset++));
    const noReason = await sg.gql(CONFIRM, { id: b }, manager.token);
    expect(noReason.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'reason' });
    const blank = await sg.gql(CONFIRM, { id: b, r: '   ' }, manager.token);
    expect(blank.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'reason' });
    const ok = await sg.gql<{ confirmBooking: { status: string; holdExpiresAt: string | null } }>(
      CONFIRM,
      { id: b, r: 'pays at the site' },
      manager.token,
    );
    expect(ok.errors).toBeUndefined();
    expect(ok.data!.confirmBooking).toMatchObject({ status: 'CONFIRMED', holdExpiresAt: null });
    const seen = await view(client.token, b);
    expect(seen.history.at(-1)).toEqual({
      from: 'HELD',
      to: 'CONFIRMED',
      reason: 'pays at the site',
      changedBy: { id: manager.id },
    });
  });

  it('refuses a manager confirming their own unpaid hold, reason or not', async () => {
    const own = await user('MANAGER', 'Max');
    const s = await site(1);
    const b = await book(own.token, s, slot(dayOffset++));
    const res = await sg.gql(CONFIRM, { id: b, r: 'paid at the site, promise' }, own.token);
    expect(res.errors?.[0]?.extensions?.code).toBe('BOOKING_PAYMENT_REQUIRED');
    // Another manager may (the two-person rule), with a reason.
    const other = await sg.gql<{ confirmBooking: { status: string } }>(
      CONFIRM,
      { id: b, r: 'paid at the site' },
      manager.token,
    );
    expect(other.data?.confirmBooking.status).toBe('CONFIRMED');
  });

  it("refuses a client confirming someone else's hold without revealing it", async () => {
    const [owner, other] = [await user('CLIENT'), await user('CLIENT')];
    const s = await site(1);
    const b = await book(owner.token, s, slot(dayOffset++));
    const res = await sg.gql(CONFIRM, { id: b, r: 'x' }, other.token);
    expect(res.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await sg.booking.db.reservation.findUniqueOrThrow({ where: { id: b } })).status).toBe('HELD');
  });
});

describe('a cap on live holds per customer', () => {
  it(`accepts exactly ${HOLD_CAP} of 20 concurrent holds by one client for 20 different slots`, async () => {
    const client = await user('CLIENT', 'Greedy');
    const s = await site(20);
    const day = dayOffset++;
    // The attack: one account holding every slot of a site at once.
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        sg.gql(CREATE, { i: { siteId: s, serviceId, startsAt: slot(day, i * 45) } }, client.token),
      ),
    );
    const codes = results.map(errorCode);
    expect(codes.filter((c) => c === 'OK')).toHaveLength(HOLD_CAP);
    expect(codes.filter((c) => c === 'BOOKING_HOLD_LIMIT_REACHED')).toHaveLength(20 - HOLD_CAP);
    expect(results.find((r) => r.errors)?.errors?.[0]?.message).toContain(`${HOLD_CAP} unpaid bookings`);
    expect(await sg.booking.db.reservation.count({ where: { customerId: client.id } })).toBe(HOLD_CAP);
    // Another client is not affected by the first one's cap.
    const neighbour = await user('CLIENT', 'Nina');
    await book(neighbour.token, s, slot(day, 19 * 45));
  }, 60_000);

  it('frees a place when a hold is paid, cancelled or lapses — and not before', async () => {
    const client = await user('CLIENT', 'Hal');
    const s = await site(4);
    const day = dayOffset++;
    const holds: string[] = [];
    for (let i = 0; i < HOLD_CAP; i++) holds.push(await book(client.token, s, slot(day, i * 45)));
    const next = (i: number) =>
      sg.gql<{ createBooking: { id: string } }>(
        CREATE,
        { i: { siteId: s, serviceId, startsAt: slot(day, 300 + i * 45) } },
        client.token,
      );
    expect((await next(0)).errors?.[0]?.extensions?.code).toBe('BOOKING_HOLD_LIMIT_REACHED');

    // Cancelled.
    expect((await sg.gql(CANCEL, { id: holds[0] }, client.token)).errors).toBeUndefined();
    const afterCancel = await next(1);
    expect(afterCancel.errors).toBeUndefined();
    expect((await next(2)).errors?.[0]?.extensions?.code).toBe('BOOKING_HOLD_LIMIT_REACHED');

    // Lapsed (its expiry moved into the past rather than waiting the 10 minutes), even before the sweep records it.
    await lapse(holds[1]!);
    expect((await next(3)).errors).toBeUndefined();
    expect((await next(4)).errors?.[0]?.extensions?.code).toBe('BOOKING_HOLD_LIMIT_REACHED');

    // Paid: the bus confirms it.
    const consumer = await sg.booking.startConsumers(fast);
    try {
      await pay(client, holds[2]!, await method(client.token));
      await until(
        async () =>
          (await sg.booking.db.reservation.findUniqueOrThrow({ where: { id: holds[2]! } })).status ===
          'CONFIRMED',
        'the paid hold to be confirmed',
      );
    } finally {
      await consumer.stop();
    }
    expect((await next(5)).errors).toBeUndefined();
    expect((await next(6)).errors?.[0]?.extensions?.code).toBe('BOOKING_HOLD_LIMIT_REACHED');
  }, 30_000);

  it("lets a manager book past the cap on a client's behalf, and counts those holds against the client", async () => {
    const client = await user('CLIENT', 'Fleet');
    const s = await site(8);
    const day = dayOffset++;
    for (let i = 0; i <= HOLD_CAP; i++) await book(manager.token, s, slot(day, i * 45), client.id);
    expect(await sg.booking.db.reservation.count({ where: { customerId: client.id, status: 'HELD' } })).toBe(
      HOLD_CAP + 1,
    );
    const own = await sg.gql(CREATE, { i: { siteId: s, serviceId, startsAt: slot(day, 600) } }, client.token);
    expect(own.errors?.[0]?.extensions?.code).toBe('BOOKING_HOLD_LIMIT_REACHED');
  });
});

describe('a payment captured after the hold lapsed', () => {
  it('refunds in full, exactly once, a payment captured after the hold lapsed and its bay was taken; revives one whose bay is free', async () => {
    const [client, rival] = [await user('CLIENT', 'Late'), await user('CLIENT', 'Rival')];
    const m = await method(client.token);
    const s = await site(1);
    const [lostDay, freeDay] = [dayOffset++, dayOffset++];
    const lost = await book(client.token, s, slot(lostDay));
    const revived = await book(client.token, s, slot(freeDay));
    // Paid while held; booking hears of the captures only later (its consumer is not running yet).
    for (const b of [lost, revived]) await pay(client, b, m);
    // Both holds lapse (their expiry moved into the past rather than waiting) and the sweep records it.
    await lapse(lost, revived);
    expect(await sg.booking.service.expireLapsedHolds()).toBeGreaterThanOrEqual(2);
    // The first slot's bay goes to someone else.
    const rivalBooking = await book(rival.token, s, slot(lostDay));

    await withConsumers(async () => {
      await until(
        async () =>
          (await view(client.token, lost)).transactions[0]?.refunds.some((r) => r.status === 'SUCCEEDED') ===
            true && (await view(client.token, revived)).status === 'CONFIRMED',
        'the refund and the revival',
      );
      await bothDrained();
      const check = async () => {
        await expectRefundedInFull(
          client.token,
          lost,
          'EXPIRED',
          'paid after the hold lapsed and the slot was gone: the charge is refunded',
        );
        const r = await view(client.token, revived);
        expect(r.status).toBe('CONFIRMED');
        expect(r.transactions).toEqual([
          { status: 'CAPTURED', captured: { amountCents: PRICE }, refunded: { amountCents: 0 }, refunds: [] },
        ]);
        expect((await view(rival.token, rivalBooking)).status).toBe('HELD');
        expect(await cancellations(lost)).toBe(1);
      };
      await check();
      // Redelivered captures change nothing: no second cancellation, no second refund.
      for (const b of [lost, revived]) await redeliverCapture(b);
      await check();
    });
  }, 60_000);

  it('refunds in full, exactly once, a payment captured after the hold lapsed and its time passed', async () => {
    const client = await user('CLIENT', 'Tardy');
    const m = await method(client.token);
    const s = await site(1);
    // A wash starting in a few seconds: paid while held, heard of by booking only after the start.
    const startsAt = new Date(Date.now() + 3_000).toISOString();
    const b = await book(client.token, s, startsAt);
    await pay(client, b, m);
    await sleep(Math.max(0, Date.parse(startsAt) - Date.now()) + 100);
    await lapse(b);
    await sg.booking.service.expireLapsedHolds();
    await withConsumers(() => expectRefundedOnceAfterLapse(client.token, b));
  }, 60_000);

  it("refunds in full, exactly once, a late capture whose revival collides with its washer's other job (the rollback path)", async () => {
    const [client, other, washer] = [
      await user('CLIENT', 'Wendy'),
      await user('CLIENT', 'Otto'),
      await user('WASHER', 'Wes'),
    ];
    const m = await method(client.token);
    const s = await site(2);
    const day = dayOffset++;
    const shift = await sg.gql(
      `mutation($site: ID!, $user: ID!, $shift: ShiftInput!) { assignStaff(siteId: $site, userId: $user, shift: $shift) { id } }`,
      { site: s, user: washer.id, shift: { startsAt: slot(day, -120), endsAt: slot(day, 120) } },
      manager.token,
    );
    expect(shift.errors).toBeUndefined();
    const assign = (id: string) =>
      sg.gql(
        `mutation($id: ID!, $w: ID!) { assignWasher(id: $id, washerId: $w) { id } }`,
        { id, w: washer.id },
        manager.token,
      );
    const late = await book(client.token, s, slot(day));
    const rivalJob = await book(other.token, s, slot(day)); // bay 2
    expect((await assign(late)).errors).toBeUndefined();
    await pay(client, late, m);
    await lapse(late);
    await sg.booking.service.expireLapsedHolds();
    // Its bay stays free, but its washer now has the other job at that time: reviving it would put him in two.
    expect((await assign(rivalJob)).errors).toBeUndefined();
    await withConsumers(async () => {
      await expectRefundedOnceAfterLapse(client.token, late);
      expect(await sg.booking.db.reservation.findUniqueOrThrow({ where: { id: rivalJob } })).toMatchObject({
        status: 'HELD',
        washerId: washer.id,
      });
    });
  }, 60_000);

  it('refunds in full, exactly once, a payment captured after its booking was cancelled', async () => {
    const client = await user('CLIENT', 'Undecided');
    const m = await method(client.token);
    const s = await site(1);
    const b = await book(client.token, s, slot(dayOffset++));
    // Hold the provider's answer back, so the client cancels while the charge is in flight and payment
    // hears of the cancellation before the charge is captured (it has nothing to refund yet).
    const provider = sg.payment.provider;
    const charge = provider.charge;
    let reached!: () => void;
    let release!: () => void;
    const atProvider = new Promise<void>((r) => (reached = r));
    const gate = new Promise<void>((r) => (release = r));
    provider.charge = async (input) => {
      reached();
      await gate;
      return charge.call(provider, input);
    };
    const consumers = [await sg.booking.startConsumers(fast), await sg.payment.startConsumers(fast)];
    try {
      const paying = sg.gql<{ payForBooking: { status: string } }>(
        PAY,
        { b, m, k: `pay-${randomUUID()}` },
        client.token,
      );
      await atProvider;
      expect((await sg.gql(CANCEL, { id: b }, client.token)).errors).toBeUndefined();
      await relayAll();
      await drained(sg.payment.bus, 'payment');
      expect(await sg.payment.db.refund.count({ where: { transaction: { bookingId: b } } })).toBe(0);
      release();
      expect((await paying).data?.payForBooking.status).toBe('CAPTURED');

      await until(
        async () => (await view(client.token, b)).transactions[0]?.status === 'REFUNDED',
        'the refund of the late capture',
      );
      await bothDrained();
      const check = async () => {
        await expectRefundedInFull(
          client.token,
          b,
          'CANCELLED',
          'paid after the booking was cancelled: the charge is refunded',
        );
        // The client's own cancellation, then the one announced for the late capture.
        expect(await cancellations(b)).toBe(2);
      };
      await check();
      await redeliverCapture(b);
      await check();
    } finally {
      provider.charge = charge;
      await Promise.all(consumers.map((c) => c.stop()));
    }
  }, 60_000);
});
