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

type Settings = Pick<PaymentConfig, 'PAYMENT_CANCEL_CUTOFF_MINUTES' | 'PAYMENT_LATE_CANCEL_FEE_PERCENT' | 'PAYMENT_RESUME_STALE_AFTER_MS'>;

/** A charge that took money (a booking has at most one: index `payment_one_live_charge_per_booking`). */
const PAID_STATES: TransactionStatus[] = ['CAPTURED', 'PARTIALLY_REFUNDED', 'REFUNDED'];
/** Stale PENDING rows one sweep resumes at most (the next sweep takes the rest). */
const SWEEP_BATCH = 100;

/** What started the resumption of a PENDING operation. */
export type ResumeTrigger = 'sweep' | 'redelivery' | 'retry';
/** How a resumed operation ended: `unavailable` means the provider did not answer; it stays PENDING for the next try. */
export type ResumeOutcome = 'succeeded' | 'failed' | 'unavailable';
/** Told of every PENDING charge or refund resumed after its first worker went away (metrics and logs). */
export type ResumeListener = (r: { kind: 'charge' | 'refund'; id: string; trigger: ResumeTrigger; outcome: ResumeOutcome }) => void;

/** The refund kept by the cancellation policy: in full unless the customer cancelled late. */
export function cancellationRefund(input: { capturedCents: number; refundedCents: number; customerCancelled: boolean; late: boolean; feePercent: number }): number {
  const fee = input.late && input.customerCancelled ? Math.round((input.capturedCents * input.feePercent) / 100) : 0;
  return Math.min(input.capturedCents - input.refundedCents, input.capturedCents - fee);
}

const isUniqueViolation = (err: unknown) => err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002';

/** The payment feature's rules: methods, idempotent charges and refunds, the cancellation policy. */
export class PaymentService {
  constructor(
    private readonly db: PaymentDb,
    private readonly provider: PaymentProvider,
    private readonly booking: BookingPeer,
    private readonly settings: Settings,
    private readonly onResumed: ResumeListener = () => {},
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

  /**
   * A method the viewer may change: their own, or any as an admin. Managers read customers' methods
   * but never change them (FORBIDDEN); to a client, someone else's method is as unknown as a missing one.
   */
  private async ownMethod(tx: Tx, viewer: Viewer, methodId: string): Promise<PaymentMethod> {
    const m = await tx.paymentMethod.findUnique({ where: { id: methodId } });
    if (!m || m.removedAt) throw new AppError('PAYMENT_METHOD_UNUSABLE', { field: 'id' });
    if (m.customerId === viewer.userId || viewer.role === 'ADMIN') return m;
    if (isManager(viewer)) throw new AppError('FORBIDDEN', { message: 'Only the card holder (or an admin) may change a payment method.' });
    throw new AppError('PAYMENT_METHOD_UNUSABLE', { field: 'id' });
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
   * idempotency key. The first request with a key inserts the PENDING transaction under that key,
   * unique per customer; concurrent requests with the same key wait for its stored answer and return it
   * verbatim; a key reused with other parameters is refused. The PENDING row is committed before the
   * provider is called, and the database keeps one live charge per booking, so a second charge with
   * another key is refused (PAYMENT_ALREADY_PAID) without reaching the provider. The provider gets a
   * key stored on the row, so a retry after a crash resumes without a second charge.
   */
  async payForBooking(viewer: Viewer, rawBookingId: unknown, rawMethodId: unknown, rawKey: unknown, requestId?: string): Promise<Record<string, unknown>> {
    const bookingId = validate(fields.uuid(), rawBookingId, 'bookingId');
    const methodId = validate(fields.uuid(), rawMethodId, 'methodId');
    const key = validate(idempotencyKey, rawKey, 'idempotencyKey');
    const requestHash = hash(['pay', viewer.userId, bookingId, methodId]);

    for (let attempt = 0; attempt < 2; attempt++) {
      const existing = await this.byKey(viewer.userId, key);
      if (existing) {
        if (existing.requestHash !== requestHash) throw new AppError('PAYMENT_IDEMPOTENCY_MISMATCH', { field: 'idempotencyKey' });
        if (existing.response) return replay(existing.response as Stored);
        const resuming = existing.status === 'PENDING';
        if (!(await this.takeOver(existing))) return this.awaitAnswer(viewer.userId, key);
        return resuming ? this.resumedCharge(existing.id, 'retry') : this.charge(existing.id);
      }
      // Checks before claiming the key: their failures are not stored, so a corrected retry may reuse it.
      const [booking, method] = await Promise.all([this.booking.booking(bookingId, requestId), this.db.paymentMethod.findUnique({ where: { id: methodId } })]);
      if (!booking || booking.customer.id !== viewer.userId || booking.status !== 'HELD' || (booking.holdExpiresAt && new Date(booking.holdExpiresAt) <= new Date())) {
        throw new AppError('PAYMENT_BOOKING_NOT_PAYABLE', { field: 'bookingId' });
      }
      if (!method || method.removedAt || method.customerId !== viewer.userId || !method.providerToken) throw new AppError('PAYMENT_METHOD_UNUSABLE', { field: 'methodId' });
      const { amountCents, currency } = booking.price;
      if (!Number.isInteger(amountCents) || amountCents <= 0 || amountCents > MAX_CENTS) throw new AppError('PAYMENT_BOOKING_NOT_PAYABLE', { message: 'The booking has no payable amount.', field: 'bookingId' });
      let created: Transaction;
      try {
        created = await this.db.$transaction(async (tx) => {
          // The provider key names the customer too: the provider never meets one customer's key under another's.
          const t = await tx.transaction.create({ data: { customerId: viewer.userId, bookingId, methodId, amountCents, currency, status: 'PENDING', idempotencyKey: key, providerKey: `pay:${viewer.userId}:${key}`, requestHash } });
          await tx.transactionEvent.create({ data: { transactionId: t.id, fromStatus: null, toStatus: 'PENDING' } });
          return t;
        });
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        // Another request with this key got there first: answer as it does.
        if (await this.byKey(viewer.userId, key)) continue;
        // Otherwise the booking already has a live charge (payment_one_live_charge_per_booking).
        throw new AppError('PAYMENT_ALREADY_PAID', { field: 'bookingId' });
      }
      return this.charge(created.id);
    }
    return this.awaitAnswer(viewer.userId, key);
  }

  private byKey(customerId: string, idempotencyKey: string): Promise<Transaction | null> {
    return this.db.transaction.findUnique({ where: { customerId_idempotencyKey: { customerId, idempotencyKey } } });
  }

  /**
   * A PENDING transaction whose request died (stale), or one a provider outage failed, may be resumed;
   * the conditional update lets one worker take it. Putting a failed charge back to PENDING is refused
   * by the one-live-charge index when the booking was paid meanwhile under another key.
   */
  private async takeOver(t: Transaction): Promise<boolean> {
    const stale = new Date(Date.now() - this.settings.PAYMENT_RESUME_STALE_AFTER_MS);
    try {
      const { count } = await this.db.transaction.updateMany({
        where: { id: t.id, response: { equals: Prisma.DbNull }, OR: [{ status: 'FAILED', failureCode: 'provider_error' }, { status: 'PENDING', updatedAt: { lt: stale } }] },
        data: { status: 'PENDING', failureCode: null },
      });
      return count === 1;
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('PAYMENT_ALREADY_PAID', { field: 'bookingId' });
      throw err;
    }
  }

  /** Finishes a PENDING charge whose worker went away, and reports how it ended. */
  private async resumedCharge(transactionId: string, trigger: ResumeTrigger): Promise<Record<string, unknown>> {
    try {
      const answer = await this.charge(transactionId);
      this.onResumed({ kind: 'charge', id: transactionId, trigger, outcome: 'succeeded' });
      return answer;
    } catch (err) {
      const outcome: ResumeOutcome = err instanceof AppError && err.code === 'PAYMENT_PROVIDER_ERROR' ? 'unavailable' : 'failed';
      this.onResumed({ kind: 'charge', id: transactionId, trigger, outcome });
      throw err;
    }
  }

  private async awaitAnswer(customerId: string, key: string): Promise<Record<string, unknown>> {
    const until = Date.now() + 15_000;
    while (Date.now() < until) {
      const t = await this.byKey(customerId, key);
      if (t?.response) return replay(t.response as Stored);
      if (t?.status === 'FAILED' && t.failureCode === 'provider_error') throw new AppError('PAYMENT_PROVIDER_ERROR');
      await sleep(25);
    }
    throw new AppError('PAYMENT_IN_PROGRESS', { field: 'idempotencyKey' });
  }

  /** Sends the charge to the provider under its stored key and records the outcome. */
  private async charge(transactionId: string): Promise<Record<string, unknown>> {
    const t = await this.db.transaction.findUniqueOrThrow({ where: { id: transactionId }, include: { method: true } });
    let ref: string;
    try {
      ({ ref } = await this.provider.charge({ token: t.method?.providerToken ?? '', amountCents: t.amountCents, currency: t.currency, idempotencyKey: t.providerKey }));
    } catch (err) {
      if (err instanceof ProviderDecline) {
        const code: ErrorCode = err.code === 'insufficient_funds' ? 'PAYMENT_INSUFFICIENT_FUNDS' : 'PAYMENT_DECLINED';
        await this.finish(t, 'FAILED', { failureCode: err.code }, { error: { code } });
        throw new AppError(code);
      }
      // An outage: no answer is stored, so a retry with the same key tries again.
      await this.db.$transaction(async (tx) => {
        const { count } = await tx.transaction.updateMany({ where: { id: t.id, status: 'PENDING', response: { equals: Prisma.DbNull } }, data: { status: 'FAILED', failureCode: 'provider_error' } });
        if (count === 1) await tx.transactionEvent.create({ data: { transactionId: t.id, fromStatus: 'PENDING', toStatus: 'FAILED', note: 'provider error' } });
      });
      throw new AppError('PAYMENT_PROVIDER_ERROR', { cause: err });
    }
    const done = await this.finish(t, 'CAPTURED', { providerRef: ref, capturedCents: t.amountCents }, null);
    return done;
  }

  /**
   * Records the outcome, its status history, the stored answer and (on capture) the event — once: a
   * second worker that resumed the same charge (the provider gave it the same answer) finds the answer
   * stored and returns it.
   */
  private async finish(t: Transaction, status: TransactionStatus, data: Prisma.TransactionUpdateManyMutationInput, stored: Stored | null): Promise<Record<string, unknown>> {
    return this.db.$transaction(async (tx) => {
      const { count } = await tx.transaction.updateMany({ where: { id: t.id, status: 'PENDING', response: { equals: Prisma.DbNull } }, data: { ...data, status } });
      if (count === 0) {
        const now = await tx.transaction.findUniqueOrThrow({ where: { id: t.id } });
        return now.response ? replay(now.response as Stored) : {};
      }
      if (status === 'CAPTURED') await tx.transactionEvent.create({ data: { transactionId: t.id, fromStatus: t.status, toStatus: 'AUTHORIZED' } });
      await tx.transactionEvent.create({ data: { transactionId: t.id, fromStatus: status === 'CAPTURED' ? 'AUTHORIZED' : 'PENDING', toStatus: status } });
      const updated = await tx.transaction.findUniqueOrThrow({ where: { id: t.id } });
      const answer: Stored = stored ?? { ok: snapshot(updated) };
      await tx.transaction.update({ where: { id: t.id }, data: { response: answer as Prisma.InputJsonValue } });
      if (status === 'CAPTURED') {
        await recordEvent(tx, 'payment.charge.captured', t.id, { transactionId: t.id, reservationId: t.bookingId ?? t.id, customerId: t.customerId, amountCents: t.amountCents, currency: t.currency });
      }
      return 'ok' in answer ? answer.ok : {};
    });
  }

  /**
   * Refunds part or all of a captured charge, once per idempotency key (unique per charge). The amount
   * is reserved with a single conditional UPDATE (`refunded + amount <= captured`) in the transaction
   * that commits the PENDING refund, so two racing refunds can never exceed the capture; a CHECK
   * constraint backs it up. The provider gets the refund's stored key, so the same request again — a
   * retry, a redelivered event, the sweep — resumes a PENDING refund without moving money twice. A
   * decline releases the reservation; an outage leaves the refund PENDING to be resumed.
   */
  async refund(requestedBy: string | null, rawTransactionId: unknown, rawAmount: unknown, rawReason: unknown, rawKey: unknown, currency?: string | null): Promise<Record<string, unknown>> {
    const transactionId = validate(fields.uuid(), rawTransactionId, 'transactionId');
    const key = validate(idempotencyKey, rawKey, 'idempotencyKey');
    const reason = validate(z.string().max(500, 'reason must be at most 500 characters').trim().min(1, 'reason must not be empty'), rawReason, 'reason');
    const amountArg = rawAmount == null ? null : validate(z.number().int('amountCents must be a whole number of cents').positive('amountCents must be positive').max(MAX_CENTS, 'amountCents is too large'), rawAmount, 'amountCents');
    const requestHash = hash(['refund', transactionId, amountArg, reason]);

    const existing = await this.refundByKey(transactionId, key);
    if (existing) return this.again(existing, requestHash);
    let reserved: Refund;
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
        return tx.refund.create({ data: { transactionId, amountCents: amount, currency: t.currency, reason, status: 'PENDING', idempotencyKey: key, providerKey: `refund:${transactionId}:${key}`, requestHash, requestedBy } });
      });
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      // Another request with this key got there first (its row is committed): answer as it does.
      return this.again((await this.refundByKey(transactionId, key))!, requestHash);
    }
    return (await this.completeRefund(reserved)).answer;
  }

  private refundByKey(transactionId: string, idempotencyKey: string): Promise<Refund | null> {
    return this.db.refund.findUnique({ where: { transactionId_idempotencyKey: { transactionId, idempotencyKey } } });
  }

  /** A refund request seen before: its stored answer, or — still PENDING — resumed with the provider. */
  private async again(existing: Refund, requestHash: string): Promise<Record<string, unknown>> {
    if (existing.requestHash !== requestHash) throw new AppError('PAYMENT_IDEMPOTENCY_MISMATCH', { field: 'idempotencyKey' });
    if (existing.response) return replay(existing.response as Stored);
    return this.resumeRefund(existing, 'retry');
  }

  /**
   * Resumes a PENDING refund with the provider under its stored key. The provider answers a repeated
   * key with its first result, and completion is conditional on the row still being PENDING, so two
   * workers resuming one refund (a retry racing the sweep) move money once and record it once.
   * `onlyIfStale` (the sweep) leaves alone a refund a live worker touched recently.
   */
  private async resumeRefund(r: Refund, trigger: ResumeTrigger, onlyIfStale = false): Promise<Record<string, unknown>> {
    const stale = onlyIfStale ? { updatedAt: { lt: new Date(Date.now() - this.settings.PAYMENT_RESUME_STALE_AFTER_MS) } } : {};
    const { count } = await this.db.refund.updateMany({ where: { id: r.id, status: 'PENDING', ...stale }, data: { updatedAt: new Date() } });
    if (count === 0) {
      const now = await this.db.refund.findUniqueOrThrow({ where: { id: r.id } });
      if (now.response) return replay(now.response as Stored);
      throw new AppError('PAYMENT_IN_PROGRESS', { field: 'idempotencyKey' });
    }
    try {
      const { answer, recorded } = await this.completeRefund(r);
      // Counted once: by the worker that recorded the outcome, not by one that found it recorded.
      if (recorded) this.onResumed({ kind: 'refund', id: r.id, trigger, outcome: 'succeeded' });
      return answer;
    } catch (err) {
      this.onResumed({ kind: 'refund', id: r.id, trigger, outcome: err instanceof AppError && err.code === 'PAYMENT_PROVIDER_ERROR' ? 'unavailable' : 'failed' });
      throw err;
    }
  }

  /** Asks the provider for a reserved (PENDING) refund and records its answer, once (`recorded`: by this call). */
  private async completeRefund(refund: Refund): Promise<{ answer: Record<string, unknown>; recorded: boolean }> {
    const t = await this.db.transaction.findUniqueOrThrow({ where: { id: refund.transactionId } });
    let ref: string;
    try {
      ({ ref } = await this.provider.refund({ chargeRef: t.providerRef ?? '', amountCents: refund.amountCents, idempotencyKey: refund.providerKey }));
    } catch (err) {
      if (!(err instanceof ProviderDecline)) {
        // An outage: nothing is known to have happened. The refund stays PENDING with its amount
        // reserved; a retry with the same key, a redelivered event or the sweep asks again.
        throw new AppError('PAYMENT_PROVIDER_ERROR', { cause: err });
      }
      const failed: Stored = { error: { code: 'PAYMENT_PROVIDER_ERROR' } };
      await this.db.$transaction(async (tx) => {
        const { count } = await tx.refund.updateMany({ where: { id: refund.id, status: 'PENDING' }, data: { status: 'FAILED', response: failed as Prisma.InputJsonValue } });
        // The reservation is released once, by whoever recorded the failure.
        if (count === 1) await tx.$executeRaw`UPDATE payment_transactions SET refunded_cents = refunded_cents - ${refund.amountCents}, updated_at = now() WHERE id = ${t.id}::uuid`;
      });
      const now = await this.db.refund.findUniqueOrThrow({ where: { id: refund.id } });
      return { answer: replay(now.response as Stored), recorded: false };
    }
    return this.db.$transaction(async (tx) => {
      const { count } = await tx.refund.updateMany({ where: { id: refund.id, status: 'PENDING' }, data: { status: 'SUCCEEDED', providerRef: ref } });
      const done = await tx.refund.findUniqueOrThrow({ where: { id: refund.id } });
      // Another worker recorded this refund first (the provider gave both the same answer).
      if (count === 0) return { answer: done.response ? replay(done.response as Stored) : refundSnapshot(done), recorded: false };
      const after = await tx.transaction.findUniqueOrThrow({ where: { id: t.id } });
      const status: TransactionStatus = after.refundedCents >= after.capturedCents ? 'REFUNDED' : 'PARTIALLY_REFUNDED';
      if (status !== after.status) {
        await tx.transaction.update({ where: { id: t.id }, data: { status } });
        await tx.transactionEvent.create({ data: { transactionId: t.id, fromStatus: after.status, toStatus: status, note: `refund ${refund.id}` } });
      }
      const answer = refundSnapshot(done);
      await tx.refund.update({ where: { id: refund.id }, data: { response: { ok: answer } as Prisma.InputJsonValue } });
      await recordEvent(tx, 'payment.refund.processed', refund.id, { refundId: refund.id, transactionId: t.id, reservationId: t.bookingId, amountCents: refund.amountCents, currency: refund.currency });
      return { answer, recorded: true };
    });
  }

  /**
   * The sweep: charges and refunds left PENDING longer than `PAYMENT_RESUME_STALE_AFTER_MS` — their
   * process died between reserving and storing the provider's answer — are resumed with the provider
   * under their stored keys, so each ends SUCCEEDED/CAPTURED or FAILED. Returns how many it resumed.
   */
  async resumeStale(): Promise<{ charges: number; refunds: number }> {
    const staleBefore = new Date(Date.now() - this.settings.PAYMENT_RESUME_STALE_AFTER_MS);
    let charges = 0;
    let refunds = 0;
    const pendingCharges = await this.db.transaction.findMany({ where: { status: 'PENDING', response: { equals: Prisma.DbNull }, updatedAt: { lt: staleBefore } }, orderBy: { updatedAt: 'asc' }, take: SWEEP_BATCH });
    for (const t of pendingCharges) {
      if (!(await this.takeOver(t).catch(() => false))) continue;
      charges += 1;
      await this.resumedCharge(t.id, 'sweep').catch(() => undefined); // the outcome is reported by resumedCharge
    }
    const pendingRefunds = await this.db.refund.findMany({ where: { status: 'PENDING', updatedAt: { lt: staleBefore } }, orderBy: { updatedAt: 'asc' }, take: SWEEP_BATCH });
    for (const r of pendingRefunds) {
      try {
        await this.resumeRefund(r, 'sweep', true);
        refunds += 1;
      } catch (err) {
        if (err instanceof AppError && err.code === 'PAYMENT_IN_PROGRESS') continue; // a live worker has it
        refunds += 1; // resumed, and its outcome (failed or unavailable) reported
      }
    }
    return { charges, refunds };
  }

  /**
   * `booking.reservation.cancelled`: refund by the cancellation policy — in full when the system
   * cancelled (deleted customer, closed site) or the customer cancelled before the cutoff, else minus
   * the late fee. The refund's idempotency key is derived from the booking and looked up first: a
   * redelivered event finds the refund it started — and resumes it if its process died before the
   * provider's answer was stored — instead of computing what is left to refund (nothing: the amount is
   * already reserved).
   */
  async handleBookingCancelled(event: EventEnvelope<'booking.reservation.cancelled'>): Promise<void> {
    const { reservationId, cancelledBy, startsAt } = event.payload;
    const t = await this.db.transaction.findFirst({ where: { bookingId: reservationId, status: { in: PAID_STATES } } });
    if (!t) return;
    const key = `booking-cancelled:${reservationId}`;
    const started = await this.refundByKey(t.id, key);
    if (started) {
      if (started.status === 'PENDING') await this.resumeRefund(started, 'redelivery');
      return;
    }
    const amount = cancellationRefund({
      capturedCents: t.capturedCents,
      refundedCents: t.refundedCents,
      customerCancelled: cancelledBy !== null && cancelledBy === event.payload.customerId,
      late: cancelledBy !== null && Date.parse(startsAt) - Date.parse(event.occurredAt) < this.settings.PAYMENT_CANCEL_CUTOFF_MINUTES * 60_000,
      feePercent: this.settings.PAYMENT_LATE_CANCEL_FEE_PERCENT,
    });
    if (amount <= 0) return;
    try {
      await this.refund(null, t.id, amount, `booking cancelled: ${event.payload.reason}`.slice(0, 500), key);
    } catch (err) {
      // Already refunded in full by another path (e.g. a manager): nothing to do.
      if (err instanceof AppError && (err.code === 'PAYMENT_IDEMPOTENCY_MISMATCH' || err.code === 'PAYMENT_REFUND_EXCEEDS_CAPTURED' || err.code === 'PAYMENT_NOT_REFUNDABLE')) return;
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
