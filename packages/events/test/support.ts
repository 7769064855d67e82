import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import {
  createEvent,
  firstDeliveries,
  firstDelivery,
  inboxTableSql,
  inTransaction,
  outboxTableSql,
  pgExec,
  pgRows,
  type EventBus,
  type EventEnvelope,
  type EventMap,
  type Topic,
} from '../src/index.js';

const base = process.env.PG_BASE_URL ?? 'postgresql://postgres@127.0.0.1:5432';
export const TEST_DB_URL = process.env.EVENTS_TEST_DATABASE_URL ?? `${base}/carwash_test_events`;

/** A pool on the bus tests' own database (created on first use). */
export async function testPool(): Promise<pg.Pool> {
  const admin = new pg.Client({ connectionString: `${base}/postgres` });
  await admin.connect();
  try {
    const name = new URL(TEST_DB_URL).pathname.slice(1);
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount)
      await admin.query(`CREATE DATABASE "${name}"`).catch((e: { code?: string }) => {
        if (e.code !== '42P04' && e.code !== '23505') throw e;
      });
  } finally {
    await admin.end();
  }
  return new pg.Pool({ connectionString: TEST_DB_URL, max: 10 });
}

/**
 * One test's own tables: a producer outbox, and for the consumer an inbox plus an effect table
 * where each handled event adds one row (so "exactly once" is a count per event id).
 */
export async function createTables(pool: pg.Pool) {
  const tag = `t${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  await pool.query(outboxTableSql(`${tag}_outbox`));
  await pool.query(inboxTableSql(`${tag}_inbox`));
  await pool.query(
    `CREATE TABLE ${tag}_effects (event_id UUID NOT NULL, aggregate_id UUID NOT NULL, applied_at TIMESTAMPTZ(3) NOT NULL DEFAULT clock_timestamp(), seq BIGSERIAL)`,
  );
  return bindTables(pool, tag);
}

/** The tables of `createTables`, by tag (e.g. from a child process). */
export function bindTables(pool: pg.Pool, tag: string) {
  const outbox = `${tag}_outbox`;
  const inbox = `${tag}_inbox`;
  const effects = `${tag}_effects`;
  return {
    tag,
    outbox,
    inbox,
    effects,
    /** Writes events to the outbox as a feature would (here without a business change). */
    async write(events: readonly EventEnvelope[]): Promise<void> {
      if (events.length === 0) return;
      const values: unknown[] = [];
      const rows = events.map((e, i) => {
        values.push(e.id, e.type, e.version, e.aggregateId, JSON.stringify(e.payload), e.occurredAt);
        const o = i * 6;
        return `($${o + 1}, $${o + 2}, $${o + 3}, $${o + 4}, $${o + 5}::jsonb, $${o + 6})`;
      });
      await pool.query(
        `INSERT INTO ${outbox} (id, topic, version, aggregate_id, payload, occurred_at) VALUES ${rows.join(', ')}`,
        values,
      );
    },
    /** The idempotent effect: inbox row + effect row in one transaction. */
    async apply(
      consumer: string,
      event: EventEnvelope,
      beforeCommit?: () => Promise<void>,
    ): Promise<boolean> {
      return inTransaction(pool, async (client) => {
        const first = await firstDelivery(pgExec(client), inbox, consumer, event);
        if (first)
          await client.query(`INSERT INTO ${effects} (event_id, aggregate_id) VALUES ($1, $2)`, [
            event.id,
            event.aggregateId,
          ]);
        await beforeCommit?.();
        return first;
      });
    },
    /** The batch form of `apply`: every event's inbox row and effect in one transaction (`firstDeliveries`). */
    async applyBatch(consumer: string, events: readonly EventEnvelope[]): Promise<EventEnvelope[]> {
      return inTransaction(pool, async (client) => {
        const fresh = await firstDeliveries(pgRows(client), inbox, consumer, events);
        if (fresh.length)
          await client.query(
            `INSERT INTO ${effects} (event_id, aggregate_id) SELECT * FROM unnest($1::uuid[], $2::uuid[])`,
            [fresh.map((e) => e.id), fresh.map((e) => e.aggregateId)],
          );
        return fresh;
      });
    },
    async effectCounts(): Promise<Map<string, number>> {
      const { rows } = await pool.query<{ event_id: string; n: string }>(
        `SELECT event_id, count(*) AS n FROM ${effects} GROUP BY event_id`,
      );
      return new Map(rows.map((r) => [r.event_id, Number(r.n)]));
    },
    async unpublished(): Promise<number> {
      const { rows } = await pool.query<{ n: string }>(
        `SELECT count(*) AS n FROM ${outbox} WHERE published_at IS NULL`,
      );
      return Number(rows[0]!.n);
    },
    async drop(): Promise<void> {
      await pool.query(`DROP TABLE IF EXISTS ${outbox}, ${inbox}, ${effects}`);
    },
  };
}

export function userDeleted(aggregateId = randomUUID()): EventEnvelope<'auth.user.deleted'> {
  return createEvent('auth', 'auth.user.deleted', aggregateId, { userId: aggregateId });
}

export function event<T extends Topic>(type: T, aggregateId: string, payload: EventMap[T]): EventEnvelope<T> {
  return createEvent(type.slice(0, type.indexOf('.')), type, aggregateId, payload);
}

/** True once `group` has acknowledged everything: nothing pending, nothing undelivered. */
export async function allAcknowledged(bus: EventBus, group: string): Promise<boolean> {
  return (await bus.lag(group)).every((l) => l.pending === 0 && l.undelivered === 0);
}

export async function waitUntil(
  check: () => Promise<boolean> | boolean,
  timeoutMs = 15_000,
  what = 'condition',
  everyMs = 20,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function namespace(): string {
  return `test-${randomUUID().slice(0, 8)}`;
}

/** Deletes every Redis key of a test namespace (streams and dead letters). */
export async function dropNamespace(url: string, ns: string): Promise<void> {
  const redis = new Redis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${ns}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
