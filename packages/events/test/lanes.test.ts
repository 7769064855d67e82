import { describe, expect, it } from 'vitest';
import { runByKey } from '../src/lanes.js';

const tick = () => new Promise<void>((r) => setTimeout(r, 1));

/** Runs `items` (key:value strings) and records the order of starts and the peak of calls in flight. */
async function trace(items: string[], concurrency: number) {
  const started: string[] = [];
  const inFlightByKey = new Map<string, number>();
  let inFlight = 0;
  let peak = 0;
  let sameKeyOverlap = false;
  await runByKey(
    items,
    (item) => item.split(':')[0]!,
    concurrency,
    async (item) => {
      const key = item.split(':')[0]!;
      started.push(item);
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      inFlightByKey.set(key, (inFlightByKey.get(key) ?? 0) + 1);
      if (inFlightByKey.get(key)! > 1) sameKeyOverlap = true;
      await tick();
      inFlightByKey.set(key, inFlightByKey.get(key)! - 1);
      inFlight -= 1;
    },
  );
  return { started, peak, sameKeyOverlap };
}

describe(runByKey.name, () => {
  it('keeps the items of one key in their order and never runs two of them at once', async () => {
    const items = ['a:1', 'b:1', 'a:2', 'c:1', 'a:3', 'b:2'];
    const { started, sameKeyOverlap } = await trace(items, 4);
    expect(started.filter((i) => i.startsWith('a:'))).toEqual(['a:1', 'a:2', 'a:3']);
    expect(started.filter((i) => i.startsWith('b:'))).toEqual(['b:1', 'b:2']);
    expect(sameKeyOverlap).toBe(false);
    expect(started).toHaveLength(items.length);
  });

  it('overlaps different keys up to the concurrency and no further', async () => {
    const items = Array.from({ length: 20 }, (_, i) => `k${i}:1`);
    expect((await trace(items, 4)).peak).toBe(4);
    expect((await trace(items, 1)).peak).toBe(1);
  });

  it('runs everything in the original order with concurrency 1', async () => {
    const items = ['a:1', 'b:1', 'a:2', 'c:1'];
    expect((await trace(items, 1)).started).toEqual(items);
  });

  it('stops taking new keys after a failure and rethrows it once the running lanes are done', async () => {
    const done: string[] = [];
    const run = runByKey(
      ['a:1', 'b:1', 'c:1', 'd:1'],
      (i) => i[0]!,
      2,
      async (item) => {
        await tick();
        if (item === 'a:1') throw new Error('boom');
        done.push(item);
      },
    );
    await expect(run).rejects.toThrow('boom');
    expect(done).toEqual(['b:1']);
  });
});
