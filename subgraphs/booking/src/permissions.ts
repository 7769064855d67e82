import { AppError } from '@carwash/errors';
import { isServiceOnItsOwnAuthority as isService, type ServiceAccess } from '@carwash/subgraph-kit';
import { allow, and, deny, or, rule, shield } from 'graphql-shield';
import type { BookingContext } from './context.js';
import { canSee } from './rules.js';

const isAuthenticated = rule({ cache: 'contextual' })((_p, _a, ctx: BookingContext) =>
  ctx.viewer ? true : new AppError('UNAUTHENTICATED'),
);
const isManagerOrAdmin = rule({ cache: 'contextual' })(
  (_p, _a, ctx: BookingContext) => ctx.viewer?.role === 'MANAGER' || ctx.viewer?.role === 'ADMIN',
);
/** The parent booking is the viewer's (as customer or washer), or the viewer manages. */
const canSeeBooking = rule({ cache: 'strict' })(
  (parent: { customerId?: string; washerId?: string | null }, _a, ctx: BookingContext) =>
    canSee(ctx.viewer, { customerId: parent.customerId ?? '', washerId: parent.washerId ?? null }),
);
const isSelf = rule({ cache: 'strict' })(
  (parent: { id?: string }, _a, ctx: BookingContext) => !!ctx.viewer && parent.id === ctx.viewer.userId,
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
export const permissions = shield(
  {
    Query: {
      '*': deny,
      _service: allow,
      _entities: allow,
      services: allow,
      service: allow,
      availableSlots: allow,
      booking: isAuthenticated,
    },
    Mutation: {
      '*': isAuthenticated,
      createService: and(isAuthenticated, isManagerOrAdmin),
      updateService: and(isAuthenticated, isManagerOrAdmin),
      assignWasher: and(isAuthenticated, isManagerOrAdmin),
    },
    Booking: { '*': or(isService, canSeeBooking) },
    User: { id: allow, bookings: or(isService, and(isAuthenticated, or(isSelf, isManagerOrAdmin))) },
    WashSite: { id: allow, bookings: and(isAuthenticated, isManagerOrAdmin) },
    Service: allow,
    Money: allow,
    Slot: allow,
    BookingItem: allow,
    BookingHistoryEntry: allow,
    BookingConnection: allow,
    PageInfo: allow,
    _Service: allow,
  },
  { fallbackRule: deny, fallbackError: () => new AppError('FORBIDDEN'), allowExternalErrors: true },
);
