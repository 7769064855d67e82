import { randomUUID } from 'node:crypto';
import { outboxTableSql } from '@carwash/events';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { countingPool } from '../src/db.js';
import { createFeatureEvents, type FeatureEvents } from '../src/feature-events.js';
import { createLogger } from '../src/logger.js';

/**
 * The relay of a feature woken by the writes committed on the feature's own pool (`onCommittedWrite`),
 * wired as every feature wires it (`createFeatureEvents`), on a real PostgreSQL database of its own.
 */
const base = process.env.PG_BASE_URL ?? 'postgresql://postgres@127.0.0.1:5432';
const DB_URL = process.env.KIT_TEST_DATABASE_URL ?? `${base}/carwash_test_kit_outbox`;
/** Far longer than any wait below: an event published in time was not fetched by the fallback poll. */
const FALLBACK_MS = 10_000;
const PROMPT_MS = 1_000;

let pool: pg.Pool;
let admin: pg.Client;
beforeAll(async () => {
  admin = new pg.Client({ connectionString: `${base}/postgres` });
  await admin.connect();
  const name = new URL(DB_URL).pathname.slice(1);
  if (!(await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount)
    await admin.query(`CREATE DATABASE "${name}"`).catch((e: { code?: string }) => {
      if (e.code !== '42P04' && e.code !== '23505') throw e;
    });
});
afterAll(async () => {
  await admin?.end();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  const until = Date.now() + FALLBACK_MS;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/**
 * A feature of its own (table `<feature>_outbox`) whose relay runs on `pool`, with a 10 s fallback poll;
 * stopped and dropped when the test that made it finishes.
 */
async function feature() {
  const name = `k${randomUUID().replaceAll('-', '').slice(0, 10)}`;
  const table = `${name}_outbox`;
  pool = countingPool(DB_URL, 4, { count: 0 });
  await pool.query(outboxTableSql(table));
  const events: FeatureEvents = createFeatureEvents({
    feature: name,
    pool,
    settings: {
      EVENT_BUS: 'memory',
      REDIS_URL: '',
      EVENTS_NAMESPACE: `test-${name}`,
      OUTBOX_POLL_MS: FALLBACK_MS,
    },
    logger: createLogger(name, 'silent'),
  });
  const { relay } = events;
  onTestFinished(async () => {
    await events.stop();
    await pool.query(`DROP TABLE IF EXISTS ${table}`);
    await pool.end();
  });
  relay.start();
  await waitUntil(() => relay.passes >= 1, 'the first pass');
  const count = async (where: string) =>
    Number((await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${table} WHERE ${where}`)).rows[0]!.n);
  const insert = `INSERT INTO ${table} (id, topic, version, aggregate_id, payload)
    SELECT gen_random_uuid(), 'auth.user.deleted', 1, u, jsonb_build_object('userId', u)
    FROM (SELECT gen_random_uuid() AS u FROM generate_series(1, $1::int)) AS g`;
  return {
    relay,
    table,
    insert,
    published: () => count('published_at IS NOT NULL'),
    unpublished: () => count('published_at IS NULL'),
    /** The relay's passes stay as they are for `ms`. */
    async idleFor(ms: number): Promise<void> {
      const passes = relay.passes;
      await sleep(ms);
      expect(relay.passes).toBe(passes);
    },
  };
}

describe('a feature relay woken by the commits of its pool', () => {
  it('publishes an event committed through the pool in well under a second (fallback 10 s)', async () => {
    const sut = await feature();
    // An explicit transaction, as Prisma's adapter and the kit's inTransaction send it.
    let start = performance.now();
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT 1');
      await client.query(sut.insert, [1]);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    await waitUntil(async () => (await sut.published()) === 1, 'the transaction’s event');
    expect(performance.now() - start).toBeLessThan(PROMPT_MS);
    // One statement outside any transaction (pool.query, its own commit).
    start = performance.now();
    await pool.query(sut.insert, [1]);
    await waitUntil(async () => (await sut.published()) === 2, 'the autocommitted event');
    expect(performance.now() - start).toBeLessThan(PROMPT_MS);
    // A SELECT that writes through a function says so with a leading comment (booking's booking_hold).
    await pool.query(`CREATE FUNCTION ${sut.table}_write() RETURNS int LANGUAGE sql AS $$
        INSERT INTO ${sut.table} (id, topic, version, aggregate_id, payload)
        VALUES (gen_random_uuid(), 'auth.user.deleted', 1, gen_random_uuid(), '{}'); SELECT 1 $$`);
    start = performance.now();
    await pool.query(`/* writes */ SELECT ${sut.table}_write()`);
    await waitUntil(async () => (await sut.published()) === 3, 'the function’s event');
    expect(performance.now() - start).toBeLessThan(PROMPT_MS);
    await pool.query(`DROP FUNCTION ${sut.table}_write()`);
  });

  it('publishes nothing of a rolled-back or failed transaction, and neither wakes the relay', async () => {
    const sut = await feature();
    const client = await pool.connect();
    try {
      const passes = sut.relay.passes;
      await client.query('BEGIN');
      await client.query(sut.insert, [1]);
      await client.query('ROLLBACK');
      // A failed transaction: PostgreSQL answers its COMMIT with ROLLBACK.
      await client.query('BEGIN');
      await client.query(sut.insert, [1]);
      await expect(client.query('SELECT 1/0')).rejects.toThrow();
      expect((await client.query('COMMIT')).command).toBe('ROLLBACK');
      await sleep(300);
      expect(sut.relay.passes).toBe(passes);
    } finally {
      client.release();
    }
    expect(await sut.unpublished()).toBe(0);
    expect(await sut.published()).toBe(0);
  });

  it('drains a burst larger than a batch at once', async () => {
    const sut = await feature();
    const start = performance.now();
    await pool.query(sut.insert, [1_234]);
    await waitUntil(async () => (await sut.unpublished()) === 0, 'the burst to drain');
    expect(performance.now() - start).toBeLessThan(PROMPT_MS * 2);
    expect(await sut.published()).toBe(1_234);
  });

  it('runs no pass under a read-only load, nor after its own passes that published', async () => {
    const sut = await feature();
    await pool.query(sut.insert, [3]);
    await waitUntil(async () => (await sut.published()) === 3, 'publication');
    // Its own pass marked the rows (an UPDATE, committed): that wakes nothing.
    await sleep(100);
    await sut.idleFor(300);
    const passes = sut.relay.passes;
    // Reads: alone, in read-only transactions, with SET and SHOW, in parallel on every connection.
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let i = 0; i < 50; i++) await pool.query(`SELECT count(*) FROM ${sut.table}`);
        const client = await pool.connect();
        try {
          for (let i = 0; i < 20; i++) {
            await client.query('BEGIN');
            await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
            await client.query('  select 1');
            await client.query('SHOW search_path');
            await client.query('COMMIT');
          }
        } finally {
          client.release();
        }
      }),
    );
    await sleep(300);
    expect(sut.relay.passes).toBe(passes);
  });
});
