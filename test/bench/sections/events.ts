/**
 * The `events` section of `pnpm bench`: the event pipeline (outbox → relay → Redis Streams → consumer
 * → inbox + effect) of packages/events/bench/bus-load.ts, steady at 1,000 events/s and as one burst,
 * for two consumers one after the other: per-event handlers (what the features run today),
 * `DEFAULT_CONCURRENCY` at once, one aggregate at a time; and the same effect as a batch handler (a run of
 * events per transaction), the consumer a topic carrying 1,000 events/s should have. The latency verdict
 * is the batch consumer's; both must lose nothing and apply nothing twice, and the per-event consumer's
 * p99 is reported beside it (it depends on the machine's load, see tuning-events.md).
 */
import { loadavg } from 'node:os';
import {
  perSecond,
  runEventsLoad,
  TARGET_P99_MS,
  type EventsLoadResult,
  type PhaseResult,
} from '../../../packages/events/bench/bus-load.js';
import { DEFAULT_CONCURRENCY } from '../../../packages/events/src/index.js';
import type { BenchSection, Section } from '../report.js';
import { percentile } from '../support.js';

const RATE = 1_000;

const ms = (v: number) => (Number.isNaN(v) ? 'n/a' : String(Math.round(v)));

function row(consumer: string, r: PhaseResult): Array<string | number> {
  const l = r.latencies;
  return [
    consumer,
    r.name === 'steady' ? `steady (${RATE} events/s offered)` : 'burst (one INSERT)',
    r.written,
    perSecond(r.written, r.writeMs),
    perSecond(r.published, r.publishMs),
    perSecond(r.applied, r.endToEndMs),
    ms(percentile(l, 50)),
    ms(percentile(l, 99)),
    ms(l.length ? l[l.length - 1]! : Number.NaN),
    ms(percentile(r.publishLatencies, 99)),
    r.duplicates,
    r.missing,
    r.handlerErrors + r.relayErrors,
  ];
}

const phases = (result: EventsLoadResult) => [result.steady, ...(result.burst ? [result.burst] : [])];

export const run: Section = async ({ quick, log }) => {
  const events = quick ? 2_000 : 10_000;
  const load0 = loadavg()[0]!;
  const common = { events, rate: RATE, burst: true, consumers: 1, concurrency: DEFAULT_CONCURRENCY };
  log(`events: ${events} events per phase, steady then burst, per-event handlers`);
  const perEvent = await runEventsLoad({ ...common, batch: false, timeoutS: quick ? 40 : 90 });
  const loadMid = loadavg()[0]!;
  log(`events: the same with a batch handler`);
  const batch = await runEventsLoad({ ...common, batch: true, timeoutS: quick ? 40 : 90 });
  const contenders = [
    [`per-event handlers, ${DEFAULT_CONCURRENCY} at once`, perEvent],
    ['batch handler (a run per transaction)', batch],
  ] as const;
  const verdict = (r: EventsLoadResult) =>
    `${r.passed ? 'met' : 'MISSED'} (p99 ${Math.round(r.p99)} ms at ${r.achievedRate} events/s)`;
  const section: BenchSection = {
    title: 'Event bus',
    tables: [
      {
        title: `Outbox → relay → Redis Streams → 1 consumer (lanes by aggregate) → inbox + effect, ${events} events per phase`,
        columns: [
          'consumer',
          'phase',
          'events',
          'written/s',
          'published/s',
          'consumed/s (end to end)',
          'p50 ms',
          'p99 ms',
          'max ms',
          'relay p99 ms',
          'duplicates',
          'missing',
          'errors',
        ],
        rows: contenders.flatMap(([name, result]) => phases(result).map((p) => row(name, p))),
      },
    ],
    notes: [
      `Latency is effect commit − the event's occurredAt (its outbox write): the relay's wake-up (the writer wakes it after each committed write, as a feature's pool does; a fallback poll every second), publication, the consumer's read and the effect's transaction (inbox row + one effect row); "relay p99" is the outbox → published share of it. Target: steady p99 < ${TARGET_P99_MS} ms — per-event handlers ${verdict(perEvent)}; batch handler ${verdict(batch)}. The verdict is the per-event consumer's, the one every feature's handlers use today; the batch handler (which no feature uses yet) is given beside it, and both must lose nothing and double nothing.`,
      `Duplicates counts effects applied twice (the effect table has no unique key on purpose); redeliveries absorbed by the inbox: ${contenders.flatMap(([name, result]) => phases(result).map((p) => `${name} ${p.name} ${p.redeliveries}`)).join(', ')}.`,
      `1-minute load average ${load0.toFixed(2)} at the start, ${loadMid.toFixed(2)} between the consumers, ${loadavg()[0]!.toFixed(2)} at the end.`,
      ...contenders.flatMap(([name, result]) => [
        ...(result.problem ? [`FAILED (${name}): ${result.problem}.`] : []),
        ...phases(result).flatMap((p) =>
          p.firstError ? [`${name}, ${p.name}: first error ${p.firstError}`] : [],
        ),
      ]),
    ],
    ok: perEvent.passed && !batch.problem,
  };
  return section;
};
