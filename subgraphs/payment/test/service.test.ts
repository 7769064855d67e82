import { randomUUID } from 'node:crypto';
import { createEvent } from '@carwash/events';
import type { Viewer } from '@carwash/service-trust';
import { describe, expect, it } from 'vitest';
import { createLoaders } from '../src/loaders.js';
import { PaymentService, type ResumeListener } from '../src/service.js';
import { FakeBookings, FakePaymentRepository, FakeProvider } from './fakes.js';

const PRICE = 4200;
const CUTOFF_MINUTES = 1440;
const FEE_PERCENT = 20;
const MINUTE = 60_000;
const FAR_FUTURE_YEAR = 2099;

/** The service over in-memory fakes of its repository, its provider and booking. */
function sut() {
  const repo = new FakePaymentRepository();
  const provider = new FakeProvider();
  const bookings = new FakeBookings();
  const resumed: Parameters<ResumeListener>[0][] = [];
  const service = new PaymentService(
    repo,
    provider,
    bookings,
    {
      PAYMENT_CANCEL_CUTOFF_MINUTES: CUTOFF_MINUTES,
      PAYMENT_LATE_CANCEL_FEE_PERCENT: FEE_PERCENT,
      PAYMENT_RESUME_STALE_AFTER_MS: MINUTE,
    },
    (r) => resumed.push(r),
  );
  const customer: Viewer = { userId: randomUUID(), role: 'CLIENT', sessionId: randomUUID() };
  const card = (token = 'tok_visa') =>
    service.addMethod(customer, {
      providerToken: token,
      brand: 'visa',
      last4: '4242',
      expMonth: 12,
      expYear: FAR_FUTURE_YEAR,
    });
  /** A captured charge of a fresh hold. */
  const paid = async () => {
    const b = bookings.hold(customer.userId, PRICE);
    const m = await card();
    const t = await service.payForBooking(customer, b.id, m.id, `pay-${randomUUID()}`);
    return { booking: b, transactionId: t.id as string };
  };
  const statusOf = (transactionId: string) => repo.state.transactions.get(transactionId)!.status;
  return { repo, provider, bookings, resumed, service, customer, card, paid, statusOf };
}

/** Rejects with an AppError of `code`. */
const rejectsWith = (p: Promise<unknown>, code: string) => expect(p).rejects.toMatchObject({ code });

describe('PaymentService.payForBooking (fakes)', () => {
  it('captures the price booking reports, recording pending → authorized → captured and the captured event', async () => {
    const { service, repo, provider, customer, bookings, card } = sut();
    const b = bookings.hold(customer.userId, PRICE);
    const m = await card();
    const answer = await service.payForBooking(customer, b.id, m.id, 'key-00000001');
    expect(answer).toMatchObject({
      status: 'CAPTURED',
      amountCents: PRICE,
      capturedCents: PRICE,
      bookingId: b.id,
    });
    expect(provider.charges).toHaveLength(1);
    expect(
      repo.state.history.filter((h) => h.transactionId === answer.id).map((h) => [h.fromStatus, h.toStatus]),
    ).toEqual([
      [null, 'PENDING'],
      ['PENDING', 'AUTHORIZED'],
      ['AUTHORIZED', 'CAPTURED'],
    ]);
    expect(repo.state.outbox).toEqual([
      expect.objectContaining({ topic: 'payment.charge.captured', aggregateId: answer.id }),
    ]);
  });

  it('answers a retry with the same key with the first answer and never charges twice', async () => {
    const { service, provider, customer, bookings, card } = sut();
    const b = bookings.hold(customer.userId);
    const m = await card();
    const first = await service.payForBooking(customer, b.id, m.id, 'key-00000002');
    const again = await service.payForBooking(customer, b.id, m.id, 'key-00000002');
    expect(again).toEqual(first);
    expect(provider.charges).toHaveLength(1);
  });

  it('refuses the same key with other parameters (PAYMENT_IDEMPOTENCY_MISMATCH) without reaching the provider', async () => {
    const { service, provider, customer, bookings, card } = sut();
    const b = bookings.hold(customer.userId);
    const [m1, m2] = [await card(), await card()];
    await service.payForBooking(customer, b.id, m1.id, 'key-00000003');
    await rejectsWith(
      service.payForBooking(customer, b.id, m2.id, 'key-00000003'),
      'PAYMENT_IDEMPOTENCY_MISMATCH',
    );
    expect(provider.charges).toHaveLength(1);
  });

  it('refuses a second charge of a paid booking under another key (PAYMENT_ALREADY_PAID)', async () => {
    const { service, provider, customer, bookings, card } = sut();
    const b = bookings.hold(customer.userId);
    const m = await card();
    await service.payForBooking(customer, b.id, m.id, 'key-00000004');
    await rejectsWith(service.payForBooking(customer, b.id, m.id, 'key-00000005'), 'PAYMENT_ALREADY_PAID');
    expect(provider.charges).toHaveLength(1);
  });

  it('fails a declined charge (pending → failed), stores the decline and replays it to the same key', async () => {
    const { service, repo, provider, customer, bookings, card } = sut();
    const b = bookings.hold(customer.userId);
    const m = await card('tok_insufficient_funds');
    await rejectsWith(
      service.payForBooking(customer, b.id, m.id, 'key-00000006'),
      'PAYMENT_INSUFFICIENT_FUNDS',
    );
    const [t] = [...repo.state.transactions.values()];
    expect(t).toMatchObject({ status: 'FAILED', failureCode: 'insufficient_funds' });
    expect(repo.state.history.map((h) => h.toStatus)).toEqual(['PENDING', 'FAILED']);
    await rejectsWith(
      service.payForBooking(customer, b.id, m.id, 'key-00000006'),
      'PAYMENT_INSUFFICIENT_FUNDS',
    );
    expect(provider.charges).toHaveLength(1);
    expect(repo.state.outbox).toHaveLength(0);
  });

  it('answers PAYMENT_PROVIDER_ERROR, not an empty charge, when another worker failed it on an outage meanwhile', async () => {
    const { service, repo, provider, customer, bookings, card } = sut();
    const b = bookings.hold(customer.userId);
    const m = await card();
    const charge = provider.charge.bind(provider);
    provider.charge = async (input) => {
      const answer = await charge(input);
      // While this worker waited for the provider, a second one resumed the charge, met an outage and
      // settled it FAILED without an answer (as `charge` does on an outage).
      const t = [...repo.state.transactions.values()].find((x) => x.providerKey === input.idempotencyKey)!;
      repo.state.transactions.set(t.id, { ...t, status: 'FAILED', failureCode: 'provider_error' });
      return answer;
    };
    await rejectsWith(service.payForBooking(customer, b.id, m.id, 'key-00000099'), 'PAYMENT_PROVIDER_ERROR');
    expect(repo.state.outbox).toHaveLength(0);
  });

  it('lets the same key retry after a provider outage and capture once the provider is back', async () => {
    const { service, repo, provider, customer, bookings, card } = sut();
    const b = bookings.hold(customer.userId);
    const m = await card();
    provider.down = true;
    await rejectsWith(service.payForBooking(customer, b.id, m.id, 'key-00000007'), 'PAYMENT_PROVIDER_ERROR');
    expect([...repo.state.transactions.values()][0]).toMatchObject({
      status: 'FAILED',
      failureCode: 'provider_error',
      response: null,
    });
    provider.down = false;
    expect(await service.payForBooking(customer, b.id, m.id, 'key-00000007')).toMatchObject({
      status: 'CAPTURED',
    });
    // Both calls carried the charge's stored provider key, so the provider could not charge twice.
    expect(new Set(provider.charges.map((c) => c.idempotencyKey)).size).toBe(1);
  });

  it('refuses someone else’s booking and a removed card, and keeps the key free for a corrected retry', async () => {
    const { service, repo, customer, bookings, card } = sut();
    const other = bookings.hold(randomUUID());
    const m = await card();
    await rejectsWith(
      service.payForBooking(customer, other.id, m.id, 'key-00000008'),
      'PAYMENT_BOOKING_NOT_PAYABLE',
    );
    const own = bookings.hold(customer.userId);
    await service.removeMethod(customer, m.id);
    await rejectsWith(
      service.payForBooking(customer, own.id, m.id, 'key-00000008'),
      'PAYMENT_METHOD_UNUSABLE',
    );
    expect(repo.state.transactions.size).toBe(0);
    expect(await service.payForBooking(customer, own.id, (await card()).id, 'key-00000008')).toMatchObject({
      status: 'CAPTURED',
    });
  });
});

describe('PaymentService.refund (fakes)', () => {
  it('refunds a part (partially refunded), then the rest (refunded), and records each step', async () => {
    const { service, repo, paid, statusOf } = sut();
    const { transactionId } = await paid();
    await service.refund(null, transactionId, 1000, 'goodwill', 'refund-0001');
    expect(statusOf(transactionId)).toBe('PARTIALLY_REFUNDED');
    const rest = await service.refund(null, transactionId, null, 'the rest', 'refund-0002');
    expect(rest).toMatchObject({ amountCents: PRICE - 1000, status: 'SUCCEEDED' });
    expect(statusOf(transactionId)).toBe('REFUNDED');
    expect(repo.state.transactions.get(transactionId)!.refundedCents).toBe(PRICE);
    expect(
      repo.state.history.filter((h) => h.transactionId === transactionId).map((h) => h.toStatus),
    ).toEqual(['PENDING', 'AUTHORIZED', 'CAPTURED', 'PARTIALLY_REFUNDED', 'REFUNDED']);
    expect(repo.state.outbox.filter((e) => e.topic === 'payment.refund.processed')).toHaveLength(2);
  });

  it('refuses a refund above what is left of the capture and reserves nothing', async () => {
    const { service, repo, provider, paid } = sut();
    const { transactionId } = await paid();
    await service.refund(null, transactionId, 3000, 'part', 'refund-0003');
    await rejectsWith(
      service.refund(null, transactionId, PRICE - 3000 + 1, 'too much', 'refund-0004'),
      'PAYMENT_REFUND_EXCEEDS_CAPTURED',
    );
    expect(repo.state.transactions.get(transactionId)!.refundedCents).toBe(3000);
    expect(repo.state.refunds.size).toBe(1);
    expect(provider.refunds).toHaveLength(1);
  });

  it('answers the same refund key with the first answer, and refuses it with another amount', async () => {
    const { service, provider, paid } = sut();
    const { transactionId } = await paid();
    const first = await service.refund(null, transactionId, 500, 'part', 'refund-0005');
    expect(await service.refund(null, transactionId, 500, 'part', 'refund-0005')).toEqual(first);
    await rejectsWith(
      service.refund(null, transactionId, 600, 'part', 'refund-0005'),
      'PAYMENT_IDEMPOTENCY_MISMATCH',
    );
    expect(provider.refunds).toHaveLength(1);
  });

  it('gives the reservation back when the provider declines the refund', async () => {
    const { service, repo, provider, paid, statusOf } = sut();
    const { transactionId } = await paid();
    provider.declineRefunds = true;
    await rejectsWith(
      service.refund(null, transactionId, 1000, 'part', 'refund-0006'),
      'PAYMENT_PROVIDER_ERROR',
    );
    expect(repo.state.transactions.get(transactionId)!.refundedCents).toBe(0);
    expect(statusOf(transactionId)).toBe('CAPTURED');
  });

  it('refuses refunding a charge that took no money', async () => {
    const { service, repo, customer, bookings, card } = sut();
    const b = bookings.hold(customer.userId);
    await rejectsWith(
      service.payForBooking(customer, b.id, (await card('tok_decline')).id, 'key-00000009'),
      'PAYMENT_DECLINED',
    );
    const [t] = [...repo.state.transactions.values()];
    await rejectsWith(
      service.refund(null, t!.id, null, 'nothing to give', 'refund-0007'),
      'PAYMENT_NOT_REFUNDABLE',
    );
  });
});

describe('PaymentService.handleBookingCancelled: the cancellation policy (fakes)', () => {
  /** The cancellation event of `booking`, `minutesBefore` its start, by `cancelledBy`. */
  const cancelled = (
    booking: { id: string; startsAt: string; customer: { id: string } },
    cancelledBy: string | null,
    minutesBefore: number,
  ) =>
    createEvent(
      'booking',
      'booking.reservation.cancelled',
      booking.id,
      {
        reservationId: booking.id,
        customerId: booking.customer.id,
        cancelledBy,
        reason: 'test',
        startsAt: booking.startsAt,
      },
      new Date(Date.parse(booking.startsAt) - minutesBefore * MINUTE),
    );

  it('refunds in full when the system cancels, even at the last minute', async () => {
    const { service, repo, paid } = sut();
    const { booking, transactionId } = await paid();
    await service.handleBookingCancelled(cancelled(booking, null, 1));
    expect([...repo.state.refunds.values()].map((r) => r.amountCents)).toEqual([PRICE]);
    expect(repo.state.transactions.get(transactionId)!.status).toBe('REFUNDED');
  });

  it('refunds in full when the customer cancels before the cutoff', async () => {
    const { service, repo, paid, customer } = sut();
    const { booking } = await paid();
    await service.handleBookingCancelled(cancelled(booking, customer.userId, CUTOFF_MINUTES + 1));
    expect([...repo.state.refunds.values()].map((r) => r.amountCents)).toEqual([PRICE]);
  });

  it('keeps the late fee when the customer cancels within the cutoff', async () => {
    const { service, repo, paid, customer, statusOf } = sut();
    const { booking, transactionId } = await paid();
    await service.handleBookingCancelled(cancelled(booking, customer.userId, CUTOFF_MINUTES - 1));
    const fee = (PRICE * FEE_PERCENT) / 100;
    expect([...repo.state.refunds.values()].map((r) => r.amountCents)).toEqual([PRICE - fee]);
    expect(statusOf(transactionId)).toBe('PARTIALLY_REFUNDED');
  });

  it('refunds only once for a redelivered cancellation', async () => {
    const { service, repo, provider, paid, customer } = sut();
    const { booking } = await paid();
    const event = cancelled(booking, customer.userId, CUTOFF_MINUTES + 1);
    await service.handleBookingCancelled(event);
    await service.handleBookingCancelled(event);
    expect(repo.state.refunds.size).toBe(1);
    expect(provider.refunds).toHaveLength(1);
  });

  it('refunds nothing more when a manager already refunded the charge in full', async () => {
    const { service, repo, paid } = sut();
    const { booking, transactionId } = await paid();
    await service.refund(randomUUID(), transactionId, null, 'manager refund', 'refund-0008');
    await service.handleBookingCancelled(cancelled(booking, null, 1));
    expect(repo.state.refunds.size).toBe(1);
  });

  it('resumes a cancellation refund the provider did not answer when the event is redelivered', async () => {
    const { service, repo, provider, paid, resumed } = sut();
    const { booking } = await paid();
    const event = cancelled(booking, null, 1);
    provider.down = true;
    await rejectsWith(service.handleBookingCancelled(event), 'PAYMENT_PROVIDER_ERROR');
    expect([...repo.state.refunds.values()][0]).toMatchObject({ status: 'PENDING', amountCents: PRICE });
    provider.down = false;
    await service.handleBookingCancelled(event);
    expect([...repo.state.refunds.values()][0]).toMatchObject({ status: 'SUCCEEDED' });
    expect(new Set(provider.refunds.map((r) => r.idempotencyKey)).size).toBe(1);
    expect(resumed).toContainEqual(
      expect.objectContaining({ kind: 'refund', trigger: 'redelivery', outcome: 'succeeded' }),
    );
  });
});

describe('PaymentService.transactionsOf (fakes)', () => {
  it("pages a customer's charges newest first and resumes after the cursor", async () => {
    const { service, repo, paid, customer } = sut();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await paid()).transactionId);
    // Distinct instants, oldest first, so the order does not rest on insertion.
    ids.forEach((id, i) => {
      repo.state.transactions.get(id)!.createdAt = new Date(Date.UTC(2030, 0, 1, 12, i));
    });
    const reads = createLoaders(repo);
    const page1 = await service.transactionsOf(reads, customer.userId, { first: 2 });
    expect(page1.nodes.map((t) => t.id)).toEqual([ids[2], ids[1]]);
    expect(page1).toMatchObject({ totalCount: 3, pageInfo: { hasNextPage: true } });
    const page2 = await service.transactionsOf(createLoaders(repo), customer.userId, {
      first: 2,
      after: page1.pageInfo.endCursor,
    });
    expect(page2.nodes.map((t) => t.id)).toEqual([ids[0]]);
    expect(page2).toMatchObject({ totalCount: 3, pageInfo: { hasNextPage: false } });
  });

  it('refuses a page above 100 and a cursor that is not one of its own', async () => {
    const { service, repo, customer } = sut();
    const reads = createLoaders(repo);
    await expect(service.transactionsOf(reads, customer.userId, { first: 101 })).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      extensions: { field: 'first' },
    });
    await expect(
      service.transactionsOf(reads, customer.userId, { after: 'eyJvIjo0MH0' }),
    ).rejects.toMatchObject({ code: 'BAD_USER_INPUT', extensions: { field: 'after' } });
  });
});
