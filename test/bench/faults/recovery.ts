/**
 * What a drill's request log says about one fault: how many requests it disturbed, with which error
 * codes, and when the load was whole again. Pure: no clock, no I/O (unit-tested in recovery.test.ts).
 */
import { percentile } from '../support.js';

export interface TimedOutcome {
  /** Epoch milliseconds when the request was sent and answered. */
  start: number;
  end: number;
  /** `ok` or an error code. */
  outcome: string;
}

export interface RecoveryRule {
  /** Recovered at the first request that begins this many successes in a row (in send order)… */
  consecutive: number;
  /** …whose p99 latency is at most this. */
  p99BoundMs: number;
}

export interface FaultImpact {
  /** Requests in flight at some point between the fault's start and the recovery (or the log's end). */
  attempted: number;
  failed: number;
  /** Error code → count, among those requests. */
  codes: Map<string, number>;
  /** Milliseconds from the fault's end to recovery; null when the log never shows it recovered. */
  recoveryMs: number | null;
}

/**
 * The moment (epoch ms) the load recovered after a fault that ended at `faultEnd`: the send time of the
 * first request from then on that begins `consecutive` successes in a row (in send order) whose p99
 * latency is within the bound. Null if there is none (yet).
 */
export function recoveredAt(
  records: readonly TimedOutcome[],
  faultEnd: number,
  rule: RecoveryRule,
): number | null {
  const after = records.filter((r) => r.start >= faultEnd).sort((a, b) => a.start - b.start);
  let runStart = 0;
  for (let i = 0; i < after.length; i++) {
    if (after[i]!.outcome !== 'ok') {
      runStart = i + 1;
      continue;
    }
    // Slide the run's window so it holds the last `consecutive` successes; test it once it is full.
    if (i - runStart + 1 < rule.consecutive) continue;
    const from = i - rule.consecutive + 1;
    const latencies = after
      .slice(from, i + 1)
      .map((r) => r.end - r.start)
      .sort((a, b) => a - b);
    if (percentile(latencies, 99) <= rule.p99BoundMs) return after[from]!.start;
  }
  return null;
}

/** The impact of a fault from `faultStart` to `faultEnd` on the requests of `records`. */
export function faultImpact(
  records: readonly TimedOutcome[],
  faultStart: number,
  faultEnd: number,
  rule: RecoveryRule,
): FaultImpact {
  const recovered = recoveredAt(records, faultEnd, rule);
  const until = recovered ?? Number.POSITIVE_INFINITY;
  const touched = records.filter((r) => r.end > faultStart && r.start < until);
  const codes = new Map<string, number>();
  for (const r of touched) if (r.outcome !== 'ok') codes.set(r.outcome, (codes.get(r.outcome) ?? 0) + 1);
  return {
    attempted: touched.length,
    failed: [...codes.values()].reduce((a, b) => a + b, 0),
    codes,
    recoveryMs: recovered === null ? null : Math.max(0, recovered - faultEnd),
  };
}
