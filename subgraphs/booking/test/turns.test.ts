import { describe, expect, it } from 'vitest';
import { Turns } from '../src/turns.js';

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('Turns', () => {
  it('runs the work of one key one at a time, in arrival order, and other keys alongside', async () => {
    const turns = new Turns();
    const log: string[] = [];
    const work = (key: string, name: string) =>
      turns.run(key, async () => {
        log.push(`${name} start`);
        await tick();
        log.push(`${name} end`);
        return name;
      });
    const results = await Promise.all([work('a', 'a1'), work('a', 'a2'), work('b', 'b1')]);
    expect(results).toEqual(['a1', 'a2', 'b1']);
    expect(log.indexOf('a1 end')).toBeLessThan(log.indexOf('a2 start'));
    expect(log.indexOf('b1 start')).toBeLessThan(log.indexOf('a1 end'));
    expect(turns.size).toBe(0);
  });

  it('passes a failure to its caller only, and lets the next turn run', async () => {
    const turns = new Turns();
    const failed = turns.run('a', async () => {
      await tick();
      throw new Error('taken');
    });
    const next = turns.run('a', async () => 'next');
    await expect(failed).rejects.toThrow('taken');
    expect(await next).toBe('next');
    expect(turns.size).toBe(0);
  });
});
