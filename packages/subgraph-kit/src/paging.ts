import { badInput } from '@carwash/errors';
import DataLoader from 'dataloader';
import { fields, validate } from './validate.js';

/**
 * One paging shape for every list of the supergraph: `first`/`after` in, `XConnection { nodes,
 * pageInfo { hasNextPage, endCursor }, totalCount }` out. The cursor codecs below are the only place a
 * cursor is made or read, so every list refuses a foreign or edited cursor the same way (BAD_USER_INPUT
 * naming `after`). Cursors are opaque to clients (base64url of a small JSON tuple) and name the list
 * they belong to: a cursor of `users` given to `User.bookings` is refused, not misread.
 *
 * No library fits here: graphql-relay's cursors are offsets only, and the Prisma cursor helpers page one
 * parent per statement, while `User.bookings` pages many parents in one.
 */

/** What `first` is when a client leaves it out (the SDL default says the same). */
export const DEFAULT_PAGE_SIZE = 20;
/** The largest `first` any list accepts; above it the request fails with BAD_USER_INPUT. */
export const MAX_PAGE_SIZE = 100;
/** No cursor we hand out is longer; anything longer is refused before it is decoded. */
const MAX_CURSOR_LENGTH = 400;
/** The longest text sort key a keyset cursor carries (site names are at most 100 characters). */
const MAX_TEXT_KEY_LENGTH = 200;
/** Offsets beyond this are not ours (a list of a million sites is not paged by distance). */
const MAX_OFFSET = 1_000_000;

const isUuid = (value: string) => fields.uuid().safeParse(value).success;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** `PageInfo` of the SDL, declared identically (`@shareable`) in every subgraph that pages. */
export interface PageInfo {
  hasNextPage: boolean;
  /** The cursor of the last node of the page; pass it as `after` for the next one. Null on an empty page. */
  endCursor: string | null;
}

/** An `XConnection` of the SDL. */
export interface Connection<T> {
  nodes: T[];
  pageInfo: PageInfo;
  totalCount: number;
}

/** The paging arguments of every list field (`first: Int = 20, after: String`), as a resolver receives them. */
export interface PageArgs {
  first?: number | null;
  after?: string | null;
}

/** `first` as the client sent it (or the default), or BAD_USER_INPUT naming `first` outside 1…{@link MAX_PAGE_SIZE}. */
export function pageSize(first: number | null | undefined, field = 'first'): number {
  return validate(fields.pageSize(MAX_PAGE_SIZE), first ?? DEFAULT_PAGE_SIZE, field);
}

/**
 * The connection of a page read with one row more than `first` (that extra row only says there is a
 * next page; it is not returned). `cursorOf` makes the cursor of the page's last node.
 */
export function connection<T>(
  rows: readonly T[],
  first: number,
  totalCount: number,
  cursorOf: (last: T, index: number) => string,
): Connection<T> {
  const nodes = rows.slice(0, first);
  const last = nodes.at(-1);
  return {
    nodes,
    totalCount,
    pageInfo: {
      hasNextPage: rows.length > first,
      endCursor: last === undefined ? null : cursorOf(last, nodes.length - 1),
    },
  };
}

function encode(tuple: ReadonlyArray<string | number>): string {
  return Buffer.from(JSON.stringify(tuple)).toString('base64url');
}

/** The tuple inside a cursor, or null when it is not one of ours at all. */
function decode(cursor: string): unknown[] | null {
  if (cursor.length > MAX_CURSOR_LENGTH || !BASE64URL.test(cursor)) return null;
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    return Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

function refused(field: string) {
  return badInput(field, `${field} is not a cursor returned by this list`);
}

/** Where a keyset page starts: the sort key and id of the previous page's last row. */
export interface KeysetPosition<K> {
  key: K;
  id: string;
}

/** Encodes and checks the cursors of one list sorted by (key, id). */
export interface KeysetCursor<K> {
  encode(position: KeysetPosition<K>): string;
  /** Undefined for no cursor (the first page); BAD_USER_INPUT naming `field` for anything we did not hand out. */
  decode(cursor: string | null | undefined, field?: string): KeysetPosition<K> | undefined;
}

type KeyKind = 'time' | 'text';
type KeyOf<T extends KeyKind> = T extends 'time' ? Date : string;

/**
 * Keyset cursors for a list that grows (users, bookings, charges): a page starts after a (key, id)
 * position, so rows inserted meanwhile neither repeat nor skip a row, and a deep page costs what the
 * first does. `list` names the list (`auth.users`); `kind` says whether the key is an instant or a text.
 */
export function keysetCursor<T extends KeyKind>(list: string, kind: T): KeysetCursor<KeyOf<T>> {
  const tag = `k:${list}`;
  return {
    encode({ key, id }) {
      return encode([tag, key instanceof Date ? key.toISOString() : key, id]);
    },
    decode(cursor, field = 'after') {
      if (cursor === null || cursor === undefined) return undefined;
      const tuple = decode(cursor);
      if (!tuple || tuple.length !== 3 || tuple[0] !== tag) throw refused(field);
      const [, key, id] = tuple;
      if (typeof key !== 'string' || typeof id !== 'string' || !isUuid(id)) throw refused(field);
      if (kind === 'text') {
        if (key.length > MAX_TEXT_KEY_LENGTH) throw refused(field);
        return { key: key as KeyOf<T>, id };
      }
      const at = new Date(key);
      // Only what encode() writes: a canonical ISO instant (no other date spelling, no out-of-range date).
      if (Number.isNaN(at.getTime()) || at.toISOString() !== key) throw refused(field);
      return { key: at as KeyOf<T>, id };
    },
  };
}

/** Encodes and checks the offset cursors of one list. */
export interface OffsetCursor {
  encode(offset: number): string;
  /** 0 for no cursor (the first page); BAD_USER_INPUT naming `field` for anything we did not hand out. */
  decode(cursor: string | null | undefined, field?: string): number;
}

/**
 * Offset cursors, for a list whose order has no stable key to resume after (sites nearest a point: the
 * distance is computed per request). An offset shifts when rows are inserted ahead of it; use
 * {@link keysetCursor} for any list that grows.
 */
export function offsetCursor(list: string): OffsetCursor {
  const tag = `o:${list}`;
  return {
    encode(offset) {
      return encode([tag, offset]);
    },
    decode(cursor, field = 'after') {
      if (cursor === null || cursor === undefined) return 0;
      const tuple = decode(cursor);
      if (!tuple || tuple.length !== 2 || tuple[0] !== tag) throw refused(field);
      const offset = tuple[1];
      if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0 || offset > MAX_OFFSET)
        throw refused(field);
      return offset;
    },
  };
}

/** One parent's page as a repository reads it: the page (plus the look-ahead row) and the parent's total. */
export interface ParentPage<Row> {
  rows: Row[];
  totalCount: number;
}

/**
 * Which page of each parent's list a per-parent page statement reads, the same for every parent of one
 * batch (`after` is the last row of one parent's page).
 */
export interface ParentPageQuery<K = Date> {
  /** Start after this (sort key, id); null for the first page. */
  after: KeysetPosition<K> | null;
  /** Rows to read per parent: the page and one more, which tells whether there is a next page. */
  limit: number;
}

/** A row of a per-parent page statement: the parent's id and total, and the page row's columns. */
type ParentPageRow<Row> = Partial<Row> & { ownerId: string; total: number };

/**
 * The pages of a statement that reads many parents' pages at once: one row per page row, each carrying
 * its parent (`ownerId`) and the parent's total, and one row with no page columns (a null `id`) for a
 * parent whose page is empty, so that its total still comes back. Row order is kept within each page.
 */
function pagesByParent<Row extends { id: string }>(
  rows: ReadonlyArray<ParentPageRow<Row>>,
): Map<string, ParentPage<Row>> {
  const pages = new Map<string, ParentPage<Row>>();
  for (const { ownerId, total, ...row } of rows) {
    const page = pages.get(ownerId) ?? { rows: [], totalCount: total };
    // A row with an id carries every column of the page row; the empty page's row carries none.
    if (row.id) page.rows.push(row as unknown as Row);
    pages.set(ownerId, page);
  }
  return pages;
}

/**
 * A feature's SQL tags, of the type `S` of its statements: its Prisma namespace (`Prisma.sql`,
 * `Prisma.raw`), passed in because the kit does not talk to Prisma itself.
 */
export interface SqlTags<S> {
  sql(strings: TemplateStringsArray, ...values: unknown[]): S;
  raw(text: string): S;
}

/** The rows {@link readParentPages} pages: one table's rows of many parents, sorted newest first. */
export interface ParentRows<S> {
  /** The table and the condition that picks every parent's rows: Prisma.sql`my_table WHERE …`. */
  matching: S;
  /** The column holding a row's parent id (uuid). */
  parentColumn: string;
  /** The timestamp column the pages are sorted by, newest first (then by id). */
  sortColumn: string;
  /** The page row's select list, over the table alias `alias`. */
  columns: S;
  alias: string;
}

/**
 * A page of each parent's rows and each parent's total, for every parent in ONE statement
 * (`row_number()` per parent), so that a list of 50 users' `bookings` costs what one user's does.
 * `query.after` applies to every parent (it is the last row of one parent's page). The statement runs
 * on the feature's client `db`; its rows are what the select list names.
 */
export async function readParentPages<Row extends { id: string }, S>(
  db: { $queryRaw(statement: S): Promise<unknown> },
  { sql, raw }: SqlTags<S>,
  rows: ParentRows<S>,
  query: ParentPageQuery,
): Promise<Map<string, ParentPage<Row>>> {
  const [parent, sort, alias] = [rows.parentColumn, rows.sortColumn, rows.alias].map((name) => raw(name));
  const afterAt = query.after?.key ?? null;
  const afterId = query.after?.id ?? null;
  const read = await db.$queryRaw(sql`
    WITH matching AS (
      SELECT * FROM ${rows.matching}
    ), totals AS (
      SELECT ${parent} AS owner_id, count(*)::int AS total FROM matching GROUP BY ${parent}
    ), page AS (
      SELECT m.*, row_number() OVER (PARTITION BY ${parent} ORDER BY ${sort} DESC, id DESC) AS rn
      FROM matching m
      WHERE ${afterAt}::timestamptz IS NULL OR (${sort}, id) < (${afterAt}::timestamptz, ${afterId}::uuid)
    )
    SELECT t.owner_id AS "ownerId", t.total, ${rows.columns}
    FROM totals t
    LEFT JOIN page ${alias} ON ${alias}.${parent} = t.owner_id AND ${alias}.rn <= ${query.limit}
    ORDER BY t.owner_id, ${alias}.${sort} DESC, ${alias}.id DESC`);
  // The raw read's rows, as the select list names them (what `$queryRaw<T>` would assert too).
  return pagesByParent(read as ParentPageRow<Row>[]);
}

/** What a {@link pageLoader} is asked for: one parent's page with these arguments. */
export interface PageKey<Args> {
  parentId: string;
  args: Args;
}

/**
 * A per-request loader for a list under each of many parents (`User.bookings` of every user in a
 * response): keys with the same page arguments are read with ONE call of `readPages` (one SQL statement
 * in the repositories), however many parents there are. Keys that differ in their arguments (aliases
 * asking other filters) make one call per distinct set. A parent id that is not a UUID gets an empty
 * page without reaching the database (the uuid column would fail the whole batch).
 *
 * `argsKey` must map equal arguments to equal strings (sort filter lists first).
 */
export function pageLoader<Args, Row>(
  readPages: (parentIds: string[], args: Args) => Promise<Map<string, ParentPage<Row>>>,
  argsKey: (args: Args) => string,
): DataLoader<PageKey<Args>, ParentPage<Row>, string> {
  return new DataLoader<PageKey<Args>, ParentPage<Row>, string>(
    async (keys) => {
      const groups = new Map<string, { args: Args; parentIds: string[] }>();
      for (const key of keys) {
        if (!isUuid(key.parentId)) continue;
        const group = argsKey(key.args);
        const entry = groups.get(group) ?? { args: key.args, parentIds: [] };
        entry.parentIds.push(key.parentId);
        groups.set(group, entry);
      }
      const read = new Map<string, Map<string, ParentPage<Row>>>();
      await Promise.all(
        [...groups].map(async ([group, { args, parentIds }]) => {
          read.set(group, await readPages([...new Set(parentIds)], args));
        }),
      );
      return keys.map((key) => read.get(argsKey(key.args))?.get(key.parentId) ?? { rows: [], totalCount: 0 });
    },
    { cacheKeyFn: (key) => `${key.parentId}|${argsKey(key.args)}` },
  );
}
