import { describe, expect, it } from 'vitest';
import { EvictedCache } from '../src/evicted-cache.js';

interface Answer {
  owner: string;
  n: number;
}

/** A peer that counts its calls and answers with the owner it was asked about. */
function peer() {
  const calls: string[] = [];
  let n = 0;
  return {
    calls,
    ask: (owner: string) => async () => {
      calls.push(owner);
      await Promise.resolve();
      return { owner, n: ++n };
    },
  };
}

describe('EvictedCache', () => {
  it("answers each owner with that owner's answer, from one call per key", async () => {
    const cache = new EvictedCache<Answer>(60_000);
    const p = peer();
    const [a1, b1, a2] = await Promise.all([
      cache.get('a', 'k', p.ask('a')),
      cache.get('b', 'k', p.ask('b')),
      cache.get('a', 'k', p.ask('a')),
    ]);
    expect(a1).toEqual({ owner: 'a', n: 1 });
    expect(b1).toEqual({ owner: 'b', n: 2 });
    expect(a2).toBe(a1); // the concurrent miss shared the call
    expect(await cache.get('a', 'k', p.ask('a'))).toBe(a1);
    expect(await cache.get('a', 'other', p.ask('a'))).toEqual({ owner: 'a', n: 3 });
    expect(p.calls).toEqual(['a', 'b', 'a']);
  });

  it('evicts only the owner it is told about', async () => {
    const cache = new EvictedCache<Answer>(60_000);
    const p = peer();
    await cache.get('a', 'k1', p.ask('a'));
    await cache.get('a', 'k2', p.ask('a'));
    const b = await cache.get('b', 'k1', p.ask('b'));
    cache.evict('a');
    expect(cache.size).toBe(1);
    expect(await cache.get('b', 'k1', p.ask('b'))).toBe(b);
    expect(await cache.get('a', 'k1', p.ask('a'))).toEqual({ owner: 'a', n: 4 });
  });

  it('does not keep an answer whose call began before an eviction', async () => {
    const cache = new EvictedCache<Answer>(60_000);
    let release!: (v: Answer) => void;
    const slow = cache.get('a', 'k', () => new Promise<Answer>((r) => (release = r)));
    cache.evict('a');
    // A request after the eviction does not share the call that began before it…
    const fresh = cache.get('a', 'k', async () => ({ owner: 'a', n: 2 }));
    release({ owner: 'a', n: 1 });
    expect(await slow).toEqual({ owner: 'a', n: 1 });
    expect(await fresh).toEqual({ owner: 'a', n: 2 });
    // …and only what was read after the eviction is kept.
    expect(await cache.get('a', 'k', async () => ({ owner: 'a', n: 3 }))).toEqual({ owner: 'a', n: 2 });
  });

  it("evicts only the owner's entries whose span overlaps the changed span", async () => {
    const cache = new EvictedCache<Answer>(60_000);
    const p = peer();
    const day = (d: number) => ({ from: d * 100, to: d * 100 + 100 });
    const d1 = await cache.get('a', 'd1', p.ask('a'), day(1));
    await cache.get('a', 'd2', p.ask('a'), day(2));
    const whole = await cache.get('a', 'whole', p.ask('a'));
    const other = await cache.get('b', 'd2', p.ask('b'), day(2));
    // A write on day 2 of owner a: a's day-2 entry and its span-less entry go; day 1 and owner b stay.
    cache.evict('a', { from: 250, to: 260 });
    expect(await cache.get('a', 'd1', p.ask('a'), day(1))).toBe(d1);
    expect(await cache.get('b', 'd2', p.ask('b'), day(2))).toBe(other);
    expect(await cache.get('a', 'whole', p.ask('a'))).not.toBe(whole);
    expect(await cache.get('a', 'd2', p.ask('a'), day(2))).toEqual({ owner: 'a', n: 6 });
    // Half-open: a change ending where day 1 begins does not touch it.
    cache.evict('a', { from: 50, to: 100 });
    expect(await cache.get('a', 'd1', p.ask('a'), day(1))).toBe(d1);
  });

  it('does not keep a load under way when a write covers its span, but keeps one the write misses', async () => {
    const cache = new EvictedCache<Answer>(60_000);
    const releases: Array<(v: Answer) => void> = [];
    const slow = (n: number) => () => new Promise<Answer>((r) => releases.push(() => r({ owner: 'a', n })));
    const covered = cache.get('a', 'd1', slow(1), { from: 100, to: 200 });
    const missed = cache.get('a', 'd2', slow(2), { from: 200, to: 300 });
    cache.evict('a', { from: 150, to: 160 });
    releases.forEach((r) => r({ owner: 'a', n: 0 }));
    await Promise.all([covered, missed]);
    expect(await cache.get('a', 'd1', async () => ({ owner: 'a', n: 3 }), { from: 100, to: 200 })).toEqual({
      owner: 'a',
      n: 3,
    });
    expect(await cache.get('a', 'd2', async () => ({ owner: 'a', n: 4 }), { from: 200, to: 300 })).toEqual({
      owner: 'a',
      n: 2,
    });
  });

  it('keeps neither nulls nor failures', async () => {
    const cache = new EvictedCache<Answer>(60_000);
    expect(await cache.get('a', 'k', async () => null)).toBeNull();
    await expect(cache.get('a', 'k', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(await cache.get('a', 'k', async () => ({ owner: 'a', n: 1 }))).toEqual({ owner: 'a', n: 1 });
    expect(cache.size).toBe(1);
  });

  it('asks the peer every time when its TTL is 0', async () => {
    const cache = new EvictedCache<Answer>(0);
    const p = peer();
    await cache.get('a', 'k', p.ask('a'));
    await cache.get('a', 'k', p.ask('a'));
    expect(p.calls).toEqual(['a', 'a']);
    expect(cache.size).toBe(0);
  });

  it('gives the entries filled together lifetimes spread over the last quarter of the TTL', async () => {
    const cache = new EvictedCache<Answer>(60_000);
    for (let i = 0; i < 50; i++) await cache.get(`site${i}`, 'k', async () => ({ owner: `site${i}`, n: i }));
    const left = Array.from({ length: 50 }, (_, i) => cache.remainingTtl(`site${i}`, 'k'));
    for (const ms of left) {
      expect(ms).toBeGreaterThan(45_000 - 1_000);
      expect(ms).toBeLessThanOrEqual(60_000);
    }
    // Not one lapse for all: uniform over 15 s, 50 lifetimes span far more than 5 s.
    expect(Math.max(...left) - Math.min(...left)).toBeGreaterThan(5_000);
    expect(cache.remainingTtl('nobody', 'k')).toBe(0);
  });

  it('forgets an answer once its TTL has passed', async () => {
    const cache = new EvictedCache<Answer>(20);
    const p = peer();
    await cache.get('a', 'k', p.ask('a'));
    await new Promise((r) => setTimeout(r, 40));
    expect(await cache.get('a', 'k', p.ask('a'))).toEqual({ owner: 'a', n: 2 });
  });
});
