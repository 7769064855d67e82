import { AppError } from '@carwash/errors';
import { DateScalar, DateTime, LocalTimeScalar, required } from '@carwash/subgraph-kit';
import type { Resolvers } from './__generated__/resolvers-types.js';
import type { LocationContext } from './context.js';
import { isOpen } from './hours.js';
import type { OperatingHours, WashSite } from './repository.js';
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

export const resolvers: Resolvers = {
  DateTime,
  Date: DateScalar,
  LocalTime: LocalTimeScalar,
  Query: {
    site: (_p, args, ctx) => ctx.loaders.site.load(id(args.id, 'id')),
    sites: (_p, args, ctx) => ctx.location.listSites(args),
    isOpen: async (_p, args, ctx) => {
      const site = await siteOrNotFound(ctx, args.siteId);
      return isOpen(await schedule(ctx, site), args.at);
    },
    openingWindows: async (_p, args, ctx) => {
      const site = await siteOrNotFound(ctx, args.siteId);
      return ctx.location.windows(site, await ctx.loaders.hours.load(site.id), args.from, args.to);
    },
  },
  Mutation: {
    createSite: (_p, args, ctx) => ctx.location.createSite(args.input),
    updateSite: (_p, args, ctx) => ctx.location.updateSite(args.id, args.input),
    closeSite: (_p, args, ctx) => ctx.location.closeSite(args.id, args.reason),
    setWeeklyHours: (_p, args, ctx) => ctx.location.setWeeklyHours(args.siteId, args.hours),
    setHoursException: (_p, args, ctx) => ctx.location.setHoursException(args.siteId, args.exception),
    removeHoursException: (_p, args, ctx) => ctx.location.removeHoursException(args.siteId, args.date),
    assignStaff: (_p, args, ctx) =>
      ctx.location.assignStaff(ctx.viewer!, args.siteId, args.userId, args.shift, (userId) => ctx.loaders.authUser.load(userId)),
    unassignStaff: (_p, args, ctx) => ctx.location.unassignStaff(args.assignmentId, args.reason),
  },
  WashSite: {
    __resolveReference: (ref, ctx) => ctx.loaders.site.load(ref.id),
    address: (s) => ({ line1: s.addressLine1, line2: s.addressLine2, city: s.city, postalCode: s.postalCode, region: s.region, country: s.country }),
    location: (s) => ({ latitude: s.latitude, longitude: s.longitude }),
    // Weekly rows (weekday set) always carry both times: setWeeklyHours writes no other kind.
    openingHours: async (s, _a, ctx) =>
      (await ctx.loaders.hours.load(s.id))
        .filter((h: OperatingHours) => h.weekday !== null)
        .map((h: OperatingHours) => ({ weekday: weekdayName(h.weekday!), opensAt: h.opensAt!, closesAt: h.closesAt! })),
    exceptions: async (s, args, ctx) => {
      const from = args.from ?? isoDate(new Date());
      const to = args.to ?? isoDate(new Date(Date.now() + 90 * 86_400_000));
      const rows = await ctx.loaders.hours.load(s.id);
      return toSchedule(s, rows).exceptions.filter((e) => e.date >= from && e.date <= to).sort((a, b) => a.date.localeCompare(b.date));
    },
    isOpen: async (s, args, ctx) => isOpen(await schedule(ctx, s), args.at),
    openingWindows: async (s, args, ctx) => ctx.location.windows(s, await ctx.loaders.hours.load(s.id), args.from, args.to),
    staff: (s, args, ctx) => (args.includePast ? ctx.loaders.staffBySiteWithPast : ctx.loaders.staffBySite).load(s.id),
  },
  StaffAssignment: {
    site: (a, _args, ctx) => required(ctx.loaders.site.load(a.siteId), "a shift's site"),
    user: (a) => ({ __typename: 'User', id: a.userId }),
  },
  User: {
    __resolveReference: (ref) => ({ id: ref.id }),
    assignments: (u, args, ctx) => (args.includePast ? ctx.loaders.assignmentsByUserWithPast : ctx.loaders.assignmentsByUser).load(u.id),
  },
};
