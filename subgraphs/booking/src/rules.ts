import { badInput } from '@carwash/errors';
import type { Viewer } from '@carwash/service-trust';
import { fields, validate } from '@carwash/subgraph-kit';
import { DateTime } from 'luxon';
import type { Reservation, ReservationStatus } from './repository.js';

/** Which status may follow which. Anything else is BOOKING_ILLEGAL_TRANSITION. */
export const NEXT: Readonly<Record<ReservationStatus, readonly ReservationStatus[]>> = {
  HELD: ['CONFIRMED', 'CANCELLED', 'EXPIRED'],
  CONFIRMED: ['IN_PROGRESS', 'CANCELLED', 'NO_SHOW'],
  IN_PROGRESS: ['COMPLETED', 'CANCELLED'],
  COMPLETED: [],
  CANCELLED: [],
  NO_SHOW: [],
  EXPIRED: [],
};

/**
 * Whether `from` may become `to`. `revive` admits the one exception to {@link NEXT}: a lapsed hold
 * (EXPIRED) becoming CONFIRMED when its payment arrives late and its bay is still free.
 */
export function canTransition(from: ReservationStatus, to: ReservationStatus, revive = false): boolean {
  return NEXT[from].includes(to) || (revive && from === 'EXPIRED' && to === 'CONFIRMED');
}

/** A validated id argument (BAD_USER_INPUT naming `field` otherwise). */
export function id(value: unknown, field: string): string {
  return validate(fields.uuid(), value, field);
}

/** Managers and admins: the staff who may act on other people's bookings. */
export const isStaff = (v: Pick<Viewer, 'role'> | null): boolean =>
  v?.role === 'MANAGER' || v?.role === 'ADMIN';

/** Who may see a booking: its customer, its washer, managers and admins. */
export function canSee(
  viewer: Pick<Viewer, 'userId' | 'role'> | null,
  r: Pick<Reservation, 'customerId' | 'washerId'>,
): boolean {
  return !!viewer && (isStaff(viewer) || viewer.userId === r.customerId || viewer.userId === r.washerId);
}

/** The UTC range of a local date in a time zone (DST days last 23 or 25 hours). */
export function localDay(date: string, timeZone: string): { from: Date; to: Date } {
  const start = DateTime.fromISO(date, { zone: timeZone }).startOf('day');
  if (!start.isValid) throw badInput('date', 'date must be YYYY-MM-DD');
  return { from: start.toJSDate(), to: start.plus({ days: 1 }).toJSDate() };
}

/**
 * Who may confirm a HELD booking by hand, without its payment: staff, for someone else's booking
 * (pay at the site, a fleet invoice), and only with a reason for the history. Nobody confirms their
 * own unpaid hold — a client's hold is confirmed by its captured payment (through the bus), and a
 * manager's own booking is no different, or staff would wash for free.
 */
export function manualConfirmRefusal(
  viewer: Pick<Viewer, 'userId' | 'role'>,
  r: Pick<Reservation, 'customerId'>,
  reason: string | null,
): 'PAYMENT_REQUIRED' | 'FORBIDDEN' | 'REASON_REQUIRED' | null {
  if (viewer.userId === r.customerId) return 'PAYMENT_REQUIRED';
  if (!isStaff(viewer)) return 'FORBIDDEN';
  if (!reason) return 'REASON_REQUIRED';
  return null;
}

/**
 * Whether the live-hold cap applies to this booking: when a customer books for themselves, whatever
 * their role. Staff booking on a client's behalf (`customerId`) are not capped — they are accountable
 * (`createdBy` records them) and take phone or fleet bookings — but the holds they create count
 * towards the client's own cap, so a client cannot use them to exceed it.
 */
export function holdCapApplies(viewer: Pick<Viewer, 'userId'>, customerId: string): boolean {
  return viewer.userId === customerId;
}

/**
 * What a captured payment does to its booking (`payment.charge.captured`):
 * - `confirm` — the hold is still HELD (lapsed or not, nobody took its bay while it stayed HELD);
 * - `revive`  — the hold lapsed but the wash is still ahead: CONFIRMED again if its bay is still free,
 *               else `refund`;
 * - `refund`  — the hold lapsed and its time has passed, or the booking was cancelled: nobody keeps
 *               money for a wash they cannot have, so the booking announces a cancellation that
 *               payment refunds in full;
 * - `keep`    — the booking is already confirmed (or later): nothing changes.
 */
export type CaptureAction = 'confirm' | 'revive' | 'refund' | 'keep';

export function captureAction(r: Pick<Reservation, 'status' | 'startsAt'>, now: Date): CaptureAction {
  switch (r.status) {
    case 'HELD':
      return 'confirm';
    case 'EXPIRED':
      return r.startsAt > now ? 'revive' : 'refund';
    case 'CANCELLED':
      return 'refund';
    default:
      return 'keep';
  }
}
