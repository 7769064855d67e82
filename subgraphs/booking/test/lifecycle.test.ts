/**
 * The reservation lifecycle as BookingService decides it, over an in-memory repository: which status
 * may follow which, who may make each change, and what each change writes (history row, events).
 */
import { randomUUID } from 'node:crypto';
import type { EventEnvelope, EventMap, Topic } from '@carwash/events';
import type { Viewer } from '@carwash/service-trust';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Reservation, ReservationStatus } from '../src/repository.js';
import { NEXT, canTransition } from '../src/rules.js';
import { BookingService } from '../src/service.js';
import { codeOf, FakeBookingStore, FakeLocation, pgError, SETTINGS, viewer } from './fakes.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const STATUSES = Object.keys(NEXT) as ReservationStatus[];

function event<T extends Topic>(type: T, payload: EventMap[T]): EventEnvelope<T> {
  return {
    id: randomUUID(),
    type,
    version: 1,
    aggregateId: randomUUID(),
    occurredAt: new Date().toISOString(),
    producer: 'test',
    payload,
  };
}

let store: FakeBookingStore;
let service: BookingService;
let customer: Viewer;
let washer: Viewer;
let manager: Viewer;
const siteId = randomUUID();

beforeEach(() => {
  store = new FakeBookingStore();
  service = new BookingService(store, new FakeLocation(), SETTINGS);
  customer = viewer('CLIENT');
  washer = viewer('WASHER');
  manager = viewer('MANAGER');
});

/** A booking of `customer`, washed by `washer`, starting `startsIn` from now. */
function booking(
  status: ReservationStatus,
  over: Partial<Reservation> = {},
  startsIn = 3 * HOUR,
): Reservation {
  const startsAt = new Date(Date.now() + startsIn);
  return store.seedReservation({
    siteId,
    startsAt,
    status,
    customerId: customer.userId,
    washerId: washer.userId,
    holdExpiresAt: status === 'HELD' ? new Date(Date.now() + 10 * MINUTE) : null,
    ...over,
  });
}

/** Each lifecycle mutation, as a manager performs it (the actor allowed for all of them). */
const ACTIONS: Record<string, { to: ReservationStatus; run: (id: string) => Promise<Reservation> }> = {
  confirm: { to: 'CONFIRMED', run: (id) => service.confirm(manager, id, 'paid at the site') },
  start: { to: 'IN_PROGRESS', run: (id) => service.start(manager, id) },
  complete: { to: 'COMPLETED', run: (id) => service.complete(manager, id) },
  cancel: { to: 'CANCELLED', run: (id) => service.cancel(manager, id, 'customer phoned') },
  markNoShow: { to: 'NO_SHOW', run: (id) => service.markNoShow(manager, id) },
};

describe('the transition table', () => {
  it('lets nothing follow a final status', () => {
    for (const s of ['COMPLETED', 'CANCELLED', 'NO_SHOW', 'EXPIRED'] as const) expect(NEXT[s]).toEqual([]);
  });

  it('admits a lapsed hold becoming CONFIRMED only as a late payment revival', () => {
    expect(canTransition('EXPIRED', 'CONFIRMED')).toBe(false);
    expect(canTransition('EXPIRED', 'CONFIRMED', true)).toBe(true);
    expect(canTransition('CANCELLED', 'CONFIRMED', true)).toBe(false);
  });
});

describe('every status × every lifecycle mutation', () => {
  for (const from of STATUSES) {
    for (const [name, action] of Object.entries(ACTIONS)) {
      const legal = NEXT[from].includes(action.to);
      it(`${legal ? 'applies' : 'refuses'} ${name} on a ${from} booking${legal ? ', with a history row and events' : ', writing nothing'}`, async () => {
        // Started an hour ago, so a no-show may be recorded; a HELD hold has not lapsed.
        const r = booking(from, {}, -HOUR);
        const code = await codeOf(() => action.run(r.id));
        if (!legal) {
          expect(code).toBe('BOOKING_ILLEGAL_TRANSITION');
          expect(store.find(r.id)!.status).toBe(from);
          expect(store.historyOf(r.id)).toEqual([]);
          expect(store.eventsOf(r.id)).toEqual([]);
          return;
        }
        expect(code).toBe('OK');
        expect(store.find(r.id)).toMatchObject({ status: action.to, holdExpiresAt: null });
        expect(store.historyOf(r.id)).toEqual([
          expect.objectContaining({ fromStatus: from, toStatus: action.to, changedBy: manager.userId }),
        ]);
        const topics = store.eventsOf(r.id).map((e) => e.topic);
        expect(topics).toEqual(
          action.to === 'CANCELLED'
            ? ['booking.reservation.statusChanged', 'booking.reservation.cancelled']
            : ['booking.reservation.statusChanged'],
        );
      });
    }
  }
});

describe('who may change a booking', () => {
  it('lets the assigned washer start and complete a wash, with their id in the history', async () => {
    const r = booking('CONFIRMED');
    await service.start(washer, r.id);
    await service.complete(washer, r.id);
    expect(store.historyOf(r.id).map((h) => [h.fromStatus, h.toStatus, h.changedBy])).toEqual([
      ['CONFIRMED', 'IN_PROGRESS', washer.userId],
      ['IN_PROGRESS', 'COMPLETED', washer.userId],
    ]);
  });

  it('refuses another washer starting the job, and the customer starting their own wash', async () => {
    const r = booking('CONFIRMED');
    const otherWasher = viewer('WASHER');
    // Not theirs to see: answered as if it did not exist.
    expect(await codeOf(() => service.start(otherWasher, r.id))).toBe('NOT_FOUND');
    expect(await codeOf(() => service.start(customer, r.id))).toBe('FORBIDDEN');
    expect(await codeOf(() => service.markNoShow(customer, r.id))).toBe('FORBIDDEN');
    expect(store.find(r.id)!.status).toBe('CONFIRMED');
    expect(store.historyOf(r.id)).toEqual([]);
  });

  it("does not reveal someone else's booking to a client", async () => {
    const r = booking('HELD');
    expect(await codeOf(() => service.cancel(viewer('CLIENT'), r.id, null))).toBe('NOT_FOUND');
    expect(await codeOf(() => service.confirm(viewer('CLIENT'), r.id, 'x'))).toBe('NOT_FOUND');
  });

  it('refuses a client confirming their own unpaid hold, and staff confirming without a reason', async () => {
    const r = booking('HELD');
    expect(await codeOf(() => service.confirm(customer, r.id, 'I will pay later'))).toBe(
      'BOOKING_PAYMENT_REQUIRED',
    );
    expect(await codeOf(() => service.confirm(manager, r.id, null))).toBe('BAD_USER_INPUT');
    expect(await codeOf(() => service.confirm(washer, r.id, 'paid'))).toBe('FORBIDDEN');
    expect(store.find(r.id)!.status).toBe('HELD');
    // The legitimate path: staff, someone else's booking, with a reason the history keeps.
    await service.confirm(manager, r.id, 'paid at the site');
    expect(store.historyOf(r.id)).toEqual([
      expect.objectContaining({
        toStatus: 'CONFIRMED',
        changedBy: manager.userId,
        reason: 'paid at the site',
      }),
    ]);
  });

  it('expires a lapsed hold that staff try to confirm, and keeps that expiry although the call fails', async () => {
    const r = booking('HELD', { holdExpiresAt: new Date(Date.now() - MINUTE) });
    expect(await codeOf(() => service.confirm(manager, r.id, 'paid at the site'))).toBe(
      'BOOKING_HOLD_EXPIRED',
    );
    expect(store.find(r.id)!.status).toBe('EXPIRED');
    expect(store.historyOf(r.id)).toEqual([expect.objectContaining(FakeBookingStore.LAPSED_HOLD_ENTRY)]);
  });

  it('lets a customer cancel before the cut-off, and refuses after it or once the wash started', async () => {
    const early = booking('CONFIRMED', {}, 3 * HOUR);
    await service.cancel(customer, early.id, null);
    expect(store.historyOf(early.id)).toEqual([
      expect.objectContaining({
        toStatus: 'CANCELLED',
        changedBy: customer.userId,
        reason: 'cancelled by the customer',
      }),
    ]);
    expect(
      store.eventsOf(early.id).find((e) => e.topic === 'booking.reservation.cancelled')?.payload,
    ).toMatchObject({ cancelledBy: customer.userId });

    const late = booking('CONFIRMED', {}, SETTINGS.BOOKING_CANCEL_CUTOFF_MINUTES * MINUTE - MINUTE);
    expect(await codeOf(() => service.cancel(customer, late.id, null))).toBe('BOOKING_CANCELLATION_TOO_LATE');
    const started = booking('IN_PROGRESS', {}, -MINUTE);
    expect(await codeOf(() => service.cancel(customer, started.id, null))).toBe('BOOKING_ILLEGAL_TRANSITION');
    expect(await codeOf(() => service.cancel(washer, early.id, null))).toBe('BOOKING_ILLEGAL_TRANSITION'); // already cancelled
    expect(await codeOf(() => service.cancel(washer, late.id, null))).toBe('FORBIDDEN');
  });

  it('makes managers give a reason to cancel, and lets them cancel late or in progress', async () => {
    const late = booking('IN_PROGRESS', {}, -MINUTE);
    expect(await codeOf(() => service.cancel(manager, late.id, null))).toBe('BAD_USER_INPUT');
    await service.cancel(manager, late.id, 'flood in bay 1');
    expect(store.historyOf(late.id)).toEqual([
      expect.objectContaining({ fromStatus: 'IN_PROGRESS', toStatus: 'CANCELLED', reason: 'flood in bay 1' }),
    ]);
  });

  it('refuses a no-show before the start', async () => {
    const r = booking('CONFIRMED', {}, HOUR);
    expect(await codeOf(() => service.markNoShow(manager, r.id))).toBe('BOOKING_ILLEGAL_TRANSITION');
    expect(store.find(r.id)!.status).toBe('CONFIRMED');
  });

  it('refuses a change when the booking changed between the read and the write', async () => {
    const r = booking('CONFIRMED');
    store.beforeStatusUpdate = (id) => void Object.assign(store.find(id)!, { status: 'CANCELLED' });
    expect(await codeOf(() => service.start(washer, r.id))).toBe('BOOKING_ILLEGAL_TRANSITION');
    expect(store.historyOf(r.id)).toEqual([]);
    expect(store.eventsOf(r.id)).toEqual([]);
  });

  it('answers a malformed id with BAD_USER_INPUT', async () => {
    expect(await codeOf(() => service.start(manager, 'not-a-uuid'))).toBe('BAD_USER_INPUT');
  });
});

describe('assignWasher', () => {
  const onShift = (r: Reservation) => [
    {
      site: { id: r.siteId },
      startsAt: new Date(r.startsAt.getTime() - HOUR).toISOString(),
      endsAt: new Date(r.endsAt.getTime() + HOUR).toISOString(),
      endedAt: null,
    },
  ];

  it('assigns a washer on shift for the whole booking, and refuses one who is not or is busy', async () => {
    const peers = new FakeLocation();
    service = new BookingService(store, peers, SETTINGS);
    const r = booking('CONFIRMED', { washerId: null });
    const other = booking('HELD', { bay: 2, washerId: null });
    const w = randomUUID();
    expect(await codeOf(() => service.assignWasher(manager, r.id, w))).toBe('BOOKING_WASHER_NOT_ASSIGNED');
    peers.shiftsOf.set(w, onShift(r));
    expect((await service.assignWasher(manager, r.id, w)).washerId).toBe(w);
    // The same washer at the same time on another bay: the database's washer constraint refuses it.
    expect(await codeOf(() => service.assignWasher(manager, other.id, w))).toBe('BOOKING_WASHER_BUSY');
    const done = booking('COMPLETED', { washerId: null });
    expect(await codeOf(() => service.assignWasher(manager, done.id, w))).toBe('BOOKING_ILLEGAL_TRANSITION');
  });
});

describe('events booking consumes', () => {
  const captured = (reservationId: string) =>
    event('payment.charge.captured', {
      transactionId: randomUUID(),
      reservationId,
      customerId: customer.userId,
      amountCents: 1500,
      currency: 'EUR',
    });

  it('confirms a paid hold once, as the system, even when the event is delivered twice', async () => {
    const r = booking('HELD');
    const e = captured(r.id);
    await service.handleChargeCaptured(e);
    await service.handleChargeCaptured(e);
    expect(store.find(r.id)!.status).toBe('CONFIRMED');
    expect(store.historyOf(r.id)).toEqual([
      expect.objectContaining({ fromStatus: 'HELD', toStatus: 'CONFIRMED', changedBy: null, reason: 'paid' }),
    ]);
    expect(store.locks).toEqual([`site:${siteId}`, `row:${r.id}`]);
  });

  it('revives a lapsed hold paid late while its bay is free', async () => {
    const r = booking('EXPIRED', { holdExpiresAt: null });
    await service.handleChargeCaptured(captured(r.id));
    expect(store.find(r.id)!.status).toBe('CONFIRMED');
    expect(store.historyOf(r.id)).toEqual([
      expect.objectContaining({
        fromStatus: 'EXPIRED',
        toStatus: 'CONFIRMED',
        reason: 'paid after the hold lapsed',
      }),
    ]);
  });

  it('announces a refund for a late payment whose bay was taken, and for a cancelled booking', async () => {
    const lost = booking('EXPIRED');
    booking('CONFIRMED', {
      customerId: randomUUID(),
      washerId: null,
      startsAt: lost.startsAt,
      blockedUntil: lost.blockedUntil,
    });
    const cancelled = booking('CANCELLED');
    for (const r of [lost, cancelled]) {
      await service.handleChargeCaptured(captured(r.id));
      expect(store.find(r.id)!.status).toBe(r.status);
      expect(store.historyOf(r.id)).toEqual([
        expect.objectContaining({ fromStatus: r.status, toStatus: r.status, changedBy: null }),
      ]);
      expect(store.eventsOf(r.id)).toEqual([
        expect.objectContaining({
          topic: 'booking.reservation.cancelled',
          payload: expect.objectContaining({ cancelledBy: null }),
        }),
      ]);
    }
  });

  it('refunds instead when the revival hits the washer constraint, in one transaction with its inbox row', async () => {
    const r = booking('EXPIRED');
    store.beforeStatusUpdate = () => {
      throw pgError('23P01');
    };
    await service.handleChargeCaptured(captured(r.id));
    expect(store.find(r.id)!.status).toBe('EXPIRED');
    expect(store.eventsOf(r.id).map((e) => e.topic)).toEqual(['booking.reservation.cancelled']);
    expect(store.historyOf(r.id)).toHaveLength(1);
  });

  it('cancels a deleted customer’s future bookings and frees a deleted washer’s future jobs', async () => {
    const future = booking('CONFIRMED');
    const past = booking('CONFIRMED', {}, -2 * HOUR);
    const job = booking('HELD', { customerId: randomUUID(), bay: 2 });
    await service.handleUserDeleted(event('auth.user.deleted', { userId: customer.userId }));
    expect(store.find(future.id)!.status).toBe('CANCELLED');
    expect(store.historyOf(future.id)).toEqual([
      expect.objectContaining({ changedBy: null, reason: 'customer account deleted' }),
    ]);
    expect(store.find(past.id)!.status).toBe('CONFIRMED');
    await service.handleUserDeleted(event('auth.user.deleted', { userId: washer.userId }));
    expect(store.find(job.id)).toMatchObject({ status: 'HELD', washerId: null });
  });

  it('cancels the future bookings of a closed site, with the closure reason', async () => {
    const r = booking('HELD');
    const started = booking('IN_PROGRESS', { bay: 2 }, -MINUTE);
    await service.handleSiteClosed(
      event('location.site.closed', {
        siteId,
        from: new Date().toISOString(),
        to: null,
        reason: 'renovation',
      }),
    );
    expect(store.find(r.id)!.status).toBe('CANCELLED');
    expect(store.historyOf(r.id)).toEqual([expect.objectContaining({ reason: 'site closed: renovation' })]);
    expect(store.find(started.id)!.status).toBe('IN_PROGRESS');
  });

  it('frees a washer from the site’s jobs after their shift ended', async () => {
    const r = booking('CONFIRMED');
    await service.handleStaffUnassigned(
      event('location.staff.unassigned', {
        assignmentId: randomUUID(),
        siteId,
        userId: washer.userId,
        endedAt: new Date().toISOString(),
      }),
    );
    expect(store.find(r.id)!.washerId).toBeNull();
  });
});
