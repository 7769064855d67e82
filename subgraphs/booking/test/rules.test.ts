import type { Viewer } from '@carwash/service-trust';
import { describe, expect, it } from 'vitest';
import { captureAction, holdCapApplies, manualConfirmRefusal } from '../src/rules.js';

const CUSTOMER = '00000000-0000-4000-8000-000000000001';
const OTHER = '00000000-0000-4000-8000-000000000002';
const now = new Date('2030-06-03T12:00:00Z');
const later = new Date('2030-06-04T12:00:00Z');
const earlier = new Date('2030-06-02T12:00:00Z');

describe('manualConfirmRefusal', () => {
  /** What `role` user `userId` is told when confirming CUSTOMER's booking with `reason`. */
  const refusalFor = (userId: string, role: Viewer['role'], reason: string | null) =>
    manualConfirmRefusal({ userId, role }, { customerId: CUSTOMER }, reason);

  it('refuses a client confirming their own unpaid hold: only payment confirms it', () => {
    expect(refusalFor(CUSTOMER, 'CLIENT', 'I will pay later')).toBe('PAYMENT_REQUIRED');
  });

  it('refuses staff confirming their own booking, reason or not', () => {
    expect(refusalFor(CUSTOMER, 'MANAGER', 'paid at the site')).toBe('PAYMENT_REQUIRED');
    expect(refusalFor(CUSTOMER, 'ADMIN', 'paid at the site')).toBe('PAYMENT_REQUIRED');
  });

  it("refuses clients and washers confirming someone else's booking", () => {
    expect(refusalFor(OTHER, 'CLIENT', 'x')).toBe('FORBIDDEN');
    expect(refusalFor(OTHER, 'WASHER', 'x')).toBe('FORBIDDEN');
  });

  it('asks staff for a reason, and lets them confirm with one', () => {
    expect(refusalFor(OTHER, 'MANAGER', null)).toBe('REASON_REQUIRED');
    expect(refusalFor(OTHER, 'MANAGER', 'paid at the site')).toBeNull();
    expect(refusalFor(OTHER, 'ADMIN', 'fleet invoice')).toBeNull();
  });
});

describe('holdCapApplies', () => {
  it('caps a customer booking for themselves, whatever the role', () => {
    expect(holdCapApplies({ userId: CUSTOMER }, CUSTOMER)).toBe(true);
  });

  it('does not cap staff booking on behalf of a client', () => {
    expect(holdCapApplies({ userId: OTHER }, CUSTOMER)).toBe(false);
  });
});

describe('captureAction', () => {
  it('confirms a hold that is still HELD', () => {
    expect(captureAction({ status: 'HELD', startsAt: later }, now)).toBe('confirm');
  });

  it('tries to revive a lapsed hold whose wash is still ahead', () => {
    expect(captureAction({ status: 'EXPIRED', startsAt: later }, now)).toBe('revive');
  });

  it('refunds a lapsed hold whose time has passed, and a cancelled booking', () => {
    expect(captureAction({ status: 'EXPIRED', startsAt: earlier }, now)).toBe('refund');
    expect(captureAction({ status: 'EXPIRED', startsAt: now }, now)).toBe('refund');
    expect(captureAction({ status: 'CANCELLED', startsAt: later }, now)).toBe('refund');
  });

  it('keeps a booking that is already confirmed or further along', () => {
    for (const status of ['CONFIRMED', 'IN_PROGRESS', 'COMPLETED', 'NO_SHOW'] as const)
      expect(captureAction({ status, startsAt: later }, now)).toBe('keep');
  });
});
