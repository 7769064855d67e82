import { badInput } from '@carwash/errors';

/**
 * Opaque offset cursors for `first`/`after` paging. Offsets keep any sort order stable (by name, by
 * distance, newest first) at the price of shifting when rows are inserted ahead; fine for lists that
 * change slowly between two page requests.
 */
export function encodeOffsetCursor(offset: number): string {
  return Buffer.from(`o:${offset}`).toString('base64url');
}

export function decodeOffsetCursor(cursor: string | null | undefined, field = 'after'): number {
  if (!cursor) return 0;
  const m = /^o:(\d{1,7})$/.exec(Buffer.from(cursor.slice(0, 40), 'base64url').toString('utf8'));
  if (!m) throw badInput(field, `${field} is not a cursor returned by this query`);
  return Number(m[1]);
}
