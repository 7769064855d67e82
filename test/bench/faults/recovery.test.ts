import { describe, expect, it } from 'vitest';
import { faultImpact, recoveredAt, type TimedOutcome } from './recovery.js';

/** One request sent every 10 ms from `t0`, lasting `ms`, with the outcomes given. */
function requests(t0: number, outcomes: string[], ms = 20): TimedOutcome[] {
  return outcomes.map((outcome, i) => ({ start: t0 + i * 10, end: t0 + i * 10 + ms, outcome }));
}
const ok = (n: number) => Array.from({ length: n }, () => 'ok');
const rule = { consecutive: 3, p99BoundMs: 100 };

describe(recoveredAt.name, () => {
  it('is the first request that begins the required run of successes after the fault', () => {
    const log = requests(1_000, ['SUBGRAPH_UNAVAILABLE', 'ok', 'ok', 'NETWORK', ...ok(3)]);
    expect(recoveredAt(log, 1_000, rule)).toBe(1_040);
  });

  it('waits for latencies back under the bound, not just for successes', () => {
    const slow = requests(1_000, ok(3), 500);
    const fast = requests(1_030, ok(3));
    expect(recoveredAt([...slow, ...fast], 1_000, rule)).toBe(1_030);
  });

  it('is null while the run is not complete', () => {
    expect(recoveredAt(requests(1_000, ['NETWORK', 'ok', 'ok']), 1_000, rule)).toBeNull();
  });

  it('ignores requests sent before the fault ended', () => {
    expect(recoveredAt(requests(1_000, ok(6)), 1_030, rule)).toBe(1_030);
  });
});

describe(faultImpact.name, () => {
  it('counts the requests in flight from the fault to recovery, by error code', () => {
    const before = requests(0, ok(5)); // all answered before the fault at 100
    const during = requests(100, ['NETWORK', 'SUBGRAPH_UNAVAILABLE', 'SUBGRAPH_UNAVAILABLE']);
    const after = requests(200, ok(5));
    const impact = faultImpact([...before, ...during, ...after], 100, 150, rule);
    expect(impact.recoveryMs).toBe(50);
    // The three failures, plus nothing else: the successes from 200 on are the recovery itself.
    expect(impact.attempted).toBe(3);
    expect(impact.failed).toBe(3);
    expect(Object.fromEntries(impact.codes)).toEqual({ NETWORK: 1, SUBGRAPH_UNAVAILABLE: 2 });
  });

  it('counts to the end of the log when the load never recovered', () => {
    const impact = faultImpact(requests(100, ['NETWORK', 'NETWORK', 'ok']), 100, 100, rule);
    expect(impact.recoveryMs).toBeNull();
    expect(impact.attempted).toBe(3);
  });
});
