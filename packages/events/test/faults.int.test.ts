import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventBus, OutboxRelay, streamKey, type EventBus } from '../src/index.js';
import {
  allAcknowledged,
  createTables,
  dropNamespace,
  namespace,
  TEST_DB_URL,
  testPool,
  userDeleted,
  waitUntil,
} from './support.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

let pool: pg.Pool;
beforeAll(async () => {
  pool = await testPool();
});
afterAll(async () => {
  await pool?.end();
});

/** Every event's effect applied exactly once, and nothing left pending or undelivered. */
async function expectExactlyOnce(
  t: Awaited<ReturnType<typeof createTables>>,
  bus: EventBus,
  group: string,
  ids: string[],
): Promise<void> {
  const counts = await t.effectCounts();
  expect(counts.size).toBe(ids.length);
  expect(ids.every((id) => counts.get(id) === 1)).toBe(true);
  const lag = await bus.lag(group);
  expect(lag.length).toBeGreaterThan(0);
  expect(lag.every((l) => l.pending === 0 && l.undelivered === 0)).toBe(true);
  expect(await t.unpublished()).toBe(0);
}

/**
 * A drill's world: fresh outbox/inbox tables, a bus on its own Redis namespace, a consumer group named
 * after the drill, and `count` events waiting in the outbox. `cleanUp` closes and drops all of it.
 */
async function drill(name: string, count: number) {
  const t = await createTables(pool);
  const ns = namespace();
  const group = `${name}-${t.tag}`;
  const bus = createEventBus({ kind: 'redis', url: REDIS_URL, namespace: ns });
  const events = Array.from({ length: count }, () => userDeleted());
  await t.write(events);
  const cleanUp = async () => {
    await bus.close();
    await dropNamespace(REDIS_URL, ns);
    await t.drop();
  };
  return { t, ns, group, bus, ids: events.map((e) => e.id), cleanUp };
}

describe('fault drills on Redis Streams', () => {
  it('a consumer killed (SIGKILL) mid-batch: a live instance reclaims its pending events', async () => {
    const { t, ns, group, bus, ids, cleanUp } = await drill('kill', 200);
    const relay = new OutboxRelay({ pool, table: t.outbox, producer: 'auth', bus });
    while ((await relay.runOnce()) > 0);

    let out = '';
    const child: ChildProcess = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('./fixtures/slow-consumer.ts', import.meta.url))],
      {
        env: {
          ...process.env,
          REDIS_URL,
          EVENTS_NAMESPACE: ns,
          GROUP: group,
          TAG: t.tag,
          DB_URL: TEST_DB_URL,
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    child.stdout!.on('data', (d) => (out += d));
    await waitUntil(
      () => (out.match(/applied/g) ?? []).length >= 30,
      20_000,
      'the doomed consumer to apply 30 effects',
    );
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    const appliedBeforeKill = (out.match(/applied/g) ?? []).length;
    const [before] = await bus.lag(group);
    expect(before!.pending).toBeGreaterThan(0); // delivered to the dead consumer, never acknowledged

    const survivor = await bus.consume({
      group,
      consumer: 'survivor',
      blockMs: 50,
      retryBaseMs: 200,
      retryMaxMs: 400,
      handlers: { 'auth.user.deleted': async (e) => void (await t.apply(group, e)) },
    });
    await waitUntil(
      async () => (await t.effectCounts()).size === 200 && (await allAcknowledged(bus, group)),
      20_000,
      'recovery',
    );
    await survivor.stop();
    expect(appliedBeforeKill).toBeLessThan(200);
    await expectExactlyOnce(t, bus, group, ids);
    await cleanUp();
  });

  it('the relay dies after XADD and before marking the rows: they are sent again and absorbed', async () => {
    const { t, ns, group, bus, ids, cleanUp } = await drill('relay', 100);
    // The crash: the events are in Redis, the marking transaction never commits.
    const doomed = new OutboxRelay({
      pool,
      table: t.outbox,
      producer: 'auth',
      bus,
      partitions: 1,
      afterPublish: async () => Promise.reject(new Error('relay killed')),
    });
    await expect(doomed.runOnce()).rejects.toThrow('relay killed');
    expect(await t.unpublished()).toBe(100);
    const successor = new OutboxRelay({ pool, table: t.outbox, producer: 'auth', bus, partitions: 1 });
    while ((await successor.runOnce()) > 0);

    const redis = new Redis(REDIS_URL);
    expect(await redis.xlen(streamKey(ns, 'auth'))).toBe(200); // every event twice on the stream
    await redis.quit();

    const consumer = await bus.consume({
      group,
      blockMs: 50,
      retryBaseMs: 100,
      handlers: { 'auth.user.deleted': async (e) => void (await t.apply(group, e)) },
    });
    await waitUntil(async () => allAcknowledged(bus, group), 10_000, 'drain');
    await consumer.stop();
    await expectExactlyOnce(t, bus, group, ids);
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM ${t.inbox}`);
    expect(rows[0].n).toBe(100);
    await cleanUp();
  });

  it('Redis stopped and started again under load: events written meanwhile wait in the outbox, none lost or doubled', async () => {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const dir = mkdtempSync(join(tmpdir(), 'carwash-redis-'));
    // The bus needs Redis to keep what it acknowledged across a restart: append-only file, fsync always.
    const startRedis = () =>
      spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--dir',
          dir,
          '--appendonly',
          'yes',
          '--appendfsync',
          'always',
          '--save',
          '',
        ],
        { stdio: 'ignore' },
      );
    let server = startRedis();
    const url = `redis://127.0.0.1:${port}`;
    const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => 50 });
    probe.on('error', () => {});
    await waitUntil(
      async () =>
        (await probe.connect().then(
          () => true,
          () => false,
        )) || probe.status === 'ready',
      10_000,
      'redis to start',
    );
    probe.disconnect();

    const t = await createTables(pool);
    const group = `restart-${t.tag}`;
    const bus = createEventBus({ kind: 'redis', url, namespace: namespace() });
    const relay = new OutboxRelay({ pool, table: t.outbox, producer: 'auth', bus, idleMs: 10 });
    const consumer = await bus.consume({
      group,
      blockMs: 50,
      retryBaseMs: 200,
      retryMaxMs: 1000,
      handlers: { 'auth.user.deleted': async (e) => void (await t.apply(group, e)) },
    });
    relay.start();

    const ids: string[] = [];
    const writer = (async () => {
      for (let i = 0; i < 60; i++) {
        const batch = Array.from({ length: 25 }, () => userDeleted());
        ids.push(...batch.map((e) => e.id));
        await t.write(batch);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await new Promise((r) => setTimeout(r, 800));
    const stopped = new Promise((r) => server.once('exit', r));
    const admin = new Redis(url, { retryStrategy: () => null });
    admin.on('error', () => {});
    await admin.shutdown().catch(() => {}); // the server closes the connection as it exits
    await stopped;
    await new Promise((r) => setTimeout(r, 1000));
    const waitingInOutbox = await t.unpublished();
    server = startRedis();
    await writer;

    try {
      await waitUntil(
        async () => (await t.unpublished()) === 0 && (await t.effectCounts()).size === ids.length,
        30_000,
        'everything to arrive after the restart',
      );
      await waitUntil(() => allAcknowledged(bus, group), 10_000, 'acks');
      expect(waitingInOutbox).toBeGreaterThan(0);
      await relay.stop();
      await consumer.stop();
      await expectExactlyOnce(t, bus, group, ids);
    } finally {
      await relay.stop();
      await consumer.stop();
      await bus.close();
      server.kill('SIGKILL');
      await t.drop();
    }
  }, 60_000);

  it('Redis without persistence SIGKILLed before any consumer read the events: the relay sends them again, each applied once', async () => {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const url = `redis://127.0.0.1:${port}`;
    // As the machine's shared Redis runs: nothing is kept across a restart.
    const startRedis = async () => {
      const server = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        { stdio: 'ignore' },
      );
      const probe = new Redis(url, { retryStrategy: () => 50 });
      probe.on('error', () => {});
      await waitUntil(() => probe.status === 'ready', 10_000, 'redis to start');
      probe.disconnect();
      return server;
    };
    let server = await startRedis();
    const t = await createTables(pool);
    const group = `wiped-${t.tag}`;
    const bus = createEventBus({ kind: 'redis', url, namespace: namespace() });
    const replayed: number[] = [];
    const relay = new OutboxRelay({
      pool,
      table: t.outbox,
      producer: 'auth',
      bus,
      idleMs: 10,
      onReplay: (rows) => replayed.push(rows),
    });
    let consumer: { stop(): Promise<void> } | undefined;
    try {
      relay.start();
      const accepted = Array.from({ length: 50 }, () => userDeleted());
      await t.write(accepted);
      // Redis accepted them (the rows say published); no consumer has read them yet.
      await waitUntil(async () => (await t.unpublished()) === 0, 10_000, 'the relay to publish');
      const exited = new Promise((r) => server.once('exit', r));
      server.kill('SIGKILL');
      await exited;
      server = await startRedis();
      const later = Array.from({ length: 50 }, () => userDeleted());
      await t.write(later);
      consumer = await bus.consume({
        group,
        blockMs: 50,
        retryBaseMs: 200,
        handlers: { 'auth.user.deleted': async (e) => void (await t.apply(group, e)) },
      });
      const ids = [...accepted, ...later].map((e) => e.id);
      await waitUntil(
        async () => (await t.effectCounts()).size === ids.length,
        20_000,
        'every event to be applied',
      );
      await waitUntil(() => allAcknowledged(bus, group), 10_000, 'acks');
      await relay.stop();
      await consumer.stop();
      expect(replayed.length).toBeGreaterThan(0);
      expect(replayed[0]).toBeGreaterThanOrEqual(accepted.length);
      await expectExactlyOnce(t, bus, group, ids);
    } finally {
      await relay.stop();
      await consumer?.stop();
      await bus.close();
      server.kill('SIGKILL');
      await t.drop();
    }
  }, 60_000);
});
