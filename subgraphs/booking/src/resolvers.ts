import { cacheTag } from '@carwash/events';
import { DateScalar, DateTime, required, type CacheHints } from '@carwash/subgraph-kit';
import type { Resolvers } from './__generated__/resolvers-types.js';
import { canSee, id, isStaff, localDay } from './rules.js';

const money = (amountCents: number, currency: string) => ({ amountCents, currency });

/**
 * A booking's change of status may free or take its bay: once it committed, the gateway this request
 * came through drops the site's cached free slots at once (other gateways, on the event).
 */
async function changesSite<R extends { siteId: string }>(
  ctx: { cache: CacheHints },
  write: Promise<R>,
): Promise<R> {
  const r = await write;
  ctx.cache.evict(cacheTag.site(r.siteId));
  return r;
}

export const resolvers: Resolvers = {
  DateTime,
  Date: DateScalar,
  Query: {
    services: (_p, args, ctx) => {
      const all = !!args.includeInactive && isStaff(ctx.viewer);
      return ctx.booking.listServices(all);
    },
    service: (_p, args, ctx) => ctx.loaders.service.load(id(args.id, 'id')),
    // Someone else's booking answers null, as an unknown one does: existence is not revealed.
    booking: async (_p, args, ctx) => {
      const r = await ctx.loaders.booking.load(id(args.id, 'id'));
      return r && canSee(ctx.viewer, r) ? r : null;
    },
    availableSlots: async (_p, args, ctx, info) => {
      const slots = await ctx.booking.availableSlots(args.siteId, args.serviceId, args.date, ctx.requestId);
      // Times and free-bay counts, nobody's booking: the same answer for every caller, until the site's
      // bookings, hours or bays or the service change (their events name these tags).
      ctx.cache.publicAnswer(info, ctx.booking.slotsMaxAgeSeconds(slots), [
        cacheTag.site(args.siteId),
        cacheTag.service(args.serviceId),
      ]);
      return slots;
    },
  },
  Mutation: {
    createService: (_p, args, ctx) => ctx.booking.createService(args.input),
    updateService: async (_p, args, ctx) => {
      const service = await ctx.booking.updateService(args.id, args.input);
      ctx.cache.evict(cacheTag.service(service.id));
      return service;
    },
    createBooking: (_p, args, ctx) =>
      changesSite(
        ctx,
        ctx.booking.createBooking(ctx.viewer!, args.input, {
          users: ctx.loaders.users,
          requestId: ctx.requestId,
        }),
      ),
    confirmBooking: (_p, args, ctx) =>
      changesSite(ctx, ctx.booking.confirm(ctx.viewer!, args.id, args.reason)),
    startBooking: (_p, args, ctx) => changesSite(ctx, ctx.booking.start(ctx.viewer!, args.id)),
    completeBooking: (_p, args, ctx) => changesSite(ctx, ctx.booking.complete(ctx.viewer!, args.id)),
    cancelBooking: (_p, args, ctx) => changesSite(ctx, ctx.booking.cancel(ctx.viewer!, args.id, args.reason)),
    markNoShow: (_p, args, ctx) => changesSite(ctx, ctx.booking.markNoShow(ctx.viewer!, args.id)),
    assignWasher: (_p, args, ctx) =>
      ctx.booking.assignWasher(ctx.viewer!, args.id, args.washerId, ctx.requestId),
  },
  Service: {
    __resolveReference: (ref, ctx) => ctx.loaders.service.load(ref.id),
    price: (s) => money(s.priceCents, s.currency),
  },
  Booking: {
    __resolveReference: (ref, ctx) => ctx.loaders.booking.load(ref.id),
    customer: (r) => ({ __typename: 'User', id: r.customerId }),
    washer: (r) => (r.washerId ? { __typename: 'User', id: r.washerId } : null),
    site: (r) => ({ __typename: 'WashSite', id: r.siteId }),
    service: (r, _a, ctx) => required(ctx.loaders.service.load(r.serviceId), "a booking's service"),
    items: (r, _a, ctx) => ctx.loaders.items.load(r.id),
    price: (r) => money(r.priceCents, r.currency),
    history: (r, _a, ctx) => ctx.loaders.history.load(r.id),
  },
  BookingItem: {
    service: (i, _a, ctx) => required(ctx.loaders.service.load(i.serviceId), "a booking item's service"),
    price: (i) => money(i.priceCents, i.currency),
  },
  BookingHistoryEntry: {
    from: (h) => h.fromStatus,
    to: (h) => h.toStatus,
    changedBy: (h) => (h.changedBy ? { __typename: 'User', id: h.changedBy } : null),
    at: (h) => h.changedAt,
  },
  User: {
    __resolveReference: (ref) => ({ id: ref.id }),
    bookings: (u, args, ctx) => ctx.booking.bookingsOf(ctx.loaders, u.id, args),
  },
  WashSite: {
    __resolveReference: (ref) => ref,
    // `timeZone` is @external: absent from a reference, always passed for this field (@requires).
    bookings: (site, args, ctx) => {
      const { from, to } = localDay(args.date, site.timeZone!);
      return ctx.loaders.siteDay.load(`${site.id}|${from.toISOString()}|${to.toISOString()}`);
    },
  },
};
