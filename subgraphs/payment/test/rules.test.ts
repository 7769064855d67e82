import { AppError } from '@carwash/errors';
import { describe, expect, it } from 'vitest';
import type { TransactionStatus } from '../src/repository.js';
import {
  answerForRepeat,
  bookingPayable,
  canMove,
  cancellationTerms,
  cardExpired,
  chargeableAmount,
  declineError,
  MAX_CENTS,
  refundAmount,
  settlementSteps,
  statusAfterRefund,
  TRANSITIONS,
} from '../src/rules.js';

/** The code of the AppError `fn` throws. */
function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err.code;
    throw err;
  }
  return undefined;
}

const MINUTE = 60_000;
const CUTOFF_MINUTES = 1440;

describe('the charge state machine', () => {
  it.each<[TransactionStatus, TransactionStatus[], TransactionStatus[]]>([
    ['PENDING', ['AUTHORIZED', 'FAILED'], ['CAPTURED', 'REFUNDED']], // no capture or refund unauthorized
    ['AUTHORIZED', ['CAPTURED', 'FAILED'], []],
    ['CAPTURED', ['PARTIALLY_REFUNDED', 'REFUNDED'], ['FAILED']],
    ['PARTIALLY_REFUNDED', ['REFUNDED'], ['CAPTURED']], // no un-refunding
    ['REFUNDED', [], ['CAPTURED']],
  ])('from %s allows %j and refuses %j', (from, allowed, refused) => {
    for (const to of allowed) expect(canMove(from, to), `${from} → ${to}`).toBe(true);
    for (const to of refused) expect(canMove(from, to), `${from} → ${to}`).toBe(false);
  });

  it('resumes a failed charge back to pending only, and never leaves REFUNDED', () => {
    expect(TRANSITIONS.FAILED).toEqual(['PENDING']);
    expect(TRANSITIONS.REFUNDED).toEqual([]);
  });

  it('records a capture as two legal steps through AUTHORIZED, and a failure as one', () => {
    expect(settlementSteps('CAPTURED')).toEqual([
      ['PENDING', 'AUTHORIZED'],
      ['AUTHORIZED', 'CAPTURED'],
    ]);
    expect(settlementSteps('FAILED')).toEqual([['PENDING', 'FAILED']]);
    for (const outcome of ['CAPTURED', 'FAILED'] as const)
      for (const [from, to] of settlementSteps(outcome)) expect(canMove(from, to)).toBe(true);
  });

  it('is partially refunded until the refunds reach the capture', () => {
    expect(statusAfterRefund(4200, 1000)).toBe('PARTIALLY_REFUNDED');
    expect(statusAfterRefund(4200, 4199)).toBe('PARTIALLY_REFUNDED');
    expect(statusAfterRefund(4200, 4200)).toBe('REFUNDED');
  });
});

describe('refund maths', () => {
  const captured = { status: 'CAPTURED' as TransactionStatus, capturedCents: 4200, refundedCents: 0 };

  it('refunds what is left of the capture when no amount is asked', () => {
    expect(refundAmount(captured, null)).toBe(4200);
    expect(refundAmount({ ...captured, status: 'PARTIALLY_REFUNDED', refundedCents: 1000 }, null)).toBe(3200);
  });

  it('refunds a part, and the rest exactly up to the capture', () => {
    expect(refundAmount(captured, 1000)).toBe(1000);
    expect(refundAmount({ ...captured, status: 'PARTIALLY_REFUNDED', refundedCents: 1000 }, 3200)).toBe(3200);
  });

  it('refuses a refund above what is left of the capture', () => {
    expect(codeOf(() => refundAmount(captured, 4201))).toBe('PAYMENT_REFUND_EXCEEDS_CAPTURED');
    expect(
      codeOf(() => refundAmount({ ...captured, status: 'PARTIALLY_REFUNDED', refundedCents: 1000 }, 3201)),
    ).toBe('PAYMENT_REFUND_EXCEEDS_CAPTURED');
  });

  it('refuses refunding a charge that took no money or gave it all back', () => {
    for (const status of ['PENDING', 'AUTHORIZED', 'FAILED', 'REFUNDED'] as const)
      expect(codeOf(() => refundAmount({ ...captured, status }, null))).toBe('PAYMENT_NOT_REFUNDABLE');
  });

  it('refuses a "rest" of nothing', () => {
    expect(codeOf(() => refundAmount({ ...captured, refundedCents: 4200 }, null))).toBe(
      'PAYMENT_REFUND_EXCEEDS_CAPTURED',
    );
  });
});

describe('cancellation terms', () => {
  const startsAt = '2030-01-02T10:00:00.000Z';
  const at = (minutesBefore: number) => new Date(Date.parse(startsAt) - minutesBefore * MINUTE).toISOString();
  const customer = 'c1';

  it('treats a system cancellation (nobody) as neither the customer nor late, even at the last minute', () => {
    expect(
      cancellationTerms(
        { cancelledBy: null, customerId: customer, startsAt, occurredAt: at(1) },
        CUTOFF_MINUTES,
      ),
    ).toEqual({ customerCancelled: false, late: false });
  });

  it('is early exactly at the cutoff and late one minute inside it', () => {
    expect(
      cancellationTerms(
        { cancelledBy: customer, customerId: customer, startsAt, occurredAt: at(CUTOFF_MINUTES) },
        CUTOFF_MINUTES,
      ),
    ).toEqual({ customerCancelled: true, late: false });
    expect(
      cancellationTerms(
        { cancelledBy: customer, customerId: customer, startsAt, occurredAt: at(CUTOFF_MINUTES - 1) },
        CUTOFF_MINUTES,
      ),
    ).toEqual({ customerCancelled: true, late: true });
  });

  it('does not count a manager cancelling for the customer as the customer', () => {
    expect(
      cancellationTerms(
        { cancelledBy: 'manager', customerId: customer, startsAt, occurredAt: at(1) },
        CUTOFF_MINUTES,
      ).customerCancelled,
    ).toBe(false);
  });
});

describe('idempotent answers', () => {
  const stored = { requestHash: 'h1', response: { ok: { id: 't1', status: 'CAPTURED' } } };

  it('gives the first answer again to the same request under the same key', () => {
    expect(answerForRepeat(stored, 'h1')).toEqual({ id: 't1', status: 'CAPTURED' });
  });

  it('throws the stored error again to a retry of a declined request', () => {
    expect(
      codeOf(() =>
        answerForRepeat({ requestHash: 'h1', response: { error: { code: 'PAYMENT_DECLINED' } } }, 'h1'),
      ),
    ).toBe('PAYMENT_DECLINED');
  });

  it('has no answer yet while the first request is unfinished', () => {
    expect(answerForRepeat({ requestHash: 'h1', response: null }, 'h1')).toBeNull();
  });

  it('refuses the same key with other parameters (PAYMENT_IDEMPOTENCY_MISMATCH), answered or not', () => {
    expect(codeOf(() => answerForRepeat(stored, 'h2'))).toBe('PAYMENT_IDEMPOTENCY_MISMATCH');
    expect(codeOf(() => answerForRepeat({ requestHash: 'h1', response: null }, 'h2'))).toBe(
      'PAYMENT_IDEMPOTENCY_MISMATCH',
    );
  });
});

describe('what may be charged', () => {
  const now = new Date('2030-06-15T12:00:00Z');
  const hold = { status: 'HELD', holdExpiresAt: '2030-06-15T12:10:00Z', customer: { id: 'c1' } };

  it('charges only the customer’s own live hold', () => {
    expect(bookingPayable(hold, 'c1', now)).toBe(true);
    expect(bookingPayable(hold, 'c2', now)).toBe(false);
    expect(bookingPayable({ ...hold, status: 'CONFIRMED' }, 'c1', now)).toBe(false);
    expect(bookingPayable({ ...hold, holdExpiresAt: now.toISOString() }, 'c1', now)).toBe(false);
    expect(bookingPayable(null, 'c1', now)).toBe(false);
  });

  it('charges whole positive amounts the columns can hold', () => {
    expect(chargeableAmount(1)).toBe(true);
    expect(chargeableAmount(MAX_CENTS)).toBe(true);
    expect(chargeableAmount(0)).toBe(false);
    expect(chargeableAmount(-5)).toBe(false);
    expect(chargeableAmount(10.5)).toBe(false);
    expect(chargeableAmount(MAX_CENTS + 1)).toBe(false);
  });

  it('refuses a card past its expiry month, and takes it during that month', () => {
    expect(cardExpired(2030, 6, now)).toBe(false);
    expect(cardExpired(2030, 5, now)).toBe(true);
    expect(cardExpired(2029, 12, now)).toBe(true);
    expect(cardExpired(2031, 1, now)).toBe(false);
  });

  it('tells insufficient funds apart from other declines', () => {
    expect(declineError('insufficient_funds')).toBe('PAYMENT_INSUFFICIENT_FUNDS');
    expect(declineError('card_declined')).toBe('PAYMENT_DECLINED');
  });
});
