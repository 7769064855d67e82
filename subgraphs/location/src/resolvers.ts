import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { DateScalar, DateTime, LocalTimeScalar } from '@carwash/subgraph-kit';
import type { LocationContext } from './context.js';
import type { StaffAssignment, WashSite } from './repository.js';

/**
 * Thin: each field hands its arguments to one service method (or maps a column). The per-request
 * loaders go along as the service's reads, so lists stay batched.
 */
export const resolvers: GraphQLResolverMap<LocationContext> = {
  DateTime: DateTime as never,
  Date: DateScalar as never,
  LocalTime: LocalTimeScalar as never,
  Query: {
    site: (_p, args: { id: string }, ctx) => ctx.location.site(ctx.loaders, args.id),
    sites: (_p, args: { first?: number; after?: string; active?: boolean; near?: { latitude: number; longitude: number }; radiusKm?: number }, ctx) => ctx.location.listSites(args),
    isOpen: (_p, args: { siteId: string; at: Date }, ctx) => ctx.location.isOpen(ctx.loaders, args.siteId, args.at),
    openingWindows: (_p, args: { siteId: string; from: Date; to: Date }, ctx) => ctx.location.openingWindows(ctx.loaders, args.siteId, args.from, args.to),
  },
  Mutation: {
    createSite: (_p, args: { input: unknown }, ctx) => ctx.location.createSite(args.input),
    updateSite: (_p, args: { id: string; input: unknown }, ctx) => ctx.location.updateSite(args.id, args.input),
    closeSite: (_p, args: { id: string; reason: string }, ctx) => ctx.location.closeSite(args.id, args.reason),
    setWeeklyHours: (_p, args: { siteId: string; hours: never[] }, ctx) => ctx.location.setWeeklyHours(args.siteId, args.hours),
    setHoursException: (_p, args: { siteId: string; exception: never }, ctx) => ctx.location.setHoursException(args.siteId, args.exception),
    removeHoursException: (_p, args: { siteId: string; date: string }, ctx) => ctx.location.removeHoursException(args.siteId, args.date),
    assignStaff: (_p, args: { siteId: string; userId: string; shift: { startsAt: Date; endsAt: Date } }, ctx) =>
      ctx.location.assignStaff(ctx.viewer!, args.siteId, args.userId, args.shift, (userId) => ctx.loaders.authUser.load(userId)),
    unassignStaff: (_p, args: { assignmentId: string; reason?: string | null }, ctx) => ctx.location.unassignStaff(args.assignmentId, args.reason),
  },
  WashSite: {
    __resolveReference: (ref: { id: string }, ctx: LocationContext) => ctx.loaders.site.load(ref.id),
    address: (s: WashSite) => ({ line1: s.addressLine1, line2: s.addressLine2, city: s.city, postalCode: s.postalCode, region: s.region, country: s.country }),
    location: (s: WashSite) => ({ latitude: s.latitude, longitude: s.longitude }),
    openingHours: (s: WashSite, _a, ctx) => ctx.location.weeklyHours(ctx.loaders, s),
    exceptions: (s: WashSite, args: { from?: string | null; to?: string | null }, ctx) => ctx.location.exceptions(ctx.loaders, s, args),
    isOpen: (s: WashSite, args: { at: Date }, ctx) => ctx.location.siteIsOpen(ctx.loaders, s, args.at),
    openingWindows: (s: WashSite, args: { from: Date; to: Date }, ctx) => ctx.location.siteWindows(ctx.loaders, s, args.from, args.to),
    staff: (s: WashSite, args: { includePast?: boolean }, ctx) => (args.includePast ? ctx.loaders.staffBySiteWithPast : ctx.loaders.staffBySite).load(s.id),
  },
  StaffAssignment: {
    site: (a: StaffAssignment, _args, ctx) => ctx.loaders.site.load(a.siteId),
    user: (a: StaffAssignment) => ({ __typename: 'User', id: a.userId }),
  },
  User: {
    __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
    assignments: (u: { id: string }, args: { includePast?: boolean }, ctx) => (args.includePast ? ctx.loaders.assignmentsByUserWithPast : ctx.loaders.assignmentsByUser).load(u.id),
  },
};
