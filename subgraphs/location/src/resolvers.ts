import { DateScalar, DateTime, LocalTimeScalar, required } from '@carwash/subgraph-kit';
import type { Resolvers } from './__generated__/resolvers-types.js';

/**
 * Thin: each field hands its arguments to one service method (or maps a column). The per-request
 * loaders go along as the service's reads, so lists stay batched.
 */
export const resolvers: Resolvers = {
  DateTime,
  Date: DateScalar,
  LocalTime: LocalTimeScalar,
  Query: {
    site: (_p, args, ctx) => ctx.location.site(ctx.loaders, args.id),
    sites: (_p, args, ctx) => ctx.location.listSites(args),
    isOpen: (_p, args, ctx) => ctx.location.isOpen(ctx.loaders, args.siteId, args.at),
    openingWindows: (_p, args, ctx) =>
      ctx.location.openingWindows(ctx.loaders, args.siteId, args.from, args.to),
  },
  Mutation: {
    createSite: (_p, args, ctx) => ctx.location.createSite(args.input),
    updateSite: (_p, args, ctx) => ctx.location.updateSite(args.id, args.input),
    closeSite: (_p, args, ctx) => ctx.location.closeSite(args.id, args.reason),
    setWeeklyHours: (_p, args, ctx) => ctx.location.setWeeklyHours(args.siteId, args.hours),
    setHoursException: (_p, args, ctx) => ctx.location.setHoursException(args.siteId, args.exception),
    removeHoursException: (_p, args, ctx) => ctx.location.removeHoursException(args.siteId, args.date),
    assignStaff: (_p, args, ctx) =>
      ctx.location.assignStaff(ctx.viewer!, args.siteId, args.userId, args.shift, (userId) =>
        ctx.loaders.authUser.load(userId),
      ),
    unassignStaff: (_p, args, ctx) => ctx.location.unassignStaff(args.assignmentId, args.reason),
  },
  WashSite: {
    __resolveReference: (ref, ctx) => ctx.loaders.site.load(ref.id),
    address: (s) => ({
      line1: s.addressLine1,
      line2: s.addressLine2,
      city: s.city,
      postalCode: s.postalCode,
      region: s.region,
      country: s.country,
    }),
    location: (s) => ({ latitude: s.latitude, longitude: s.longitude }),
    distanceKm: (s, args, ctx) => ctx.location.distanceKm(s, args.from),
    openingHours: (s, _a, ctx) => ctx.location.weeklyHours(ctx.loaders, s),
    exceptions: (s, args, ctx) => ctx.location.exceptions(ctx.loaders, s, args),
    isOpen: (s, args, ctx) => ctx.location.siteIsOpen(ctx.loaders, s, args.at),
    openingWindows: (s, args, ctx) => ctx.location.siteWindows(ctx.loaders, s, args.from, args.to),
    staff: (s, args, ctx) =>
      (args.includePast ? ctx.loaders.staffBySiteWithPast : ctx.loaders.staffBySite).load(s.id),
  },
  StaffAssignment: {
    site: (a, _args, ctx) => required(ctx.loaders.site.load(a.siteId), "a shift's site"),
    user: (a) => ({ __typename: 'User', id: a.userId }),
  },
  User: {
    __resolveReference: (ref) => ({ id: ref.id }),
    assignments: (u, args, ctx) =>
      (args.includePast ? ctx.loaders.assignmentsByUserWithPast : ctx.loaders.assignmentsByUser).load(u.id),
  },
};
