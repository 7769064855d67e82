/**
 * The row behind a non-null field that the database guarantees by a foreign key inside the feature (a
 * booking's service, a shift's site), as loaded through a DataLoader that answers null for unknown ids.
 * A missing row is a bug: the field fails with an internal error (masked for the client) instead of the
 * null being typed away.
 */
export async function required<T>(
  row: Promise<T | null | undefined> | T | null | undefined,
  what: string,
): Promise<T> {
  const value = await row;
  if (value === null || value === undefined)
    throw new Error(`${what} is missing although the database requires it`);
  return value;
}
