import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { DateScalar, DateTime } from '@carwash/subgraph-kit';
import type { BookingContext } from './context.js';
import type { History, Reservation, ReservationItem, ReservationStatus, Service } from './repository.js';
import { canSee, id, isStaff, localDay } from './rules.js';

const money = (amountCents: number, currency: string) => ({ amountCents, currency });

export const resolvers: GraphQLResolverMap<BookingContext> = {
  DateTime: DateTime as never,
  Date: DateScalar as never,
  Query: {
    services: (_p, args: { includeInactive?: boolean }, ctx) => {
      const all = !!args.includeInactive && isStaff(ctx.viewer);
      return ctx.booking.listServices(all);
    },
    service: (_p, args: { id: string }, ctx) => ctx.loaders.service.load(id(args.id, 'id')),
    // Someone else's booking answers null, as an unknown one does: existence is not revealed.
    booking: async (_p, args: { id: string }, ctx) => {
      const r = await ctx.loaders.booking.load(id(args.id, 'id'));
      return r && canSee(ctx.viewer, r) ? r : null;
    },
    availableSlots: (_p, args: { siteId: string; serviceId: string; date: string }, ctx) => ctx.booking.availableSlots(args.siteId, args.serviceId, args.date, ctx.requestId),
  },
  Mutation: {
    createService: (_p, args: { input: unknown }, ctx) => ctx.booking.createService(args.input),
    updateService: (_p, args: { id: string; input: unknown }, ctx) => ctx.booking.updateService(args.id, args.input),
    createBooking: (_p, args: { input: unknown }, ctx) => ctx.booking.createBooking(ctx.viewer!, args.input, { users: ctx.loaders.users, requestId: ctx.requestId }),
    confirmBooking: (_p, args: { id: string; reason?: string | null }, ctx) => ctx.booking.confirm(ctx.viewer!, args.id, args.reason),
    startBooking: (_p, args: { id: string }, ctx) => ctx.booking.start(ctx.viewer!, args.id),
    completeBooking: (_p, args: { id: string }, ctx) => ctx.booking.complete(ctx.viewer!, args.id),
    cancelBooking: (_p, args: { id: string; reason?: string | null }, ctx) => ctx.booking.cancel(ctx.viewer!, args.id, args.reason),
    markNoShow: (_p, args: { id: string }, ctx) => ctx.booking.markNoShow(ctx.viewer!, args.id),
    assignWasher: (_p, args: { id: string; washerId: string }, ctx) => ctx.booking.assignWasher(ctx.viewer!, args.id, args.washerId, ctx.requestId),
  },
  Service: {
    __resolveReference: (ref: { id: string }, ctx: BookingContext) => ctx.loaders.service.load(ref.id),
    price: (s: Service) => money(s.priceCents, s.currency),
  },
  Booking: {
    __resolveReference: (ref: { id: string }, ctx: BookingContext) => ctx.loaders.booking.load(ref.id),
    customer: (r: Reservation) => ({ __typename: 'User', id: r.customerId }),
    washer: (r: Reservation) => (r.washerId ? { __typename: 'User', id: r.washerId } : null),
    site: (r: Reservation) => ({ __typename: 'WashSite', id: r.siteId }),
    service: (r: Reservation, _a, ctx) => ctx.loaders.service.load(r.serviceId),
    items: (r: Reservation, _a, ctx) => ctx.loaders.items.load(r.id),
    price: (r: Reservation) => money(r.priceCents, r.currency),
    history: (r: Reservation, _a, ctx) => ctx.loaders.history.load(r.id),
  },
  BookingItem: {
    service: (i: ReservationItem, _a, ctx) => ctx.loaders.service.load(i.serviceId),
    price: (i: ReservationItem) => money(i.priceCents, i.currency),
  },
  BookingHistoryEntry: {
    from: (h: History) => h.fromStatus,
    to: (h: History) => h.toStatus,
    changedBy: (h: History) => (h.changedBy ? { __typename: 'User', id: h.changedBy } : null),
    at: (h: History) => h.changedAt,
  },
  User: {
    __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
    bookings: (u: { id: string }, args: { first?: number; after?: string; status?: ReservationStatus[] }, ctx) => ctx.booking.bookingsOf(u.id, args),
  },
  WashSite: {
    __resolveReference: (ref: { id: string; timeZone?: string }) => ref,
    bookings: (site: { id: string; timeZone: string }, args: { date: string }, ctx) => {
      const { from, to } = localDay(args.date, site.timeZone);
      return ctx.loaders.siteDay.load(`${site.id}|${from.toISOString()}|${to.toISOString()}`);
    },
  },
};
