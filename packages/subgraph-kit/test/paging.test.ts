import { AppError } from '@carwash/errors';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  connection,
  keysetCursor,
  offsetCursor,
  pageLoader,
  pageSize,
} from '../src/paging.js';

const ID = '6f1c1f1e-9a53-4c44-9d7e-2f4a1b0c3d5e';

/** The coded error a refused argument gives, or undefined when `fn` does not throw. */
function refusal(fn: () => unknown): { code: string; field: unknown } | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return { code: (err as AppError).code, field: (err as AppError).extensions.field };
  }
}

const b64 = (s: string) => Buffer.from(s).toString('base64url');

describe('pageSize', () => {
  it('defaults to 20 and accepts 1 to 100', () => {
    expect(pageSize(undefined)).toBe(DEFAULT_PAGE_SIZE);
    expect(pageSize(null)).toBe(20);
    expect(pageSize(1)).toBe(1);
    expect(pageSize(MAX_PAGE_SIZE)).toBe(100);
  });

  it('refuses a page larger than the maximum, so one request cannot read a whole table', () => {
    expect(refusal(() => pageSize(101))).toEqual({ code: 'BAD_USER_INPUT', field: 'first' });
    expect(refusal(() => pageSize(0))).toEqual({ code: 'BAD_USER_INPUT', field: 'first' });
    expect(refusal(() => pageSize(-5))).toEqual({ code: 'BAD_USER_INPUT', field: 'first' });
    expect(refusal(() => pageSize(2.5))).toEqual({ code: 'BAD_USER_INPUT', field: 'first' });
  });
});

describe('connection', () => {
  const cursorOf = (row: { n: number }) => `c${row.n}`;

  it('drops the look-ahead row and says there is a next page', () => {
    const page = connection([{ n: 1 }, { n: 2 }, { n: 3 }], 2, 7, cursorOf);
    expect(page).toEqual({
      nodes: [{ n: 1 }, { n: 2 }],
      totalCount: 7,
      pageInfo: { hasNextPage: true, endCursor: 'c2' },
    });
  });

  it('ends on a short page, and an empty page has no end cursor', () => {
    expect(connection([{ n: 1 }], 2, 1, cursorOf).pageInfo).toEqual({ hasNextPage: false, endCursor: 'c1' });
    expect(connection([], 2, 0, cursorOf).pageInfo).toEqual({ hasNextPage: false, endCursor: null });
  });
});

describe('keysetCursor', () => {
  const byTime = keysetCursor('test.things', 'time');
  const byName = keysetCursor('test.names', 'text');
  const at = new Date('2026-12-01T10:15:30.123Z');

  it('round-trips an instant and an id', () => {
    const cursor = byTime.encode({ key: at, id: ID });
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(byTime.decode(cursor)).toEqual({ key: at, id: ID });
  });

  it('round-trips a text key, unicode and quotes included', () => {
    const key = 'Waschanlage "Süd" – Straße';
    expect(byName.decode(byName.encode({ key, id: ID }))).toEqual({ key, id: ID });
  });

  it('reads no cursor as the first page', () => {
    expect(byTime.decode(undefined)).toBeUndefined();
    expect(byTime.decode(null)).toBeUndefined();
  });

  it("refuses another list's cursor instead of misreading it", () => {
    const other = keysetCursor('test.others', 'time').encode({ key: at, id: ID });
    expect(refusal(() => byTime.decode(other))).toEqual({ code: 'BAD_USER_INPUT', field: 'after' });
    const offset = offsetCursor('test.things').encode(40);
    expect(refusal(() => byTime.decode(offset))).toEqual({ code: 'BAD_USER_INPUT', field: 'after' });
  });

  it('refuses a tampered cursor with a coded error naming the argument', () => {
    const good = byTime.encode({ key: at, id: ID });
    const tampered = [
      '',
      'not a cursor!',
      good.slice(0, -3),
      `${good}x`.repeat(60),
      b64('not json'),
      b64('{"k":1}'),
      b64(JSON.stringify(['k:test.things', at.toISOString()])),
      b64(JSON.stringify(['k:test.things', at.toISOString(), 'not-a-uuid'])),
      b64(JSON.stringify(['k:test.things', "2026-12-01' OR 1=1 --", ID])),
      b64(JSON.stringify(['k:test.things', '2026-12-01', ID])),
      b64(JSON.stringify(['k:test.things', '2026-02-31T00:00:00.000Z', ID])),
      b64(JSON.stringify(['k:test.things', 1_764_583_200_000, ID])),
    ];
    for (const cursor of tampered) {
      expect(refusal(() => byTime.decode(cursor, 'input.after'))).toEqual({
        code: 'BAD_USER_INPUT',
        field: 'input.after',
      });
    }
  });

  it('refuses a text key longer than any we hand out', () => {
    const long = b64(JSON.stringify(['k:test.names', 'x'.repeat(201), ID]));
    expect(refusal(() => byName.decode(long))).toEqual({ code: 'BAD_USER_INPUT', field: 'after' });
  });
});

describe('offsetCursor', () => {
  const sites = offsetCursor('test.near');

  it('round-trips an offset, and no cursor is the start', () => {
    expect(sites.decode(sites.encode(60))).toBe(60);
    expect(sites.decode(undefined)).toBe(0);
  });

  it('refuses negative, fractional, huge or foreign offsets', () => {
    for (const offset of [-1, 1.5, 10_000_001, '20']) {
      const cursor = b64(JSON.stringify(['o:test.near', offset]));
      expect(refusal(() => sites.decode(cursor))).toEqual({ code: 'BAD_USER_INPUT', field: 'after' });
    }
    const other = offsetCursor('test.far').encode(20);
    expect(refusal(() => sites.decode(other))).toEqual({ code: 'BAD_USER_INPUT', field: 'after' });
  });
});

describe('pageLoader', () => {
  const parents = Array.from(
    { length: 50 },
    (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  );
  type Args = { limit: number };

  function counted() {
    const calls: Array<{ ids: string[]; args: Args }> = [];
    const loader = pageLoader<Args, string>(
      async (ids, args) => {
        calls.push({ ids, args });
        return new Map(ids.map((id) => [id, { rows: [`${id}:${args.limit}`], totalCount: 1 }]));
      },
      (a) => String(a.limit),
    );
    return { calls, loader };
  }

  it('reads the pages of every parent asking the same arguments with one call', async () => {
    const { calls, loader } = counted();
    const pages = await Promise.all(parents.map((parentId) => loader.load({ parentId, args: { limit: 3 } })));
    expect(calls).toHaveLength(1);
    expect(calls[0]!.ids).toEqual(parents);
    expect(pages.map((p) => p.rows[0])).toEqual(parents.map((id) => `${id}:3`));
  });

  it('makes one call per distinct set of arguments, and answers each key with its own', async () => {
    const { calls, loader } = counted();
    const [a, b, c] = await Promise.all([
      loader.load({ parentId: parents[0]!, args: { limit: 3 } }),
      loader.load({ parentId: parents[1]!, args: { limit: 5 } }),
      loader.load({ parentId: parents[0]!, args: { limit: 5 } }),
    ]);
    expect(calls.map((x) => x.args.limit).sort()).toEqual([3, 5]);
    expect([a.rows, b.rows, c.rows]).toEqual([[`${parents[0]}:3`], [`${parents[1]}:5`], [`${parents[0]}:5`]]);
  });

  it('gives a parent with no rows, or a malformed id, an empty page without reaching the reader', async () => {
    const seen: string[][] = [];
    const loader = pageLoader<Args, string>(
      async (ids) => {
        seen.push(ids);
        return new Map();
      },
      (a) => String(a.limit),
    );
    const [none, bad] = await Promise.all([
      loader.load({ parentId: parents[0]!, args: { limit: 1 } }),
      loader.load({ parentId: "1' OR '1'='1", args: { limit: 1 } }),
    ]);
    expect(none).toEqual({ rows: [], totalCount: 0 });
    expect(bad).toEqual({ rows: [], totalCount: 0 });
    expect(seen).toEqual([[parents[0]]]);
  });
});
