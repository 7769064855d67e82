import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { AppError } from '@carwash/errors';
import { DateScalar, DateTime, LocalTimeScalar } from '@carwash/subgraph-kit';
import type { LocationContext } from './context.js';
import { isOpen } from './hours.js';
import type { OperatingHours, StaffAssignment, WashSite } from './repository.js';
import { isoDate, toSchedule, weekdayName } from './schedule.js';
import { id } from './service.js';

async function siteOrNotFound(ctx: LocationContext, rawId: unknown): Promise<WashSite> {
  const site = await ctx.loaders.site.load(id(rawId, 'siteId'));
  if (!site) throw new AppError('NOT_FOUND', { message: 'No such site.', field: 'siteId' });
  return site;
}

async function schedule(ctx: LocationContext, site: WashSite) {
  return toSchedule(site, await ctx.loaders.hours.load(site.id));
}

export const resolvers: GraphQLResolverMap<LocationContext> = {
  DateTime: DateTime as never,
  Date: DateScalar as never,
  LocalTime: LocalTimeScalar as never,
  Query: {
    site: (_p, args: { id: string }, ctx) => ctx.loaders.site.load(id(args.id, 'id')),
    sites: (_p, args: { first?: number; after?: string; active?: boolean; near?: { latitude: number; longitude: number }; radiusKm?: number }, ctx) => ctx.location.listSites(args),
    isOpen: async (_p, args: { siteId: string; at: Date }, ctx) => {
      const site = await siteOrNotFound(ctx, args.siteId);
      return isOpen(await schedule(ctx, site), args.at);
    },
    openingWindows: async (_p, args: { siteId: string; from: Date; to: Date }, ctx) => {
      const site = await siteOrNotFound(ctx, args.siteId);
      return ctx.location.windows(site, await ctx.loaders.hours.load(site.id), args.from, args.to);
    },
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
    openingHours: async (s: WashSite, _a, ctx) =>
      (await ctx.loaders.hours.load(s.id))
        .filter((h: OperatingHours) => h.weekday !== null)
        .map((h: OperatingHours) => ({ weekday: weekdayName(h.weekday!), opensAt: h.opensAt, closesAt: h.closesAt })),
    exceptions: async (s: WashSite, args: { from?: string | null; to?: string | null }, ctx) => {
      const from = args.from ?? isoDate(new Date());
      const to = args.to ?? isoDate(new Date(Date.now() + 90 * 86_400_000));
      const rows = await ctx.loaders.hours.load(s.id);
      return toSchedule(s, rows).exceptions.filter((e) => e.date >= from && e.date <= to).sort((a, b) => a.date.localeCompare(b.date));
    },
    isOpen: async (s: WashSite, args: { at: Date }, ctx) => isOpen(await schedule(ctx, s), args.at),
    openingWindows: async (s: WashSite, args: { from: Date; to: Date }, ctx) => ctx.location.windows(s, await ctx.loaders.hours.load(s.id), args.from, args.to),
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
