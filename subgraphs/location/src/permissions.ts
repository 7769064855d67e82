import {
  allow,
  and,
  featureRule,
  featureShield,
  hasRole,
  isAuthenticated,
  isServiceOnItsOwnAuthority as isService,
  isSignedInManager,
  isServiceOrSignedInSelfOrManager,
  or,
  type ServiceAccess,
} from '@carwash/subgraph-kit';
import type { LocationContext } from './context.js';

/** Washers, managers and admins: the people who work at sites. */
const isStaff = hasRole('WASHER', 'MANAGER', 'ADMIN');
/** The parent shift is the viewer's own. */
const isOwnShift = featureRule<LocationContext, { userId?: string }>(
  (parent, _a, ctx) => !!ctx.viewer && parent.userId === ctx.viewer.userId,
);

/**
 * What each sibling may read here: booking checks a site's opening windows and bays, and a washer's
 * shifts, before it books.
 */
export const serviceAccess: ServiceAccess = {
  booking: {
    Query: ['_entities'],
    WashSite: ['id', 'active', 'bays', 'timeZone', 'openingWindows'],
    TimeWindow: ['start', 'end'],
    User: ['id', 'assignments'],
    StaffAssignment: ['site', 'startsAt', 'endsAt', 'endedAt'],
  },
};

/**
 * Deny by default. Sites and their hours are public (a store locator); staff shifts are for staff,
 * and for the person on the shift. `_entities` is open to the gateway and each field stays guarded.
 */
export const permissions = featureShield({
  Query: {
    site: allow,
    sites: allow,
    isOpen: allow,
    openingWindows: allow,
  },
  Mutation: { '*': isSignedInManager },
  WashSite: { '*': allow, staff: or(isService, and(isAuthenticated, isStaff)) },
  StaffAssignment: { '*': or(isService, and(isAuthenticated, or(isStaff, isOwnShift))) },
  User: { id: allow, assignments: isServiceOrSignedInSelfOrManager },
  Address: allow,
  GeoPoint: allow,
  WeeklyHours: allow,
  LocalWindow: allow,
  HoursException: allow,
  TimeWindow: allow,
  PageInfo: allow,
  SiteConnection: allow,
});
