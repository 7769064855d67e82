import { createHash } from 'node:crypto';
import { AppError, badInput, type ErrorCode } from '@carwash/errors';
import type { EventEnvelope } from '@carwash/events';
import type { Viewer } from '@carwash/service-trust';
import { fields, validate, z } from '@carwash/subgraph-kit';
import type { PaymentConfig } from './config.js';
import type { PaymentDb } from './db.js';
import { firstTime, recordEvent } from './events.js';
import { Prisma, type PaymentMethod, type Refund, type Transaction, type TransactionStatus } from './generated/prisma/client.js';
import type { BookingPeer } from './peers.js';
import { ProviderDecline, type PaymentProvider } from './provider.js';

export type { PaymentMethod, Refund, Transaction };
type Tx = Prisma.TransactionClient;

const MAX_CENTS = 2_147_483_647;
const idempotencyKey = z.string().min(8, 'idempotencyKey must be 8–100 characters').max(100, 'idempotencyKey must be 8–100 characters').regex(/^[A-Za-z0-9_.:-]+$/, 'idempotencyKey may use letters, digits and _ . : -');
const methodInput = z.object({
  providerToken: z.string().min(4, 'providerToken is not a provider token').max(200, 'providerToken is not a provider token').regex(/^tok_[A-Za-z0-9_]+$/, 'providerToken must be a provider token (tok_…), never a card number'),
  brand: z.enum(['visa', 'mastercard', 'amex', 'discover', 'other']),
  last4: z.string().regex(/^\d{4}$/, 'last4 must be four digits'),
  expMonth: z.number().int().min(1, 'expMonth must be 1–12').max(12, 'expMonth must be 1–12'),
  expYear: z.number().int().min(2000, 'expYear must be a four-digit year').max(2100, 'expYear must be a four-digit year'),
  makeDefault: z.boolean().nullish(),
});

/** The first answer to a request, stored with its idempotency key and returned again to retries. */
type Stored = { ok: Record<string, unknown> } | { error: { code: ErrorCode; field?: string } };

const hash = (parts: unknown[]) => createHash('sha256').update(JSON.stringify(parts)).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isManager = (v: Viewer | null) => v?.role === 'MANAGER' || v?.role === 'ADMIN';

/** A transaction as returned to clients: the stored snapshot has exactly these fields. */
function snapshot(t: Transaction): Record<string, unknown> {
  return {
    id: t.id,
    customerId: t.customerId,
    bookingId: t.bookingId,
    methodId: t.methodId,
    amountCents: t.amountCents,
    currency: t.currency,
    capturedCents: t.capturedCents,
    refundedCents: t.refundedCents,
    status: t.status,
    failureCode: t.failureCode,
    createdAt: t.createdAt.toISOString(),
  };
}

function refundSnapshot(r: Refund): Record<string, unknown> {
  return { id: r.id, transactionId: r.transactionId, amountCents: r.amountCents, currency: r.currency, reason: r.reason, status: r.status, createdAt: r.createdAt.toISOString() };
}

function replay(stored: Stored): Record<string, unknown> {
  if ('error' in stored) throw new AppError(stored.error.code, stored.error.field ? { field: stored.error.field } : {});
  return stored.ok;
}

type Settings = Pick<PaymentConfig, 'PAYMENT_CANCEL_CUTOFF_MINUTES' | 'PAYMENT_LATE_CANCEL_FEE_PERCENT'>;

/** The payment feature's rules: methods, idempotent charges and refunds, the cancellation policy. */
export class PaymentService {
  constructor(
    private readonly db: PaymentDb,
    private readonly provider: PaymentProvider,
    private readonly booking: BookingPeer,
    private readonly settings: Settings,
  ) {}

  async addMethod(viewer: Viewer, raw: unknown): Promise<PaymentMethod> {
    const input = validate(methodInput, raw, 'input');
    const now = new Date();
    if (input.expYear < now.getUTCFullYear() || (input.expYear === now.getUTCFullYear() && input.expMonth < now.getUTCMonth() + 1)) throw badInput('input.expYear', 'the card has expired');
    return this.db.$transaction(async (tx) => {
      const hasDefault = (await tx.paymentMethod.count({ where: { customerId: viewer.userId, isDefault: true, removedAt: null } })) > 0;
      const makeDefault = input.makeDefault === true || !hasDefault;
      if (makeDefault) await tx.paymentMethod.updateMany({ where: { customerId: viewer.userId, isDefault: true }, data: { isDefault: false } });
      return tx.paymentMethod.create({
        data: { customerId: viewer.userId, providerToken: input.providerToken, brand: input.brand, last4: input.last4, expMonth: input.expMonth, expYear: input.expYear, isDefault: makeDefault },
      });
    });
  }

  private async ownMethod(tx: Tx, viewer: Viewer, methodId: string): Promise<PaymentMethod> {
    const m = await tx.paymentMethod.findUnique({ where: { id: methodId } });
    if (!m || m.removedAt || (m.customerId !== viewer.userId && !isManager(viewer))) throw new AppError('PAYMENT_METHOD_UNUSABLE', { field: 'id' });
    return m;
  }

  async removeMethod(viewer: Viewer, rawId: unknown): Promise<PaymentMethod> {
    const methodId = validate(fields.uuid(), rawId, 'id');
    return this.db.$transaction(async (tx) => {
      await this.ownMethod(tx, viewer, methodId);
      return tx.paymentMethod.update({ where: { id: methodId }, data: { removedAt: new Date(), providerToken: null, isDefault: false } });
    });
  }

  async setDefault(viewer: Viewer, rawId: unknown): Promise<PaymentMethod> {
    const methodId = validate(fields.uuid(), rawId, 'id');
    return this.db.$transaction(async (tx) => {
      const m = await this.ownMethod(tx, viewer, methodId);
      await tx.paymentMethod.updateMany({ where: { customerId: m.customerId, isDefault: true }, data: { isDefault: false } });
      return tx.paymentMethod.update({ where: { id: methodId }, data: { isDefault: true } });
    });
  }

  /**
   * Charges the booking's price snapshot (asked of booking, never taken from the client) once per
   * idempotency key. The first request with a key inserts the PENDING transaction under that key (a
   * unique index); concurrent requests with the same key wait for its stored answer and return it
   * verbatim; a key reused with other parameters is refused. The provider gets the same key, so a
   * retry after a crash resumes without a second charge.
   */
  async payForBooking(viewer: Viewer, rawBookingId: unknown, rawMethodId: unknown, rawKey: unknown, requestId?: string): Promise<Record<string, unknown>> {
    const bookingId = validate(fields.uuid(), rawBookingId, 'bookingId');
    const methodId = validate(fields.uuid(), rawMethodId, 'methodId');
    const key = validate(idempotencyKey, rawKey, 'idempotencyKey');
    const requestHash = hash(['pay', viewer.userId, bookingId, methodId]);

    for (let attempt = 0; attempt < 2; attempt++) {
      const existing = await this.db.transaction.findUnique({ where: { idempotencyKey: key } });
      if (existing) {
        if (existing.requestHash !== requestHash) throw new AppError('PAYMENT_IDEMPOTENCY_MISMATCH', { field: 'idempotencyKey' });
        if (existing.response) return replay(existing.response as Stored);
        if (!(await this.takeOver(existing))) return this.awaitAnswer(key);
        return this.charge(existing.id, key);
      }
      // Checks before claiming the key: their failures are not stored, so a corrected retry may reuse it.
      const [booking, method] = await Promise.all([this.booking.booking(bookingId, requestId), this.db.paymentMethod.findUnique({ where: { id: methodId } })]);
      if (!booking || booking.customer.id !== viewer.userId || booking.status !== 'HELD' || (booking.holdExpiresAt && new Date(booking.holdExpiresAt) <= new Date())) {
        throw new AppError('PAYMENT_BOOKING_NOT_PAYABLE', { field: 'bookingId' });
      }
      if (!method || method.removedAt || method.customerId !== viewer.userId || !method.providerToken) throw new AppError('PAYMENT_METHOD_UNUSABLE', { field: 'methodId' });
      const { amountCents, currency } = booking.price;
      if (!Number.isInteger(amountCents) || amountCents <= 0 || amountCents > MAX_CENTS) throw new AppError('PAYMENT_BOOKING_NOT_PAYABLE', { message: 'The booking has no payable amount.', field: 'bookingId' });
      try {
        const created = await this.db.$transaction(async (tx) => {
          const paid = await tx.transaction.count({ where: { bookingId, status: { in: ['AUTHORIZED', 'CAPTURED', 'PARTIALLY_REFUNDED'] } } });
          if (paid > 0) throw new AppError('PAYMENT_BOOKING_NOT_PAYABLE', { message: 'The booking is already paid.', field: 'bookingId' });
          const t = await tx.transaction.create({ data: { customerId: viewer.userId, bookingId, methodId, amountCents, currency, status: 'PENDING', idempotencyKey: key, requestHash } });
          await tx.transactionEvent.create({ data: { transactionId: t.id, fromStatus: null, toStatus: 'PENDING' } });
          return t;
        });
        return await this.charge(created.id, key);
      } catch (err) {
        // Another request with this key got there first: answer as it does.
        if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') continue;
        throw err;
      }
    }
    return this.awaitAnswer(key);
  }

  /** A PENDING transaction whose request died (or a provider outage) may be resumed by a retry. */
  private async takeOver(t: Transaction): Promise<boolean> {
    const stale = new Date(Date.now() - 15_000);
    const { count } = await this.db.transaction.updateMany({
      where: { id: t.id, response: { equals: Prisma.DbNull }, OR: [{ status: 'FAILED', failureCode: 'provider_error' }, { updatedAt: { lt: stale } }] },
      data: { status: 'PENDING', failureCode: null },
    });
    return count === 1;
  }

  private async awaitAnswer(key: string): Promise<Record<string, unknown>> {
    const until = Date.now() + 15_000;
    while (Date.now() < until) {
      const t = await this.db.transaction.findUnique({ where: { idempotencyKey: key } });
      if (t?.response) return replay(t.response as Stored);
      if (t?.status === 'FAILED' && t.failureCode === 'provider_error') throw new AppError('PAYMENT_PROVIDER_ERROR');
      await sleep(25);
    }
    throw new AppError('PAYMENT_IN_PROGRESS', { field: 'idempotencyKey' });
  }

  private async charge(transactionId: string, key: string): Promise<Record<string, unknown>> {
    const t = await this.db.transaction.findUniqueOrThrow({ where: { id: transactionId }, include: { method: true } });
    let ref: string;
    try {
      ({ ref } = await this.provider.charge({ token: t.method?.providerToken ?? '', amountCents: t.amountCents, currency: t.currency, idempotencyKey: `pay:${key}` }));
    } catch (err) {
      if (err instanceof ProviderDecline) {
        const code: ErrorCode = err.code === 'insufficient_funds' ? 'PAYMENT_INSUFFICIENT_FUNDS' : 'PAYMENT_DECLINED';
        await this.finish(t, 'FAILED', { failureCode: err.code }, { error: { code } });
        throw new AppError(code);
      }
      // An outage: no answer is stored, so a retry with the same key tries again.
      await this.db.$transaction(async (tx) => {
        await tx.transaction.update({ where: { id: t.id }, data: { status: 'FAILED', failureCode: 'provider_error' } });
        await tx.transactionEvent.create({ data: { transactionId: t.id, fromStatus: t.status, toStatus: 'FAILED', note: 'provider error' } });
      });
      throw new AppError('PAYMENT_PROVIDER_ERROR', { cause: err });
    }
    const done = await this.finish(t, 'CAPTURED', { providerRef: ref, capturedCents: t.amountCents }, null);
    return done;
  }

  /** Records the outcome, its status history, the stored answer and (on capture) the event. */
  private async finish(t: Transaction, status: TransactionStatus, data: Prisma.TransactionUpdateInput, stored: Stored | null): Promise<Record<string, unknown>> {
    return this.db.$transaction(async (tx) => {
      if (status === 'CAPTURED') await tx.transactionEvent.create({ data: { transactionId: t.id, fromStatus: t.status, toStatus: 'AUTHORIZED' } });
      await tx.transactionEvent.create({ data: { transactionId: t.id, fromStatus: status === 'CAPTURED' ? 'AUTHORIZED' : t.status, toStatus: status } });
      const updated = await tx.transaction.update({ where: { id: t.id }, data: { ...data, status } });
      const answer: Stored = stored ?? { ok: snapshot(updated) };
      await tx.transaction.update({ where: { id: t.id }, data: { response: answer as Prisma.InputJsonValue } });
      if (status === 'CAPTURED') {
        await recordEvent(tx, 'payment.charge.captured', t.id, { transactionId: t.id, reservationId: t.bookingId ?? t.id, customerId: t.customerId, amountCents: t.amountCents, currency: t.currency });
      }
      return 'ok' in answer ? answer.ok : {};
    });
  }

  /**
   * Refunds part or all of a captured charge, once per idempotency key. The amount is reserved with a
   * single conditional UPDATE (`refunded + amount <= captured`), so two racing refunds can never
   * exceed the capture; a CHECK constraint backs it up. A provider failure releases the reservation.
   */
  async refund(requestedBy: string | null, rawTransactionId: unknown, rawAmount: unknown, rawReason: unknown, rawKey: unknown, currency?: string | null): Promise<Record<string, unknown>> {
    const transactionId = validate(fields.uuid(), rawTransactionId, 'transactionId');
    const key = validate(idempotencyKey, rawKey, 'idempotencyKey');
    const reason = validate(z.string().max(500, 'reason must be at most 500 characters').trim().min(1, 'reason must not be empty'), rawReason, 'reason');
    const amountArg = rawAmount == null ? null : validate(z.number().int('amountCents must be a whole number of cents').positive('amountCents must be positive').max(MAX_CENTS, 'amountCents is too large'), rawAmount, 'amountCents');
    const requestHash = hash(['refund', transactionId, amountArg, reason]);

    const existing = await this.db.refund.findUnique({ where: { idempotencyKey: key } });
    if (existing) {
      if (existing.requestHash !== requestHash) throw new AppError('PAYMENT_IDEMPOTENCY_MISMATCH', { field: 'idempotencyKey' });
      return this.awaitRefund(key);
    }
    let reserved: { refund: Refund; t: Transaction };
    try {
      reserved = await this.db.$transaction(async (tx) => {
        const t = await tx.transaction.findUnique({ where: { id: transactionId } });
        if (!t) throw new AppError('NOT_FOUND', { message: 'No such transaction.', field: 'transactionId' });
        if (currency != null && currency !== t.currency) throw badInput('currency', `the charge is in ${t.currency}`);
        if (t.status !== 'CAPTURED' && t.status !== 'PARTIALLY_REFUNDED') throw new AppError('PAYMENT_NOT_REFUNDABLE', { field: 'transactionId' });
        const amount = amountArg ?? t.capturedCents - t.refundedCents;
        if (amount <= 0) throw new AppError('PAYMENT_REFUND_EXCEEDS_CAPTURED', { field: 'amountCents' });
        const n = await tx.$executeRaw`UPDATE payment_transactions SET refunded_cents = refunded_cents + ${amount}, updated_at = now() WHERE id = ${transactionId}::uuid AND refunded_cents + ${amount} <= captured_cents`;
        if (n !== 1) throw new AppError('PAYMENT_REFUND_EXCEEDS_CAPTURED', { field: 'amountCents' });
        const refund = await tx.refund.create({ data: { transactionId, amountCents: amount, currency: t.currency, reason, status: 'PENDING', idempotencyKey: key, requestHash, requestedBy } });
        return { refund, t };
      });
    } catch (err) {
      if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') return this.awaitRefund(key);
      throw err;
    }
    const { refund, t } = reserved;
    try {
      const { ref } = await this.provider.refund({ chargeRef: t.providerRef ?? '', amountCents: refund.amountCents, idempotencyKey: `refund:${key}` });
      return await this.db.$transaction(async (tx) => {
        const after = await tx.transaction.findUniqueOrThrow({ where: { id: t.id } });
        const status: TransactionStatus = after.refundedCents >= after.capturedCents ? 'REFUNDED' : 'PARTIALLY_REFUNDED';
        if (status !== after.status) {
          await tx.transaction.update({ where: { id: t.id }, data: { status } });
          await tx.transactionEvent.create({ data: { transactionId: t.id, fromStatus: after.status, toStatus: status, note: `refund ${refund.id}` } });
        }
        const done = await tx.refund.update({ where: { id: refund.id }, data: { status: 'SUCCEEDED', providerRef: ref } });
        const answer = refundSnapshot(done);
        await tx.refund.update({ where: { id: refund.id }, data: { response: { ok: answer } as Prisma.InputJsonValue } });
        await recordEvent(tx, 'payment.refund.processed', refund.id, { refundId: refund.id, transactionId: t.id, reservationId: t.bookingId, amountCents: refund.amountCents, currency: refund.currency });
        return answer;
      });
    } catch (err) {
      await this.db.$transaction(async (tx) => {
        await tx.$executeRaw`UPDATE payment_transactions SET refunded_cents = refunded_cents - ${refund.amountCents} WHERE id = ${t.id}::uuid`;
        await tx.refund.update({ where: { id: refund.id }, data: { status: 'FAILED', response: { error: { code: 'PAYMENT_PROVIDER_ERROR' } } } });
      });
      throw new AppError('PAYMENT_PROVIDER_ERROR', { cause: err });
    }
  }

  private async awaitRefund(key: string): Promise<Record<string, unknown>> {
    const until = Date.now() + 15_000;
    while (Date.now() < until) {
      const r = await this.db.refund.findUnique({ where: { idempotencyKey: key } });
      if (r?.response) return replay(r.response as Stored);
      await sleep(25);
    }
    throw new AppError('PAYMENT_IN_PROGRESS', { field: 'idempotencyKey' });
  }

  /**
   * `booking.reservation.cancelled`: refund by the cancellation policy — in full when the system
   * cancelled (deleted customer, closed site) or the customer cancelled before the cutoff, else minus
   * the late fee. The refund's idempotency key is derived from the booking, so a redelivered event (or
   * a second path to the same refund) refunds nothing twice.
   */
  async handleBookingCancelled(event: EventEnvelope<'booking.reservation.cancelled'>): Promise<void> {
    const { reservationId, cancelledBy, startsAt } = event.payload;
    const t = await this.db.transaction.findFirst({ where: { bookingId: reservationId, status: { in: ['CAPTURED', 'PARTIALLY_REFUNDED'] } } });
    if (!t) return;
    const remaining = t.capturedCents - t.refundedCents;
    const late = cancelledBy !== null && Date.parse(startsAt) - Date.parse(event.occurredAt) < this.settings.PAYMENT_CANCEL_CUTOFF_MINUTES * 60_000;
    const customerCancelled = cancelledBy !== null && cancelledBy === event.payload.customerId;
    const fee = late && customerCancelled ? Math.round((t.capturedCents * this.settings.PAYMENT_LATE_CANCEL_FEE_PERCENT) / 100) : 0;
    const amount = remaining - fee;
    if (amount <= 0) return;
    try {
      await this.refund(null, t.id, amount, `booking cancelled: ${event.payload.reason}`.slice(0, 500), `booking-cancelled:${reservationId}`);
    } catch (err) {
      // Already refunded by another path (same key, other amount after a partial refund): nothing to do.
      if (err instanceof AppError && (err.code === 'PAYMENT_IDEMPOTENCY_MISMATCH' || err.code === 'PAYMENT_REFUND_EXCEEDS_CAPTURED')) return;
      throw err;
    }
  }

  /** `auth.user.deleted`: the user's payment methods are detached (tokens wiped). Refunds follow the bookings' cancellations. */
  async handleUserDeleted(event: EventEnvelope<'auth.user.deleted'>): Promise<void> {
    await this.db.$transaction(async (tx) => {
      if (!(await firstTime(tx, event))) return;
      await tx.paymentMethod.updateMany({ where: { customerId: event.payload.userId, removedAt: null }, data: { removedAt: new Date(), providerToken: null, isDefault: false } });
    });
  }
}
