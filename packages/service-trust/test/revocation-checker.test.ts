import { describe, expect, it } from 'vitest';
import {
  createRevocationChecker,
  type RevocationListener,
  type RevocationStatus,
  type RevocationStore,
} from '../src/index.js';

/** A store in a test's hands: counts its reads, answers what the test set, announces on demand. */
class FakeStore implements RevocationStore {
  reads = 0;
  users = new Map<string, number>();
  sessions = new Set<string>();
  listeners: RevocationListener[] = [];
  failing = false;
  /** Runs while a read is in flight (to interleave an announcement with it). */
  duringRead: (() => void) | undefined;

  async status(userId: string, sessionId: string): Promise<RevocationStatus> {
    this.reads += 1;
    if (this.failing) throw new Error('unreachable');
    const answer = { minVersion: this.users.get(userId) ?? 0, sessionRevoked: this.sessions.has(sessionId) };
    this.duringRead?.();
    return answer;
  }
  async revokeSession(sessionId: string) {
    this.sessions.add(sessionId);
    this.listeners.forEach((l) => l({ kind: 'session', id: sessionId }));
  }
  async revokeUserBelow(userId: string, minVersion: number) {
    this.users.set(userId, minVersion);
    this.listeners.forEach((l) => l({ kind: 'user', id: userId }));
  }
  onRevoked(listener: RevocationListener) {
    this.listeners.push(listener);
  }
  async ping() {}
  async close() {}
}

function setup(options: { cacheTtlMs?: number; maxEntries?: number } = {}) {
  let t = 1_000_000;
  const store = new FakeStore();
  const sut = createRevocationChecker(store, { ...options, now: () => t });
  return { store, sut, advance: (ms: number) => (t += ms) };
}

describe(createRevocationChecker.name, () => {
  it('refuses a revoked session and a version below the floor; accepts the floor itself', async () => {
    const { store, sut } = setup({ cacheTtlMs: 0 });
    store.sessions.add('s-dead');
    store.users.set('u1', 3);
    expect(await sut.check('u1', 's-dead', 5)).toBe('session');
    expect(await sut.check('u1', 's1', 2)).toBe('user');
    expect(await sut.check('u1', 's1', 3)).toBeNull();
    expect(await sut.check('u2', 's2', 0)).toBeNull();
  });

  it('asks the store once per user and session within the cache lifetime, again after it', async () => {
    const { store, sut, advance } = setup({ cacheTtlMs: 1000 });
    for (let i = 0; i < 100; i++) await sut.check('u1', 's1', 0);
    expect(store.reads).toBe(1);
    advance(1000);
    await sut.check('u1', 's1', 0);
    expect(store.reads).toBe(2);
  });

  it('never caches longer than a second, whatever it is told', async () => {
    const { store, sut, advance } = setup({ cacheTtlMs: 60_000 });
    await sut.check('u1', 's1', 0);
    advance(1000);
    store.sessions.add('s1');
    expect(await sut.check('u1', 's1', 0)).toBe('session');
  });

  it('refuses a token at once when a revocation is announced, cache or not', async () => {
    const { store, sut } = setup({ cacheTtlMs: 1000 });
    expect(await sut.check('u1', 's1', 0)).toBeNull();
    await store.revokeSession('s1');
    expect(await sut.check('u1', 's1', 0)).toBe('session');
    expect(await sut.check('u2', 's2', 0)).toBeNull();
    await store.revokeUserBelow('u2', 1);
    expect(await sut.check('u2', 's2', 0)).toBe('user');
  });

  it('does not cache an answer that an announcement overtook while it was in flight', async () => {
    const { store, sut } = setup({ cacheTtlMs: 1000 });
    store.duringRead = () => {
      store.duringRead = undefined;
      void store.revokeSession('s1');
    };
    // The read saw "valid" before the revocation landed; that stale answer must not be reused.
    expect(await sut.check('u1', 's1', 0)).toBeNull();
    expect(await sut.check('u1', 's1', 0)).toBe('session');
  });

  it('forgets everything when the announcements may have been missed (subscriber reconnected)', async () => {
    const { store, sut } = setup({ cacheTtlMs: 1000 });
    await sut.check('u1', 's1', 0);
    store.sessions.add('s1');
    store.listeners.forEach((l) => l(null));
    expect(await sut.check('u1', 's1', 0)).toBe('session');
  });

  it('shares one store read among a burst of concurrent checks with a cold cache', async () => {
    const { store, sut } = setup({ cacheTtlMs: 1000 });
    const verdicts = await Promise.all(Array.from({ length: 50 }, () => sut.check('u1', 's1', 0)));
    expect(verdicts.every((v) => v === null)).toBe(true);
    expect(store.reads).toBe(1);
  });

  it('does not let a check that starts after an announcement join a read that started before it', async () => {
    const { store, sut } = setup({ cacheTtlMs: 1000 });
    const early = sut.check('u1', 's1', 0);
    await store.revokeSession('s1');
    const late = sut.check('u1', 's1', 0);
    expect(await early).toBeNull();
    expect(await late).toBe('session');
    expect(store.reads).toBe(2);
  });

  it('keeps at most maxEntries per kind, dropping the oldest', async () => {
    const { store, sut } = setup({ cacheTtlMs: 1000, maxEntries: 10 });
    for (let i = 0; i < 11; i++) await sut.check(`u${i}`, `s${i}`, 0);
    expect(store.reads).toBe(11);
    await sut.check('u10', 's10', 0);
    expect(store.reads).toBe(11);
    await sut.check('u0', 's0', 0);
    expect(store.reads).toBe(12);
  });

  it('lets a store failure through to the caller (the verifier turns it into a refusal)', async () => {
    const { store, sut } = setup();
    store.failing = true;
    await expect(sut.check('u1', 's1', 0)).rejects.toThrow('unreachable');
  });
});
