import DataLoader from 'dataloader';
import type { AuthClient } from './auth-client.js';
import type { LocationRepository, OperatingHours, StaffAssignment, WashSite } from './repository.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function groupBy<T>(rows: T[], key: (r: T) => string, ids: readonly string[]): T[][] {
  const map = new Map<string, T[]>();
  for (const r of rows) {
    const k = key(r);
    const list = map.get(k);
    if (list) list.push(r);
    else map.set(k, [r]);
  }
  return ids.map((id) => map.get(id) ?? []);
}

/**
 * Per-request loaders: a page of 100 sites with their hours and staff costs one statement each,
 * whatever the page size.
 */
export function createLoaders(repo: LocationRepository, auth: AuthClient, requestId: string) {
  // Exceptions older than a week are not needed to compute current and future windows.
  const since = new Date(Date.now() - 7 * 86_400_000);
  const assignments = (by: 'siteId' | 'userId', includePast: boolean) =>
    new DataLoader<string, StaffAssignment[]>(async (ids) =>
      groupBy(
        await repo.assignmentsFor(
          by,
          ids.filter((id) => UUID.test(id)),
          includePast,
        ),
        (a) => a[by],
        ids,
      ),
    );
  return {
    site: new DataLoader<string, WashSite | null>(async (ids) => {
      const rows = await repo.sitesByIds(ids.filter((id) => UUID.test(id)));
      const byId = new Map(rows.map((r) => [r.id, r]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    hours: new DataLoader<string, OperatingHours[]>(async (ids) =>
      groupBy(await repo.hoursForSites(ids, since), (h) => h.siteId, ids),
    ),
    staffBySite: assignments('siteId', false),
    staffBySiteWithPast: assignments('siteId', true),
    assignmentsByUser: assignments('userId', false),
    assignmentsByUserWithPast: assignments('userId', true),
    authUser: auth.loader(requestId),
  };
}

export type LocationLoaders = ReturnType<typeof createLoaders>;
