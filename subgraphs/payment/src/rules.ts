import { createHash } from 'node:crypto';
import { AppError, type ErrorCode } from '@carwash/errors';
import type { TransactionStatus } from './repository.js';

/** The largest amount a charge or refund may carry: the `integer` columns' maximum. */
export const MAX_CENTS = 2_147_483_647;
const PERCENT = 100;
const MS_PER_MINUTE = 60_000;

/** A charge that took money (a booking has at most one: index `payment_one_live_charge_per_booking`). */
export const PAID_STATES: readonly TransactionStatus[] = ['CAPTURED', 'PARTIALLY_REFUNDED', 'REFUNDED'];
/** A charge that still has money to give back. */
export const REFUNDABLE_STATES: readonly TransactionStatus[] = ['CAPTURED', 'PARTIALLY_REFUNDED'];

/**
 * The charge's state machine: each status and the statuses it may move to. A charge is committed
 * PENDING, the provider authorizes and captures it in one call (both steps are recorded), refunds
 * move it to PARTIALLY_REFUNDED and REFUNDED. FAILED by an outage goes back to PENDING when resumed;
 * FAILED by a decline is final.
 */
export const TRANSITIONS: Readonly<Record<TransactionStatus, readonly TransactionStatus[]>> = {
  PENDING: ['AUTHORIZED', 'FAILED'],
  AUTHORIZED: ['CAPTURED', 'FAILED'],
  CAPTURED: ['PARTIALLY_REFUNDED', 'REFUNDED'],
  PARTIALLY_REFUNDED: ['REFUNDED'],
  REFUNDED: [],
  FAILED: ['PENDING'],
};

/** Whether the state machine allows `from` → `to`. */
export const canMove = (from: TransactionStatus, to: TransactionStatus): boolean =>
  TRANSITIONS[from].includes(to);

/** The history steps a PENDING charge records when the provider answers: capture passes through AUTHORIZED. */
export function settlementSteps(
  outcome: 'CAPTURED' | 'FAILED',
): Array<[TransactionStatus, TransactionStatus]> {
  return outcome === 'CAPTURED'
    ? [
        ['PENDING', 'AUTHORIZED'],
        ['AUTHORIZED', 'CAPTURED'],
      ]
    : [['PENDING', 'FAILED']];
}

/** The status of a captured charge once `refundedCents` of its `capturedCents` went back. */
export function statusAfterRefund(capturedCents: number, refundedCents: number): TransactionStatus {
  return refundedCents >= capturedCents ? 'REFUNDED' : 'PARTIALLY_REFUNDED';
}

/**
 * How much a refund request gives back: the amount asked, or all that is left of the capture. Refuses
 * a charge that took no money (or all of it went back) and an amount beyond what is left. The
 * database re-checks the sum in the statement that reserves it, so racing refunds cannot exceed it.
 */
export function refundAmount(
  t: { status: TransactionStatus; capturedCents: number; refundedCents: number },
  requestedCents: number | null,
): number {
  if (!REFUNDABLE_STATES.includes(t.status))
    throw new AppError('PAYMENT_NOT_REFUNDABLE', { field: 'transactionId' });
  const left = t.capturedCents - t.refundedCents;
  const amount = requestedCents ?? left;
  if (amount <= 0 || amount > left)
    throw new AppError('PAYMENT_REFUND_EXCEEDS_CAPTURED', { field: 'amountCents' });
  return amount;
}

/** The refund kept by the cancellation policy: in full unless the customer cancelled late. */
export function cancellationRefund(input: {
  capturedCents: number;
  refundedCents: number;
  customerCancelled: boolean;
  late: boolean;
  feePercent: number;
}): number {
  const fee =
    input.late && input.customerCancelled
      ? Math.round((input.capturedCents * input.feePercent) / PERCENT)
      : 0;
  return Math.min(input.capturedCents - input.refundedCents, input.capturedCents - fee);
}

/**
 * Whether a cancellation counts as the customer's own and late (within `cutoffMinutes` of the start),
 * so the late fee applies. `cancelledBy` null is the system (deleted customer, closed site).
 */
export function cancellationTerms(
  c: { cancelledBy: string | null; customerId: string; startsAt: string; occurredAt: string },
  cutoffMinutes: number,
): { customerCancelled: boolean; late: boolean } {
  return {
    customerCancelled: c.cancelledBy !== null && c.cancelledBy === c.customerId,
    late:
      c.cancelledBy !== null &&
      Date.parse(c.startsAt) - Date.parse(c.occurredAt) < cutoffMinutes * MS_PER_MINUTE,
  };
}

/** The first answer to a request, stored with its idempotency key and returned again to retries. */
export type Stored<T extends object = Record<string, unknown>> =
  { ok: T } | { error: { code: ErrorCode; field?: string } };

/** The fingerprint of a request's parameters, stored beside its idempotency key. */
export const requestHash = (parts: unknown[]): string =>
  createHash('sha256').update(JSON.stringify(parts)).digest('hex');

/** Gives a stored answer again: the stored result, or the stored error thrown. */
export function replay<T extends object>(stored: Stored<T>): T {
  if ('error' in stored)
    throw new AppError(stored.error.code, stored.error.field ? { field: stored.error.field } : {});
  return stored.ok;
}

/**
 * A request met under a key used before: the same parameters get the first answer (`null` while it is
 * still being worked out); other parameters under the same key are refused.
 */
export function answerForRepeat<T extends object = Record<string, unknown>>(
  existing: { requestHash: string; response: unknown },
  hash: string,
): T | null {
  if (existing.requestHash !== hash)
    throw new AppError('PAYMENT_IDEMPOTENCY_MISMATCH', { field: 'idempotencyKey' });
  // The stored JSON is the first answer this service wrote for the key (a snapshot of type T, or an error).
  return existing.response ? replay(existing.response as Stored<T>) : null;
}

/** The error a client gets for a provider's decline. */
export const declineError = (declineCode: string): ErrorCode =>
  declineCode === 'insufficient_funds' ? 'PAYMENT_INSUFFICIENT_FUNDS' : 'PAYMENT_DECLINED';

/** Whether a card expiring at the end of `expMonth`/`expYear` has expired at `now` (UTC). */
export function cardExpired(expYear: number, expMonth: number, now: Date): boolean {
  const year = now.getUTCFullYear();
  return expYear < year || (expYear === year && expMonth < now.getUTCMonth() + 1);
}

/** Whether a booking (as booking reports it) may be paid by `customerId` at `now`: their own live hold. */
export function bookingPayable(
  b: { status: string; holdExpiresAt: string | null; customer: { id: string } } | null,
  customerId: string,
  now: Date,
): boolean {
  return (
    !!b &&
    b.customer.id === customerId &&
    b.status === 'HELD' &&
    !(b.holdExpiresAt && new Date(b.holdExpiresAt) <= now)
  );
}

/** Whether a price (from booking) is a chargeable amount. */
export const chargeableAmount = (amountCents: number): boolean =>
  Number.isInteger(amountCents) && amountCents > 0 && amountCents <= MAX_CENTS;
