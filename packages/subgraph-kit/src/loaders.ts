import DataLoader from 'dataloader';

/** The shape of every id our features mint (`gen_random_uuid()`), any version, either case. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when `id` has the shape of a UUID: anything else cannot be a row's id. */
export function isUuid(id: string): boolean {
  return UUID.test(id);
}

/**
 * The ids of a batch that can exist. A malformed id matches nothing, and a `uuid` column would refuse
 * it and fail the whole batch, so it never reaches the SQL: its key alone answers null (or []).
 */
function possibleIds(ids: readonly string[]): string[] {
  return ids.filter(isUuid);
}

/**
 * A per-request loader of one row per id, in key order, null for an unknown or malformed id. A batch
 * is one call of `load` (one statement), none when no id can exist.
 */
export function rowByIdLoader<T extends { id: string }>(
  load: (ids: string[]) => Promise<T[]>,
): DataLoader<string, T | null> {
  return new DataLoader(async (keys) => {
    const ids = possibleIds(keys);
    const byId = new Map((ids.length ? await load(ids) : []).map((row) => [row.id, row]));
    return keys.map((id) => byId.get(id) ?? null);
  });
}

/** The fields of `T` that hold an id (or null): what rows can be grouped by. */
type IdField<T> = { [F in keyof T]: T[F] extends string | null ? F : never }[keyof T];

/**
 * A per-request loader of the rows that belong to each id (the row's `field`, e.g. `reservationId`), in
 * key order, [] for none; a row whose `field` is null belongs to none. A batch is one call of `load`
 * (one statement), none when no id can exist.
 */
export function rowsByKeyLoader<T>(
  load: (ids: string[]) => Promise<T[]>,
  field: IdField<T>,
): DataLoader<string, T[]> {
  return new DataLoader(async (keys) => {
    const ids = possibleIds(keys);
    const byKey = new Map<string, T[]>();
    for (const row of ids.length ? await load(ids) : []) {
      const key = row[field] as string | null;
      if (key === null) continue;
      const list = byKey.get(key);
      if (list) list.push(row);
      else byKey.set(key, [row]);
    }
    return keys.map((id) => byKey.get(id) ?? []);
  });
}
