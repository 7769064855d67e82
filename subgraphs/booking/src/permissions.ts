import {
  allow,
  featureRule,
  featureShield,
  isAuthenticated,
  isServiceOnItsOwnAuthority as isService,
  isSignedInManager,
  isServiceOrSignedInSelfOrManager,
  or,
  type ServiceAccess,
} from '@carwash/subgraph-kit';
import type { BookingContext } from './context.js';
import { canSee } from './rules.js';

/** The parent booking is the viewer's (as customer or washer), or the viewer manages. */
const canSeeBooking = featureRule<BookingContext, { customerId?: string; washerId?: string | null }>(
  (parent, _a, ctx) =>
    canSee(ctx.viewer, { customerId: parent.customerId ?? '', washerId: parent.washerId ?? null }),
);

/** What each sibling may read here: payment asks for a booking's status, owner and price before a charge. */
export const serviceAccess: ServiceAccess = {
  payment: {
    Query: ['_entities'],
    Booking: ['id', 'status', 'startsAt', 'holdExpiresAt', 'customer', 'price'],
    User: ['id'],
    Money: ['amountCents', 'currency'],
  },
};

/**
 * Deny by default. The catalogue and free slots are public; a booking is visible to its customer,
 * its washer, managers and admins — through `booking(id)` and through `_entities` alike.
 */
export const permissions = featureShield({
  Query: {
    services: allow,
    service: allow,
    availableSlots: allow,
    booking: isAuthenticated,
  },
  Mutation: {
    '*': isAuthenticated,
    createService: isSignedInManager,
    updateService: isSignedInManager,
    assignWasher: isSignedInManager,
  },
  Booking: { '*': or(isService, canSeeBooking) },
  User: { id: allow, bookings: isServiceOrSignedInSelfOrManager },
  WashSite: { id: allow, bookings: isSignedInManager },
  Service: allow,
  Money: allow,
  Slot: allow,
  BookingItem: allow,
  BookingHistoryEntry: allow,
  BookingConnection: allow,
  PageInfo: allow,
});
