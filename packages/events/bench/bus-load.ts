/**
 * The event pipeline's load, measured end to end against the real PostgreSQL and Redis (what
 * `pnpm bench:events` prints and the `events` section of `pnpm bench` reports):
 *
 *   writer ──INSERT──▶ outbox table ──OutboxRelay──▶ Redis Streams ──bus.consume──▶ inbox + effect (one transaction)
 *
 * Latency is measured per event as effect-commit time − the event's `occurredAt` (the moment the
 * writer wrote its outbox row), so it covers the relay's polling, publication, the consumer's read
 * and the effect's transaction. The steady phase writes at a fixed rate and decides the verdict
 * (p99 against the 500 ms target); `burst` adds a phase that writes every event at once and
 * reports the maximum throughput.
 *
 * Settings: BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/carwash_bench_events,
 * created if missing), REDIS_URL (default redis://127.0.0.1:6379). Each phase uses its own tables
 * (dropped at the end) and its own Redis namespace (deleted at the end).
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import pg from 'pg';
import {
  createEventBus,
  deadLetterKey,
  firstDeliveries,
  firstDelivery,
  inboxTableSql,
  inTransaction,
  OutboxRelay,
  outboxTableSql,
  pgExec,
  pgRows,
  streamKey,
  type Consumer,
  type EventBus,
  type EventEnvelope,
} from '../src/index.js';
import { redactUrl } from '../src/cli.js';
import { percentile } from '../../../test/bench/support.js';

const DATABASE_URL =
  process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/carwash_bench_events';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** The steady phase passes when its p99 outbox→effect latency is under this. */
export const TARGET_P99_MS = 500;
const TICK_MS = 10;
/** The relay's idle poll in the `poll` mode (the bench's setting before the relays were woken). */
const POLL_ONLY_IDLE_MS = 10;
const GROUP = 'bench-effects';
const PRODUCER = 'auth';
const TOPIC = 'auth.user.deleted';

export interface EventsLoadOptions {
  events: number;
  rate: number;
  burst: boolean;
  consumers: number;
  /** Handlers each consumer runs at once (`ConsumeOptions.concurrency`). */
  concurrency: number;
  /**
   * Also give the consumer a batch handler (`ConsumeOptions.batchHandlers`): a run of events applied in
   * one transaction, inbox rows inserted together (`firstDeliveries`).
   */
  batch: boolean;
  timeoutS: number;
  /**
   * How the relay learns of new rows: `woken` (default) as the features run it, woken after each committed
   * write (their pool calls `wake()`; here the writer does) and polling only every DEFAULT_FALLBACK_POLL_MS;
   * `poll` as before, polling every 10 ms.
   */
  relay?: 'woken' | 'poll';
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

class Timeout extends Error {}

/** Creates the bench database when it does not exist yet. */
async function ensureDatabase(): Promise<void> {
  const url = new URL(DATABASE_URL);
  const name = decodeURIComponent(url.pathname.slice(1));
  if (!/^[A-Za-z0-9_]+$/.test(name))
    throw new Error(`unexpected database name "${name}" in BENCH_DATABASE_URL`);
  url.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) {
      await admin.query(`CREATE DATABASE "${name}"`).catch((e: { code?: string }) => {
        // Created concurrently by another run.
        if (e.code !== '42P04' && e.code !== '23505') throw e;
      });
    }
  } finally {
    await admin.end();
  }
}

export interface PhaseResult {
  name: 'steady' | 'burst';
  written: number;
  /** Wall time from the first write to the end of the last write. */
  writeMs: number;
  published: number;
  /** From the first write to the last publication the relay made. */
  publishMs: number;
  applied: number;
  /** From the first write to the last effect's commit. */
  endToEndMs: number;
  latencies: Float64Array;
  /** Per event, publication (Redis accepted it) − occurredAt: the relay's share of `latencies`. */
  publishLatencies: Float64Array;
  redeliveries: number;
  duplicates: number;
  missing: number;
  handlerErrors: number;
  relayErrors: number;
  firstError: string | null;
  timedOut: boolean;
}

/**
 * One isolated run of the pipeline: fresh outbox/inbox/effect tables, a fresh Redis namespace, one
 * relay, `consumers` consumer instances in one group. Cleans everything up, whatever happens.
 */
async function runPhase(
  name: 'steady' | 'burst',
  o: EventsLoadOptions,
  pools: { producer: pg.Pool; consumer: pg.Pool },
  deadline: number,
): Promise<PhaseResult> {
  const tag = `bench_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const outbox = `${tag}_outbox`;
  const inbox = `${tag}_inbox`;
  const effects = `${tag}_effects`;
  const namespace = `bench-${tag.slice(6)}`;

  // The effect table has no unique key on purpose: an effect applied twice would show as two rows.
  await pools.producer.query(outboxTableSql(outbox));
  await pools.consumer.query(inboxTableSql(inbox));
  await pools.consumer.query(
    `CREATE TABLE ${effects} (event_id UUID NOT NULL, applied_at TIMESTAMPTZ(3) NOT NULL DEFAULT clock_timestamp())`,
  );

  const bus = createEventBus({ kind: 'redis', url: REDIS_URL, namespace });
  const r: PhaseResult = {
    name,
    written: 0,
    writeMs: 0,
    published: 0,
    publishMs: 0,
    applied: 0,
    endToEndMs: 0,
    latencies: new Float64Array(0),
    publishLatencies: new Float64Array(0),
    redeliveries: 0,
    duplicates: 0,
    missing: 0,
    handlerErrors: 0,
    relayErrors: 0,
    firstError: null,
    timedOut: false,
  };
  const noteError = (err: unknown) => {
    r.firstError ??= err instanceof Error ? err.message : String(err);
  };

  let t0 = 0;
  let lastPublishAt = 0;
  let lastEffectAt = 0;
  const latencies: number[] = [];
  const publishLatencies: number[] = [];

  // Counts what the relay hands to the bus (after Redis accepted it).
  const counting: EventBus = {
    publish: async (events) => {
      await bus.publish(events);
      r.published += events.length;
      lastPublishAt = Date.now();
      for (const e of events) publishLatencies.push(lastPublishAt - Date.parse(e.occurredAt));
    },
    consume: (options) => bus.consume(options),
    watch: (options) => bus.watch(options),
    lag: (group) => bus.lag(group),
    deadLetters: (group, limit) => bus.deadLetters(group, limit),
    replayDeadLetter: (group, id) => bus.replayDeadLetter(group, id),
    ping: () => bus.ping(),
    generation: () => bus.generation(),
    close: () => bus.close(),
  };

  const relay = new OutboxRelay({
    pool: pools.producer,
    table: outbox,
    producer: PRODUCER,
    bus: counting,
    ...(o.relay === 'poll' ? { idleMs: POLL_ONLY_IDLE_MS } : { wokenByCommits: true }),
    onError: (err) => {
      r.relayErrors += 1;
      noteError(err);
    },
  });

  const handle = async (event: EventEnvelope): Promise<void> => {
    const first = await inTransaction(pools.consumer, async (client) => {
      const isFirst = await firstDelivery(pgExec(client), inbox, GROUP, event);
      if (isFirst) await client.query(`INSERT INTO ${effects} (event_id) VALUES ($1)`, [event.id]);
      return isFirst;
    });
    const committedAt = Date.now();
    if (first) {
      latencies.push(committedAt - Date.parse(event.occurredAt));
      r.applied += 1;
      lastEffectAt = committedAt;
    } else {
      r.redeliveries += 1;
    }
  };

  /** The same effect for a run of events: one transaction, one inbox INSERT, one effect INSERT. */
  const handleBatch = async (events: readonly EventEnvelope[]): Promise<void> => {
    const fresh = await inTransaction(pools.consumer, async (client) => {
      const firstSeen = await firstDeliveries(pgRows(client), inbox, GROUP, events);
      if (firstSeen.length)
        await client.query(`INSERT INTO ${effects} (event_id) SELECT unnest($1::uuid[])`, [
          firstSeen.map((e) => e.id),
        ]);
      return firstSeen;
    });
    const committedAt = Date.now();
    for (const event of fresh) latencies.push(committedAt - Date.parse(event.occurredAt));
    r.applied += fresh.length;
    r.redeliveries += events.length - fresh.length;
    if (fresh.length) lastEffectAt = committedAt;
  };

  const consumers: Consumer[] = [];
  try {
    await bus.ping().catch((err: unknown) => {
      throw new Error(
        `cannot reach Redis at ${redactUrl(REDIS_URL)}: ${err instanceof Error ? err.message : String(err)}`,
      );
    });
    for (let i = 0; i < o.consumers; i++) {
      consumers.push(
        await bus.consume({
          group: GROUP,
          consumer: `bench-${i + 1}`,
          concurrency: o.concurrency,
          handlers: { [TOPIC]: handle },
          ...(o.batch ? { batchHandlers: { [TOPIC]: handleBatch } } : {}),
          onBatchError: noteError,
          onError: (err) => {
            r.handlerErrors += 1;
            noteError(err);
          },
        }),
      );
    }
    relay.start();

    const insert = async (count: number): Promise<void> => {
      const ids: string[] = [];
      const aggregates: string[] = [];
      const payloads: string[] = [];
      for (let i = 0; i < count; i++) {
        const id = randomUUID();
        const userId = randomUUID();
        ids.push(id);
        aggregates.push(userId);
        payloads.push(JSON.stringify({ userId }));
      }
      // occurred_at is the moment of the write, as a feature's outbox row would carry it.
      const occurredAt = new Date();
      await pools.producer.query(
        `INSERT INTO ${outbox} (id, topic, version, aggregate_id, payload, occurred_at)
         SELECT id, $2, 1, aggregate_id, payload, $5 FROM unnest($1::uuid[], $3::uuid[], $4::jsonb[]) AS t(id, aggregate_id, payload)`,
        [ids, TOPIC, aggregates, payloads, occurredAt],
      );
      // What a feature's pool does after a committed write (onCommittedWrite in the subgraph kit).
      if (o.relay !== 'poll') relay.wake();
      r.written += count;
      r.writeMs = performance.now() - start;
    };

    t0 = Date.now();
    const start = performance.now();
    if (name === 'burst') {
      await insert(o.events);
    } else {
      // `rate` events per second as TICK_MS slices (10 rows every 10 ms at 1000/s); a slow write is
      // caught up at the next tick, so the achieved rate stays on target.
      for (;;) {
        if (Date.now() > deadline) throw new Timeout();
        const tick = Math.floor((performance.now() - start) / TICK_MS);
        const due = Math.min(o.events, Math.round(((tick + 1) * o.rate * TICK_MS) / 1000));
        if (due > r.written) await insert(due - r.written);
        if (r.written >= o.events) break;
        await sleep(Math.max(0, start + (tick + 1) * TICK_MS - performance.now()));
      }
    }
    while (r.applied < o.events) {
      if (Date.now() > deadline) throw new Timeout();
      await sleep(5);
    }
  } catch (err) {
    if (!(err instanceof Timeout)) throw err;
    r.timedOut = true;
  } finally {
    await relay.stop().catch(noteError);
    await Promise.all(consumers.map((c) => c.stop().catch(noteError)));
    try {
      if (r.written > 0) {
        const { rows } = await pools.consumer.query<{ total: string; distinct: string }>(
          `SELECT count(*) AS total, count(DISTINCT event_id) AS distinct FROM ${effects}`,
        );
        const total = Number(rows[0]?.total ?? 0);
        const distinct = Number(rows[0]?.distinct ?? 0);
        r.duplicates = total - distinct;
        r.missing = r.written - distinct;
      }
    } finally {
      await pools.producer.query(`DROP TABLE IF EXISTS ${outbox}`).catch(noteError);
      await pools.consumer.query(`DROP TABLE IF EXISTS ${inbox}, ${effects}`).catch(noteError);
      await deleteKeys([streamKey(namespace, PRODUCER), deadLetterKey(namespace, GROUP)]).catch(noteError);
      await bus.close().catch(noteError);
    }
  }
  r.publishMs = lastPublishAt ? lastPublishAt - t0 : 0;
  r.endToEndMs = lastEffectAt ? lastEffectAt - t0 : 0;
  r.latencies = Float64Array.from(latencies).sort();
  r.publishLatencies = Float64Array.from(publishLatencies).sort();
  return r;
}

async function deleteKeys(keys: string[]): Promise<void> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}

export const perSecond = (count: number, ms: number) => (ms > 0 ? Math.round((count * 1000) / ms) : 0);

/** Why a phase failed regardless of latency, or null. */
export function integrityProblem(r: PhaseResult, o: EventsLoadOptions): string | null {
  if (r.timedOut)
    return `${r.name} phase timed out after ${o.timeoutS} s with ${r.applied} of ${o.events} effects applied`;
  if (r.duplicates > 0) return `${r.name} phase applied ${r.duplicates} effects twice`;
  if (r.missing > 0) return `${r.name} phase lost ${r.missing} events`;
  return null;
}

export interface EventsLoadResult {
  steady: PhaseResult;
  /** Null without `burst`, or when the steady phase timed out. */
  burst: PhaseResult | null;
  /** Why the run failed regardless of latency (timed out, duplicates, lost events), or null. */
  problem: string | null;
  /** p99 of the steady phase's outbox→effect latency, and its achieved write rate. */
  p99: number;
  achievedRate: number;
  /** No problem and the steady p99 under TARGET_P99_MS. */
  passed: boolean;
}

/** Both phases (the burst when asked), within `o.timeoutS` seconds in all. */
export async function runEventsLoad(o: EventsLoadOptions): Promise<EventsLoadResult> {
  const deadline = Date.now() + o.timeoutS * 1000;
  await ensureDatabase();
  const pools = {
    producer: new pg.Pool({ connectionString: DATABASE_URL, max: 4 }),
    // One connection per running handler, as a feature's pool must offer its consumer.
    consumer: new pg.Pool({ connectionString: DATABASE_URL, max: o.consumers * o.concurrency + 2 }),
  };
  // An idle client losing its connection must fail the run through its next query, not crash it.
  for (const pool of Object.values(pools)) pool.on('error', () => {});
  try {
    const steady = await runPhase('steady', o, pools, deadline);
    const burst = o.burst && !steady.timedOut ? await runPhase('burst', o, pools, deadline) : null;
    const problem = integrityProblem(steady, o) ?? (burst ? integrityProblem(burst, o) : null);
    const p99 = percentile(steady.latencies, 99);
    return {
      steady,
      burst,
      problem,
      p99,
      achievedRate: perSecond(steady.written, steady.writeMs),
      passed: !problem && p99 < TARGET_P99_MS,
    };
  } finally {
    await Promise.all([pools.producer.end(), pools.consumer.end()]);
  }
}
