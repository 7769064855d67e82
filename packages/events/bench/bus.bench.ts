/**
 * `pnpm bench:events`: the event pipeline's load of bus-load.ts from the command line (the `events`
 * section of `pnpm bench` runs the same measurement). The steady phase writes at a fixed rate and
 * decides the verdict (p99 against the 500 ms target); `--burst` adds a phase that writes every event
 * at once and reports the maximum throughput.
 *
 *   pnpm bench:events [--events 10000] [--rate 1000] [--burst] [--consumers 1] [--concurrency 8] [--batch] [--poll] [--timeout 120]
 *
 * Settings: BENCH_DATABASE_URL, REDIS_URL (see bus-load.ts). Exit 0 on PASS, 1 on FAIL, 2 on bad flags.
 */
import { DEFAULT_CONCURRENCY } from '../src/index.js';
import { benchArgs, integerOption, percentile } from '../../../test/bench/support.js';
import {
  perSecond,
  runEventsLoad,
  TARGET_P99_MS,
  type EventsLoadOptions,
  type PhaseResult,
} from './bus-load.js';

const USAGE = `usage: pnpm bench:events [--events N] [--rate R] [--burst] [--consumers C] [--concurrency K] [--batch] [--poll] [--timeout S]
  --events N      events per phase (default 10000)
  --rate R        steady write rate in events/s (default 1000)
  --burst         add a phase that writes all events at once and reports the maximum throughput
  --consumers C   consumer instances in the group (default 1)
  --concurrency K handlers each consumer runs at once, one aggregate at a time (default ${DEFAULT_CONCURRENCY})
  --batch         the consumer applies runs of events in one transaction each (a batch handler)
  --poll          the relay polls every 10 ms instead of being woken after each write (the old way)
  --timeout S     give up (FAIL) after S seconds in all (default 120)`;

function parseOptions(argv: string[]): EventsLoadOptions {
  const values = benchArgs(argv, USAGE, {
    events: { type: 'string', default: '10000' },
    rate: { type: 'string', default: '1000' },
    burst: { type: 'boolean', default: false },
    batch: { type: 'boolean', default: false },
    poll: { type: 'boolean', default: false },
    consumers: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: String(DEFAULT_CONCURRENCY) },
    timeout: { type: 'string', default: '120' },
  });
  return {
    events: integerOption('events', values.events, 1, 1_000_000),
    rate: integerOption('rate', values.rate, 1, 1_000_000),
    burst: values.burst,
    batch: values.batch,
    relay: values.poll ? 'poll' : 'woken',
    consumers: integerOption('consumers', values.consumers, 1, 32),
    concurrency: integerOption('concurrency', values.concurrency, 1, 64),
    timeoutS: integerOption('timeout', values.timeout, 1, 3600),
  };
}

const ms = (v: number) => (Number.isNaN(v) ? 'n/a' : `${Math.round(v)} ms`);

function report(r: PhaseResult, o: EventsLoadOptions): void {
  const l = r.latencies;
  const written =
    r.name === 'steady'
      ? `${r.written} in ${(r.writeMs / 1000).toFixed(2)} s (${perSecond(r.written, r.writeMs)} events/s, target ${o.rate})`
      : `${r.written} in one INSERT (${Math.round(r.writeMs)} ms)`;
  console.log(`[${r.name}] events written: ${written}`);
  console.log(
    `[${r.name}] published/s: ${perSecond(r.published, r.publishMs)} (${r.published} published in ${(r.publishMs / 1000).toFixed(2)} s)`,
  );
  console.log(
    `[${r.name}] consumed/s: ${perSecond(r.applied, r.endToEndMs)} (${r.applied} effects in ${(r.endToEndMs / 1000).toFixed(2)} s, first write → last effect)`,
  );
  console.log(
    `[${r.name}] latency outbox→effect: p50 ${ms(percentile(l, 50))}, p95 ${ms(percentile(l, 95))}, p99 ${ms(percentile(l, 99))}, max ${ms(l.length ? l[l.length - 1]! : NaN)}`,
  );
  const p = r.publishLatencies;
  console.log(
    `[${r.name}] of which outbox→published (relay): p50 ${ms(percentile(p, 50))}, p99 ${ms(percentile(p, 99))}`,
  );
  console.log(
    `[${r.name}] duplicates: ${r.duplicates} (effects applied twice; redeliveries absorbed by the inbox: ${r.redeliveries})`,
  );
  if (r.missing > 0) console.log(`[${r.name}] missing: ${r.missing} events without an effect`);
  if (r.handlerErrors || r.relayErrors)
    console.log(
      `[${r.name}] errors: ${r.handlerErrors} in the consumer, ${r.relayErrors} in the relay (first: ${r.firstError})`,
    );
}

async function main(): Promise<number> {
  let o: EventsLoadOptions;
  try {
    o = parseOptions(process.argv.slice(2));
  } catch (err) {
    console.error(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 2;
  }
  // Last resort if cleanup itself hangs (e.g. a database that stopped answering).
  setTimeout(
    () => {
      console.error(`FAIL: bench still running ${o.timeoutS + 30} s after start; forced exit`);
      process.exit(1);
    },
    (o.timeoutS + 30) * 1000,
  ).unref();

  console.log(
    `events bench: ${o.events} events, steady at ${o.rate} events/s${o.burst ? ' then a burst' : ''}; outbox → relay (${o.relay === 'poll' ? 'polling every 10 ms' : 'woken after each write'}) → Redis Streams → ${o.consumers} consumer(s) × ${o.concurrency} handlers at once${o.batch ? ' (batch handler: a run per transaction)' : ''} → inbox + effect in PostgreSQL`,
  );
  const result = await runEventsLoad(o);
  report(result.steady, o);
  if (result.burst) {
    report(result.burst, o);
    console.log(
      `[burst] max throughput: ${perSecond(result.burst.published, result.burst.publishMs)} published/s, ${perSecond(result.burst.applied, result.burst.endToEndMs)} consumed/s end to end`,
    );
  }
  const p99 = Math.round(result.p99);
  if (result.problem) {
    console.log(`FAIL: ${result.problem}`);
    return 1;
  }
  if (result.passed) {
    console.log(`PASS: p99 ${p99} ms < ${TARGET_P99_MS} ms at ${result.achievedRate} events/s`);
    return 0;
  }
  console.log(`FAIL: p99 ${p99} ms >= ${TARGET_P99_MS} ms at ${result.achievedRate} events/s`);
  return 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`FAIL: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
