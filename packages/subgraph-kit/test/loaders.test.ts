import { describe, expect, it } from 'vitest';
import { isActiveUser, type PeerUser } from '../src/auth-peer.js';
import { isUuid, rowByIdLoader, rowsByKeyLoader } from '../src/loaders.js';

const A = '0b7c1d9e-2f4a-4c3b-8d5e-6f7a8b9c0d1e';
const B = '1c8d2e0f-3a5b-4d4c-9e6f-7a8b9c0d1e2f';

/** A repository method that records every batch it is asked for. */
function recorded<T>(rows: T[]) {
  const calls: string[][] = [];
  const load = async (ids: string[]) => {
    calls.push(ids);
    return rows;
  };
  return { calls, load };
}

describe('isUuid', () => {
  it('accepts a UUID in either case and refuses anything else', () => {
    expect(isUuid(A)).toBe(true);
    expect(isUuid(A.toUpperCase())).toBe(true);
    expect(isUuid('not-a-uuid')).toBe(false);
    expect(isUuid(`${A} OR 1=1`)).toBe(false);
  });
});

describe(rowByIdLoader.name, () => {
  it('answers every key in key order from one batch, null for an unknown id', async () => {
    const { calls, load } = recorded([{ id: B }, { id: A }]);
    const loader = rowByIdLoader(load);
    const [a, missing, b] = await Promise.all([
      loader.load(A),
      loader.load('2d9e3f1a-4b6c-4e5d-8f7a-8b9c0d1e2f3a'),
      loader.load(B),
    ]);
    expect([a?.id, missing, b?.id]).toEqual([A, null, B]);
    expect(calls).toHaveLength(1);
  });

  it('keeps a malformed id out of the batch, so it cannot fail the others', async () => {
    const { calls, load } = recorded([{ id: A }]);
    const loader = rowByIdLoader(load);
    const [bad, a] = await Promise.all([loader.load('1; DROP TABLE x'), loader.load(A)]);
    expect([bad, a?.id]).toEqual([null, A]);
    expect(calls).toEqual([[A]]);
  });

  it('sends no statement when no id of the batch can exist', async () => {
    const { calls, load } = recorded([{ id: A }]);
    await expect(rowByIdLoader(load).load('nope')).resolves.toBeNull();
    expect(calls).toEqual([]);
  });
});

describe(rowsByKeyLoader.name, () => {
  it('groups the rows per key in key order, [] for a key without rows or with a malformed id', async () => {
    const rows = [
      { owner: A, n: 1 },
      { owner: B, n: 2 },
      { owner: A, n: 3 },
      { owner: null, n: 4 },
    ];
    const { calls, load } = recorded(rows);
    const loader = rowsByKeyLoader(load, 'owner');
    const [a, bad, b] = await Promise.all([loader.load(A), loader.load('bad'), loader.load(B)]);
    expect(a.map((r) => r.n)).toEqual([1, 3]);
    expect(bad).toEqual([]);
    expect(b.map((r) => r.n)).toEqual([2]);
    expect(calls).toEqual([[A, B]]);
  });
});

describe(isActiveUser.name, () => {
  const user = (over: Partial<PeerUser> = {}): PeerUser => ({
    id: A,
    role: 'CLIENT',
    deleted: false,
    ...over,
  });

  it('accepts a known, undeleted user with one of the roles asked for', () => {
    expect(isActiveUser(user(), ['CLIENT', 'MANAGER'])).toBe(true);
    expect(isActiveUser(user({ role: 'WASHER' }))).toBe(true);
  });

  it('refuses an unknown or deleted user, and one with another role', () => {
    expect(isActiveUser(null)).toBe(false);
    expect(isActiveUser(user({ deleted: true }), ['CLIENT'])).toBe(false);
    expect(isActiveUser(user({ role: 'WASHER' }), ['CLIENT', 'MANAGER'])).toBe(false);
  });
});
