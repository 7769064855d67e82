import { rowByIdLoader, rowsByKeyLoader, type AuthPeer } from '@carwash/subgraph-kit';
import { DAY_MS } from './hours.js';
import type { LocationRepository } from './repository.js';

/** Exceptions older than a week are not needed to compute current and future windows. */
const EXCEPTIONS_LOOKBACK_MS = 7 * DAY_MS;

/**
 * Per-request loaders: a page of 100 sites with their hours and staff costs one statement each,
 * whatever the page size.
 */
export function createLoaders(repo: LocationRepository, auth: AuthPeer, requestId: string) {
  const since = new Date(Date.now() - EXCEPTIONS_LOOKBACK_MS);
  const assignments = (by: 'siteId' | 'userId', includePast: boolean) =>
    rowsByKeyLoader((ids) => repo.assignmentsFor(by, ids, includePast), by);
  return {
    site: rowByIdLoader((ids) => repo.sitesByIds(ids)),
    hours: rowsByKeyLoader((ids) => repo.hoursForSites(ids, since), 'siteId'),
    staffBySite: assignments('siteId', false),
    staffBySiteWithPast: assignments('siteId', true),
    assignmentsByUser: assignments('userId', false),
    assignmentsByUserWithPast: assignments('userId', true),
    authUser: auth.userLoader(requestId),
  };
}

export type LocationLoaders = ReturnType<typeof createLoaders>;
