/**
 * The `events` section of `pnpm bench`: the event pipeline (outbox → relay → Redis Streams → consumer
 * → inbox + effect) of packages/events/bench/bus-load.ts, steady at 1,000 events/s and as one burst.
 */
import { loadavg } from 'node:os';
import {
  perSecond,
  runEventsLoad,
  TARGET_P99_MS,
  type PhaseResult,
} from '../../../packages/events/bench/bus-load.js';
import { DEFAULT_CONCURRENCY } from '../../../packages/events/src/index.js';
import type { BenchSection, Section } from '../report.js';
import { percentile } from '../support.js';

const RATE = 1_000;

const ms = (v: number) => (Number.isNaN(v) ? 'n/a' : String(Math.round(v)));

function row(r: PhaseResult): Array<string | number> {
  const l = r.latencies;
  return [
    r.name === 'steady' ? `steady (${RATE} events/s offered)` : 'burst (one INSERT)',
    r.written,
    perSecond(r.written, r.writeMs),
    perSecond(r.published, r.publishMs),
    perSecond(r.applied, r.endToEndMs),
    ms(percentile(l, 50)),
    ms(percentile(l, 99)),
    ms(l.length ? l[l.length - 1]! : Number.NaN),
    r.duplicates,
    r.missing,
    r.handlerErrors + r.relayErrors,
  ];
}

export const run: Section = async ({ quick, log }) => {
  const events = quick ? 2_000 : 10_000;
  const load0 = loadavg()[0]!;
  log(`events: ${events} events per phase, steady then burst`);
  const result = await runEventsLoad({
    events,
    rate: RATE,
    burst: true,
    consumers: 1,
    concurrency: DEFAULT_CONCURRENCY,
    timeoutS: quick ? 40 : 90,
  });
  const phases = [result.steady, ...(result.burst ? [result.burst] : [])];
  const section: BenchSection = {
    title: 'Event bus',
    tables: [
      {
        title: `Outbox → relay → Redis Streams → 1 consumer (${DEFAULT_CONCURRENCY} handlers at once, one per aggregate) → inbox + effect, ${events} events per phase`,
        columns: [
          'phase',
          'events',
          'written/s',
          'published/s',
          'consumed/s (end to end)',
          'p50 ms',
          'p99 ms',
          'max ms',
          'duplicates',
          'missing',
          'errors',
        ],
        rows: phases.map(row),
      },
    ],
    notes: [
      `Latency is effect commit − the event's occurredAt (its outbox write): relay polling (idle 10 ms), publication, the consumer's read and the effect's transaction. Target: steady p99 < ${TARGET_P99_MS} ms — ${result.passed ? 'met' : 'MISSED'} (p99 ${Math.round(result.p99)} ms at ${result.achievedRate} events/s).`,
      `Duplicates counts effects applied twice (the effect table has no unique key on purpose); redeliveries absorbed by the inbox: ${phases.map((p) => `${p.name} ${p.redeliveries}`).join(', ')}.`,
      `1-minute load average ${load0.toFixed(2)} at the start, ${loadavg()[0]!.toFixed(2)} at the end.`,
      ...(result.problem ? [`FAILED: ${result.problem}.`] : []),
      ...phases.flatMap((p) => (p.firstError ? [`${p.name}: first error ${p.firstError}`] : [])),
    ],
    ok: result.passed,
  };
  return section;
};
