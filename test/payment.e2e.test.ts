import { createHash, randomUUID } from 'node:crypto';
import { sqlStatements as paymentStatements } from '@carwash/payment';
import { signedFetch } from '@carwash/service-trust';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addCard, createBooking, createOpenSite, createService, siteDay } from './support/fixtures.js';
import { metricValue, scrapeMetrics } from './support/metrics.js';
import { errorCode, signUpAs, startSupergraph, type Running } from './support/supergraph.js';

let sg: Running;
let manager: { id: string; token: string };
let siteId: string;
let serviceId: string;
let dayOffset = 40;

const PAY = `mutation($b: ID!, $m: ID!, $k: String!) { payForBooking(bookingId: $b, methodId: $m, idempotencyKey: $k) { id status amount { amountCents currency } captured { amountCents } refunded { amountCents } createdAt } }`;
const REFUND = `mutation($t: ID!, $a: Int, $c: String, $k: String!) { refund(transactionId: $t, amountCents: $a, currency: $c, reason: "goodwill", idempotencyKey: $k) { id status amount { amountCents } } }`;

function user(role: 'CLIENT' | 'MANAGER', firstName = 'Pat') {
  return signUpAs(sg, role, firstName);
}

/** A new client with a card on file (`providerToken` picks how the sandbox answers) and a HELD booking of theirs. */
async function payer(providerToken = 'tok_visa') {
  const client = await user('CLIENT');
  const card = await addCard(sg, client.token, providerToken);
  return { client, card, b: await booking(client.token) };
}

/** A HELD booking for the client, on a day of its own. */
function booking(token: string, hhmm = '10:00', offset = dayOffset++): Promise<string> {
  return createBooking(sg, token, { siteId, serviceId, startsAt: siteDay(offset).at(hhmm) });
}

beforeAll(async () => {
  sg = await startSupergraph();
  manager = await user('MANAGER');
  siteId = await createOpenSite(sg, manager.token, { name: 'Pay wash', bays: 4 });
  serviceId = await createService(sg, manager.token, { name: 'Premium', priceCents: 4200 });
});
afterAll(async () => {
  await sg?.stop();
});

describe('payForBooking', () => {
  it('charges once for 100 concurrent calls with one key: one provider charge, one row, 100 identical answers', async () => {
    const { client, card: m, b } = await payer();
    const key = `pay-${randomUUID()}`;
    const chargesBefore = sg.payment.provider.charges.size;
    const answers = await Promise.all(
      Array.from({ length: 100 }, async () => {
        const res = await fetch(sg.gatewayUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${client.token}` },
          body: JSON.stringify({ query: PAY, variables: { b, m, k: key } }),
        });
        return res.text();
      }),
    );
    expect(new Set(answers).size).toBe(1);
    const parsed = JSON.parse(answers[0]!) as {
      data: { payForBooking: { status: string; amount: { amountCents: number } } };
    };
    expect(parsed.data.payForBooking).toMatchObject({
      status: 'CAPTURED',
      amount: { amountCents: 4200, currency: 'EUR' },
    });
    expect(sg.payment.provider.charges.size - chargesBefore).toBe(1);
    expect(await sg.payment.db.transaction.count({ where: { bookingId: b } })).toBe(1);
    const history = await sg.payment.db.transactionEvent.findMany({
      where: { transaction: { bookingId: b } },
      orderBy: { at: 'asc' },
    });
    expect(history.map((h) => h.toStatus)).toEqual(['PENDING', 'AUTHORIZED', 'CAPTURED']);
  }, 60_000);

  it('refuses the same key with different parameters', async () => {
    const client = await user('CLIENT');
    const m = await addCard(sg, client.token);
    const [b1, b2] = [await booking(client.token), await booking(client.token)];
    const key = `pay-${randomUUID()}`;
    expect((await sg.gql(PAY, { b: b1, m, k: key }, client.token)).errors).toBeUndefined();
    const reuse = await sg.gql(PAY, { b: b2, m, k: key }, client.token);
    expect(reuse.errors?.[0]?.extensions).toMatchObject({
      code: 'PAYMENT_IDEMPOTENCY_MISMATCH',
      field: 'idempotencyKey',
    });
  });

  it('takes the amount from the booking and confirms its hold through the bus', async () => {
    const { client, card: m, b } = await payer();
    const consumer = await sg.booking.startConsumers({ blockMs: 50, retryBaseMs: 100 });
    try {
      const res = await sg.gql<{ payForBooking: { amount: { amountCents: number } } }>(
        PAY,
        { b, m, k: `pay-${randomUUID()}` },
        client.token,
      );
      expect(res.data!.payForBooking.amount.amountCents).toBe(4200);
      while ((await sg.payment.relay.runOnce()) > 0);
      const until = Date.now() + 10_000;
      const status = async () =>
        (await sg.booking.db.reservation.findUniqueOrThrow({ where: { id: b } })).status;
      while ((await status()) !== 'CONFIRMED' && Date.now() < until)
        await new Promise((r) => setTimeout(r, 25));
      expect(await status()).toBe('CONFIRMED');
      const view = await sg.gql<{
        booking: { status: string; payment: { status: string; amount: { amountCents: number } } };
      }>(
        `query($id: ID!) { booking(id: $id) { status payment { status amount { amountCents } } } }`,
        { id: b },
        client.token,
      );
      expect(view.data!.booking).toEqual({
        status: 'CONFIRMED',
        payment: { status: 'CAPTURED', amount: { amountCents: 4200 } },
      });
    } finally {
      await consumer.stop();
    }
  });

  it.each([
    ['tok_decline', 'PAYMENT_DECLINED'],
    ['tok_insufficient_funds', 'PAYMENT_INSUFFICIENT_FUNDS'],
    ['tok_provider_error', 'PAYMENT_PROVIDER_ERROR'],
  ])('answers the sandbox card %s with %s', async (token, code) => {
    const { client, card: m, b } = await payer(token);
    const key = `pay-${randomUUID()}`;
    const res = await sg.gql(PAY, { b, m, k: key }, client.token);
    expect(res.errors?.[0]?.extensions?.code).toBe(code);
    const again = await sg.gql(PAY, { b, m, k: key }, client.token);
    expect(again.errors?.[0]?.extensions?.code).toBe(code);
    const row = await sg.payment.db.transaction.findFirstOrThrow({ where: { bookingId: b } });
    expect(row.status).toBe('FAILED');
  });

  it("refuses someone else's booking and a removed card", async () => {
    const [owner, other] = [await user('CLIENT'), await user('CLIENT')];
    const b = await booking(owner.token);
    const m = await addCard(sg, other.token);
    expect(
      (await sg.gql(PAY, { b, m, k: `pay-${randomUUID()}` }, other.token)).errors?.[0]?.extensions?.code,
    ).toBe('PAYMENT_BOOKING_NOT_PAYABLE');
    const own = await addCard(sg, owner.token);
    await sg.gql(`mutation($id: ID!) { removePaymentMethod(id: $id) { id } }`, { id: own }, owner.token);
    expect(
      (await sg.gql(PAY, { b, m: own, k: `pay-${randomUUID()}` }, owner.token)).errors?.[0]?.extensions?.code,
    ).toBe('PAYMENT_METHOD_UNUSABLE');
  });

  it('refuses a card number in place of a token', async () => {
    const client = await user('CLIENT');
    const res = await sg.gql(
      `mutation($i: AddPaymentMethodInput!) { addPaymentMethod(input: $i) { id } }`,
      { i: { providerToken: '4242424242424242', brand: 'visa', last4: '4242', expMonth: 12, expYear: 2099 } },
      client.token,
    );
    expect(res.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.providerToken',
    });
  });
});

describe('refunds', () => {
  async function paid(): Promise<{
    client: { id: string; token: string };
    transactionId: string;
    bookingId: string;
  }> {
    const { client, card: m, b } = await payer();
    const res = await sg.gql<{ payForBooking: { id: string } }>(
      PAY,
      { b, m, k: `pay-${randomUUID()}` },
      client.token,
    );
    return { client, transactionId: res.data!.payForBooking.id, bookingId: b };
  }

  it('refunds partially, then the rest, and never above the capture', async () => {
    const { transactionId } = await paid();
    const first = await sg.gql<{ refund: { status: string; amount: { amountCents: number } } }>(
      REFUND,
      { t: transactionId, a: 1000, k: `r-${randomUUID()}` },
      manager.token,
    );
    expect(first.data!.refund).toMatchObject({ status: 'SUCCEEDED', amount: { amountCents: 1000 } });
    const tooMuch = await sg.gql(
      REFUND,
      { t: transactionId, a: 3201, k: `r-${randomUUID()}` },
      manager.token,
    );
    expect(tooMuch.errors?.[0]?.extensions?.code).toBe('PAYMENT_REFUND_EXCEEDS_CAPTURED');
    const rest = await sg.gql<{ refund: { amount: { amountCents: number } } }>(
      REFUND,
      { t: transactionId, k: `r-${randomUUID()}` },
      manager.token,
    );
    expect(rest.data!.refund.amount.amountCents).toBe(3200);
    const t = await sg.payment.db.transaction.findUniqueOrThrow({ where: { id: transactionId } });
    expect(t).toMatchObject({ status: 'REFUNDED', capturedCents: 4200, refundedCents: 4200 });
  });

  it('lets only one of two racing refunds through when together they exceed the capture', async () => {
    const { transactionId } = await paid();
    const results = await Promise.all(
      [3000, 3000, 3000].map((a) =>
        sg.gql(REFUND, { t: transactionId, a, k: `r-${randomUUID()}` }, manager.token),
      ),
    );
    const codes = results.map(errorCode).sort();
    expect(codes).toEqual(['OK', 'PAYMENT_REFUND_EXCEEDS_CAPTURED', 'PAYMENT_REFUND_EXCEEDS_CAPTURED']);
    const t = await sg.payment.db.transaction.findUniqueOrThrow({ where: { id: transactionId } });
    expect(t.refundedCents).toBe(3000);
  });

  it.each([
    [{ a: -5 }, 'amountCents'],
    [{ a: 0 }, 'amountCents'],
    [{ a: 2 ** 31 }, 'amountCents'],
    [{ a: 100, c: 'USD' }, 'currency'],
  ])('refuses the refund %o with a coded error on %s', async (vars, field) => {
    const { transactionId } = await paid();
    const res = await sg.gql(REFUND, { t: transactionId, k: `r-${randomUUID()}`, ...vars }, manager.token);
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    if (res.errors?.[0]?.extensions?.field) expect(res.errors[0].extensions.field).toBe(field);
  });

  it('lets only managers refund', async () => {
    const { client, transactionId } = await paid();
    expect(
      (await sg.gql(REFUND, { t: transactionId, k: `r-${randomUUID()}` }, client.token)).errors?.[0]
        ?.extensions?.code,
    ).toBe('FORBIDDEN');
  });
});

describe('a payment that arrives after the hold lapsed', () => {
  it('revives the booking when its bay is still free, and refunds in full when the slot was taken', async () => {
    const oneBay = await createOpenSite(sg, manager.token, {
      name: 'One bay',
      opensAt: '00:00',
      closesAt: '24:00',
    });
    const [client, rival] = [await user('CLIENT'), await user('CLIENT')];
    const m = await addCard(sg, client.token);
    const slot = (days: number) => {
      const d = new Date(Date.now() + days * 86_400_000);
      d.setUTCHours(12, 0, 0, 0);
      return d.toISOString();
    };
    const create = (token: string, startsAt: string) =>
      createBooking(sg, token, { siteId: oneBay, serviceId, startsAt });
    const revived = await create(client.token, slot(3));
    const lost = await create(client.token, slot(4));
    for (const b of [revived, lost])
      expect((await sg.gql(PAY, { b, m, k: `pay-${randomUUID()}` }, client.token)).errors).toBeUndefined();
    // Both holds lapse before booking hears of the payments; the second slot goes to someone else.
    await sg.booking.db.reservation.updateMany({
      where: { id: { in: [revived, lost] } },
      data: { status: 'EXPIRED', holdExpiresAt: null },
    });
    await create(rival.token, slot(4));

    const consumers = [
      await sg.booking.startConsumers({ blockMs: 50, retryBaseMs: 100 }),
      await sg.payment.startConsumers({ blockMs: 50, retryBaseMs: 100 }),
    ];
    try {
      const refunded = () =>
        sg.payment.db.refund.count({ where: { transaction: { bookingId: lost }, status: 'SUCCEEDED' } });
      const until = Date.now() + 15_000;
      while (
        ((await refunded()) < 1 ||
          (await sg.booking.db.reservation.findUniqueOrThrow({ where: { id: revived } })).status !==
            'CONFIRMED') &&
        Date.now() < until
      ) {
        for (const s of [sg.payment, sg.booking]) while ((await s.relay.runOnce()) > 0);
        await new Promise((r) => setTimeout(r, 25));
      }
      expect((await sg.booking.db.reservation.findUniqueOrThrow({ where: { id: revived } })).status).toBe(
        'CONFIRMED',
      );
      expect((await sg.booking.db.reservation.findUniqueOrThrow({ where: { id: lost } })).status).toBe(
        'EXPIRED',
      );
      expect(await refunded()).toBe(1);
      expect(await sg.payment.db.refund.count({ where: { transaction: { bookingId: revived } } })).toBe(0);
    } finally {
      await Promise.all(consumers.map((c) => c.stop()));
    }
  }, 30_000);
});

describe('the cancellation policy', () => {
  it('refunds in full a day ahead, and keeps the late fee (20 %) when the customer cancels within 24 hours', async () => {
    const nightSite = await createOpenSite(sg, manager.token, {
      name: 'Night wash',
      bays: 4,
      opensAt: '00:00',
      closesAt: '24:00',
    });
    const client = await user('CLIENT');
    const m = await addCard(sg, client.token);
    const at = (hours: number) => {
      const d = new Date(Date.now() + hours * 3_600_000);
      d.setUTCMinutes(0, 0, 0);
      return d.toISOString();
    };
    const book = (startsAt: string) =>
      createBooking(sg, client.token, { siteId: nightSite, serviceId, startsAt });
    const early = await book(at(48));
    const late = await book(at(10));
    for (const b of [early, late])
      expect((await sg.gql(PAY, { b, m, k: `pay-${randomUUID()}` }, client.token)).errors).toBeUndefined();
    for (const b of [early, late])
      expect(
        (await sg.gql(`mutation($id: ID!) { cancelBooking(id: $id) { status } }`, { id: b }, client.token))
          .errors,
      ).toBeUndefined();
    const consumer = await sg.payment.startConsumers({ blockMs: 50, retryBaseMs: 100 });
    try {
      const refunds = () =>
        sg.payment.db.refund.findMany({
          where: { transaction: { bookingId: { in: [early, late] } }, status: 'SUCCEEDED' },
          include: { transaction: true },
        });
      const until = Date.now() + 15_000;
      while ((await refunds()).length < 2 && Date.now() < until) {
        while ((await sg.booking.relay.runOnce()) > 0);
        await new Promise((r) => setTimeout(r, 25));
      }
      const byBooking = Object.fromEntries(
        (await refunds()).map((r) => [r.transaction.bookingId, r.amountCents]),
      );
      expect(byBooking).toEqual({ [early]: 4200, [late]: 3360 });
    } finally {
      await consumer.stop();
    }
  }, 30_000);
});

describe('the seed chain: UserDeleted → bookings cancelled → refunds', () => {
  it('cancels and refunds two paid bookings exactly once each, even when the payment consumer restarts midway', async () => {
    const client = await user('CLIENT');
    const m = await addCard(sg, client.token);
    const bookings = [await booking(client.token, '09:00'), await booking(client.token, '11:00')];
    for (const b of bookings)
      expect((await sg.gql(PAY, { b, m, k: `pay-${randomUUID()}` }, client.token)).errors).toBeUndefined();
    const fast = { blockMs: 50, retryBaseMs: 100, retryMaxMs: 200 };
    const bookingConsumer = await sg.booking.startConsumers(fast);
    let paymentConsumer = await sg.payment.startConsumers(fast);
    const relays = () =>
      Promise.all(
        [sg.auth, sg.booking, sg.payment].map(async (s) => {
          while ((await s.relay.runOnce()) > 0);
        }),
      );
    try {
      await sg.gql(
        `mutation($id: ID!) { deleteUser(id: $id) { deletedUserId } }`,
        { id: client.id },
        client.token,
      );
      const refunded = () =>
        sg.payment.db.refund.count({
          where: { transaction: { bookingId: { in: bookings } }, status: 'SUCCEEDED' },
        });
      const until = Date.now() + 20_000;
      let restarted = false;
      while ((await refunded()) < 2 && Date.now() < until) {
        await relays();
        if (
          !restarted &&
          (await sg.booking.db.reservation.count({ where: { id: { in: bookings }, status: 'CANCELLED' } })) >
            0
        ) {
          // Restart the payment consumer in the middle of the chain.
          await paymentConsumer.stop();
          paymentConsumer = await sg.payment.startConsumers(fast);
          restarted = true;
        }
        await new Promise((r) => setTimeout(r, 25));
      }
      await relays();
      await new Promise((r) => setTimeout(r, 300));
      expect(restarted).toBe(true);
      expect(
        await sg.booking.db.reservation.count({ where: { id: { in: bookings }, status: 'CANCELLED' } }),
      ).toBe(2);
      expect(await refunded()).toBe(2);
      const refunds = await sg.payment.db.refund.findMany({
        where: { transaction: { bookingId: { in: bookings } } },
      });
      expect(refunds).toHaveLength(2);
      expect(refunds.every((r) => r.amountCents === 4200)).toBe(true);
      expect(
        await sg.payment.db.outboxEvent.count({
          where: { topic: 'payment.refund.processed', aggregateId: { in: refunds.map((r) => r.id) } },
        }),
      ).toBe(2);
      expect(
        await sg.payment.db.paymentMethod.count({ where: { customerId: client.id, removedAt: null } }),
      ).toBe(0);
    } finally {
      await bookingConsumer.stop();
      await paymentConsumer.stop();
    }
  }, 60_000);
});

describe('batching and visibility', () => {
  it('loads Booking.payment for 100 bookings with one SQL statement in payment', async () => {
    const client = await user('CLIENT');
    const ids = Array.from({ length: 100 }, () => randomUUID());
    await sg.payment.db.transaction.createMany({
      data: ids.map((bookingId) => ({
        customerId: client.id,
        bookingId,
        amountCents: 1000,
        currency: 'EUR',
        capturedCents: 1000,
        status: 'CAPTURED' as const,
        idempotencyKey: `seed-${bookingId}`,
        providerKey: `seed-${bookingId}`,
        requestHash: 'x',
      })),
    });
    const before = paymentStatements.count;
    // The call the gateway makes to payment after a query lists 100 bookings with their payment.
    const signed = signedFetch(sg.keys.credentials.gateway!, 'payment');
    const direct = await signed(sg.paymentUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${manager.token}` },
      body: JSON.stringify({
        query: `query($r: [_Any!]!) { _entities(representations: $r) { ... on Booking { id payment { id amount { amountCents } } } } }`,
        variables: { r: ids.map((id) => ({ __typename: 'Booking', id })) },
      }),
    });
    const body = (await direct.json()) as {
      data: { _entities: Array<{ payment: { amount: { amountCents: number } } | null }> };
      errors?: unknown;
    };
    expect(body.errors).toBeUndefined();
    expect(body.data._entities.every((e) => e.payment?.amount.amountCents === 1000)).toBe(true);
    expect(paymentStatements.count - before).toBe(1);
  });

  it("hides a user's payment methods and transactions from other clients", async () => {
    const [a, b] = [await user('CLIENT'), await user('CLIENT')];
    await addCard(sg, a.token);
    const own = await sg.gql<{ me: { paymentMethods: Array<{ last4: string }> } }>(
      `{ me { paymentMethods { last4 isDefault } } }`,
      {},
      a.token,
    );
    expect(own.data!.me.paymentMethods).toEqual([{ last4: '4242', isDefault: true }]);
    const snoop = await sg.gql(
      `query($id: ID!) { user(id: $id) { paymentMethods { last4 } transactions { totalCount } } }`,
      { id: a.id },
      b.token,
    );
    expect(snoop.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(JSON.stringify(snoop.data)).not.toContain('4242');
  });
});

describe('issue 9: one live charge per booking', () => {
  it('refuses a second charge sent together with another idempotency key (the double charge), and keeps answering the first key', async () => {
    const { client, card: m, b } = await payer();
    const [k1, k2] = [`pay-${randomUUID()}`, `pay-${randomUUID()}`];
    const chargesBefore = sg.payment.provider.charges.size;
    const both = await Promise.all(
      [k1, k2].map((k) =>
        sg.gql<{ payForBooking: { id: string; status: string } }>(PAY, { b, m, k }, client.token),
      ),
    );
    expect(both.map(errorCode).sort()).toEqual(['OK', 'PAYMENT_ALREADY_PAID']);
    const winner = both.find((r) => !r.errors)!;
    expect(winner.data!.payForBooking.status).toBe('CAPTURED');
    const loser = both.find((r) => r.errors)!;
    expect(loser.errors![0]!.extensions).toMatchObject({ code: 'PAYMENT_ALREADY_PAID', field: 'bookingId' });
    // Only one charge reached the provider: 4,200 cents taken, not 8,400.
    expect(sg.payment.provider.charges.size - chargesBefore).toBe(1);
    const rows = await sg.payment.db.transaction.findMany({ where: { bookingId: b } });
    expect(rows.map((r) => [r.status, r.capturedCents])).toEqual([['CAPTURED', 4200]]);
    // The same key still returns the first answer; the other key is still refused.
    const [winnerKey, loserKey] = winner === both[0] ? [k1, k2] : [k2, k1];
    expect((await sg.gql(PAY, { b, m, k: winnerKey }, client.token)).data).toEqual(winner.data);
    expect(errorCode(await sg.gql(PAY, { b, m, k: loserKey }, client.token))).toBe('PAYMENT_ALREADY_PAID');
  });

  it('captures exactly once for 100 concurrent payForBooking with 100 different keys', async () => {
    const { client, card: m, b } = await payer();
    const chargesBefore = sg.payment.provider.charges.size;
    const results = await Promise.all(
      Array.from({ length: 100 }, () => sg.gql(PAY, { b, m, k: `pay-${randomUUID()}` }, client.token)),
    );
    const codes = results.map(errorCode);
    expect(codes.filter((c) => c === 'OK')).toHaveLength(1);
    expect(codes.filter((c) => c === 'PAYMENT_ALREADY_PAID')).toHaveLength(99);
    expect(sg.payment.provider.charges.size - chargesBefore).toBe(1);
    expect(await sg.payment.db.transaction.count({ where: { bookingId: b } })).toBe(1);
    expect(
      (await sg.payment.db.transaction.findFirstOrThrow({ where: { bookingId: b } })).capturedCents,
    ).toBe(4200);
  }, 60_000);

  it('refuses to revive an outage-failed charge once the booking was paid under another key', async () => {
    const { client, card: outage, b } = await payer('tok_provider_error');
    const good = await addCard(sg, client.token);
    const first = `pay-${randomUUID()}`;
    expect(errorCode(await sg.gql(PAY, { b, m: outage, k: first }, client.token))).toBe(
      'PAYMENT_PROVIDER_ERROR',
    );
    expect(errorCode(await sg.gql(PAY, { b, m: good, k: `pay-${randomUUID()}` }, client.token))).toBe('OK');
    // Retrying the failed key would put a second live charge on the booking: the index refuses it.
    expect(errorCode(await sg.gql(PAY, { b, m: outage, k: first }, client.token))).toBe(
      'PAYMENT_ALREADY_PAID',
    );
    expect(
      (await sg.payment.db.transaction.findMany({ where: { bookingId: b } })).map((t) => t.status).sort(),
    ).toEqual(['CAPTURED', 'FAILED']);
  });

  it('resumes a PENDING charge left by a dead request when the client retries with the same key', async () => {
    const { client, card: m, b } = await payer();
    const key = `pay-${randomUUID()}`;
    // What a payment process leaves when it dies after committing the PENDING row and before the provider answered.
    const requestHash = createHash('sha256')
      .update(JSON.stringify(['pay', client.id, b, m]))
      .digest('hex');
    const t = await sg.payment.db.transaction.create({
      data: {
        customerId: client.id,
        bookingId: b,
        methodId: m,
        amountCents: 4200,
        currency: 'EUR',
        status: 'PENDING',
        idempotencyKey: key,
        providerKey: `pay:${client.id}:${key}`,
        requestHash,
      },
    });
    await sg.payment.db
      .$executeRaw`UPDATE payment_transactions SET updated_at = now() - interval '1 hour' WHERE id = ${t.id}::uuid`;
    // Meanwhile another key is refused: the PENDING charge is live.
    expect(errorCode(await sg.gql(PAY, { b, m, k: `pay-${randomUUID()}` }, client.token))).toBe(
      'PAYMENT_ALREADY_PAID',
    );
    const retry = await sg.gql<{ payForBooking: { id: string; status: string } }>(
      PAY,
      { b, m, k: key },
      client.token,
    );
    expect(retry.data?.payForBooking).toMatchObject({ id: t.id, status: 'CAPTURED' });
    expect(sg.payment.provider.charges.has(`pay:${client.id}:${key}`)).toBe(true);
    const resumed = metricValue(await scrapeMetrics(sg.paymentUrl), 'payment_resumed_operations_total', {
      kind: 'charge',
      trigger: 'retry',
      outcome: 'succeeded',
    });
    expect(resumed).toBeGreaterThanOrEqual(1);
  });

  it('lets a declined card be followed by a successful payment with another card', async () => {
    const { client, card: declined, b } = await payer('tok_decline');
    const good = await addCard(sg, client.token);
    expect(errorCode(await sg.gql(PAY, { b, m: declined, k: `pay-${randomUUID()}` }, client.token))).toBe(
      'PAYMENT_DECLINED',
    );
    const paid = await sg.gql<{ payForBooking: { status: string } }>(
      PAY,
      { b, m: good, k: `pay-${randomUUID()}` },
      client.token,
    );
    expect(paid.data?.payForBooking.status).toBe('CAPTURED');
  });
});

describe('issue 9: idempotency keys scoped per customer', () => {
  it("never answers one customer's key with another customer's charge", async () => {
    const [alice, bob] = [await user('CLIENT', 'Alice'), await user('CLIENT', 'Bob')];
    const [ma, ba] = [await addCard(sg, alice.token), await booking(alice.token)];
    const [mb, bb] = [await addCard(sg, bob.token), await booking(bob.token)];
    const shared = `pay-${randomUUID()}`;
    const chargesBefore = sg.payment.provider.charges.size;
    const a = await sg.gql<{ payForBooking: { id: string; status: string } }>(
      PAY,
      { b: ba, m: ma, k: shared },
      alice.token,
    );
    // Before: Bob got PAYMENT_IDEMPOTENCY_MISMATCH, learning that someone had used his key.
    const b = await sg.gql<{ payForBooking: { id: string; status: string } }>(
      PAY,
      { b: bb, m: mb, k: shared },
      bob.token,
    );
    expect(a.errors).toBeUndefined();
    expect(b.errors).toBeUndefined();
    expect(a.data!.payForBooking.status).toBe('CAPTURED');
    expect(b.data!.payForBooking.status).toBe('CAPTURED');
    expect(a.data!.payForBooking.id).not.toBe(b.data!.payForBooking.id);
    // Two charges at the provider: Bob's key did not return Alice's charge there either.
    expect(sg.payment.provider.charges.size - chargesBefore).toBe(2);
    // Each retry returns its own customer's first answer.
    expect((await sg.gql(PAY, { b: ba, m: ma, k: shared }, alice.token)).data).toEqual(a.data);
    expect((await sg.gql(PAY, { b: bb, m: mb, k: shared }, bob.token)).data).toEqual(b.data);
    const rows = await sg.payment.db.transaction.findMany({
      where: { idempotencyKey: shared },
      orderBy: { createdAt: 'asc' },
    });
    expect(rows.map((r) => [r.customerId, r.bookingId])).toEqual([
      [alice.id, ba],
      [bob.id, bb],
    ]);
  });
});

describe('issue 9: payment methods are changed only by their owner (and admins)', () => {
  const REMOVE = `mutation($id: ID!) { removePaymentMethod(id: $id) { id } }`;
  const SET_DEFAULT = `mutation($id: ID!) { setDefaultPaymentMethod(id: $id) { id isDefault } }`;

  it("refuses a manager removing a customer's card or changing their default card", async () => {
    const client = await user('CLIENT');
    const [first, second] = [
      await addCard(sg, client.token),
      await addCard(sg, client.token, 'tok_mastercard'),
    ];
    const remove = await sg.gql(REMOVE, { id: first }, manager.token);
    expect(remove.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const setDefault = await sg.gql(SET_DEFAULT, { id: second }, manager.token);
    expect(setDefault.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const rows = await sg.payment.db.paymentMethod.findMany({
      where: { customerId: client.id },
      orderBy: { createdAt: 'asc' },
    });
    expect(rows.map((r) => [r.id, r.isDefault, r.removedAt, r.providerToken])).toEqual([
      [first, true, null, 'tok_visa'],
      [second, false, null, 'tok_mastercard'],
    ]);
    // Another client does not even learn that the card exists.
    const stranger = await user('CLIENT');
    expect((await sg.gql(REMOVE, { id: first }, stranger.token)).errors?.[0]?.extensions?.code).toBe(
      'PAYMENT_METHOD_UNUSABLE',
    );
  });

  it('lets the owner change their default card and remove a card, and an admin remove one', async () => {
    const client = await user('CLIENT');
    const admin = await signUpAs(sg, 'ADMIN');
    const [first, second] = [
      await addCard(sg, client.token),
      await addCard(sg, client.token, 'tok_mastercard'),
    ];
    const own = await sg.gql<{ setDefaultPaymentMethod: { isDefault: boolean } }>(
      SET_DEFAULT,
      { id: second },
      client.token,
    );
    expect(own.data?.setDefaultPaymentMethod.isDefault).toBe(true);
    const removed = await sg.gql<{ removePaymentMethod: { id: string } }>(
      REMOVE,
      { id: first },
      client.token,
    );
    expect(removed.data?.removePaymentMethod.id).toBe(first);
    const byAdmin = await sg.gql<{ removePaymentMethod: { id: string } }>(
      REMOVE,
      { id: second },
      admin.token,
    );
    expect(byAdmin.errors).toBeUndefined();
    expect(byAdmin.data?.removePaymentMethod.id).toBe(second);
    expect(
      await sg.payment.db.paymentMethod.count({ where: { customerId: client.id, removedAt: null } }),
    ).toBe(0);
  });
});
