import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createEventBus,
  MIN_WOKEN_PASS_INTERVAL_MS,
  OutboxRelay,
  outboxChannel,
  type EventBus,
} from '../src/index.js';
import { createTables, namespace, TEST_DB_URL, testPool, userDeleted, waitUntil } from './support.js';

/** Far longer than any wait below: an event that arrives in time was not fetched by the fallback poll. */
const FALLBACK_MS = 10_000;
/** What "promptly" means for a woken relay. */
const PROMPT_MS = 1_000;

let pool: pg.Pool;
beforeAll(async () => {
  pool = await testPool();
});
afterAll(async () => {
  await pool?.end();
});

const published = async (table: string): Promise<number> =>
  Number(
    (await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${table} WHERE published_at IS NOT NULL`))
      .rows[0]!.n,
  );

/** A relay woken by its outbox's NOTIFY, on its own LISTEN connection named `app` (to find and kill it). */
async function woken(app: string, idleMs = FALLBACK_MS) {
  const t = await createTables(pool);
  const bus: EventBus = createEventBus({ kind: 'memory', namespace: namespace() });
  const relay = new OutboxRelay({
    pool,
    table: t.outbox,
    producer: 'auth',
    bus,
    idleMs,
    listen: () => new pg.Client({ connectionString: TEST_DB_URL, application_name: app }),
    onError: () => undefined,
  });
  relay.start();
  await waitUntil(() => relay.listening, 5_000, 'the relay to LISTEN');
  return {
    t,
    relay,
    /** Ms from a committed write of one event to its row marked published. */
    async deliveryMs(): Promise<number> {
      const before = await published(t.outbox);
      const start = performance.now();
      await t.write([userDeleted()]);
      await waitUntil(async () => (await published(t.outbox)) === before + 1, FALLBACK_MS, 'publication');
      return performance.now() - start;
    },
    async cleanUp() {
      await relay.stop();
      await bus.close();
      await t.drop();
    },
  };
}

describe('OutboxRelay woken by NOTIFY', () => {
  it('relays a committed event at once, long before its fallback poll', async () => {
    const sut = await woken(`relay-prompt-${process.pid}`);
    try {
      // The pass the connection's opening triggered has run: only a notification can wake the relay now.
      await new Promise((r) => setTimeout(r, 200));
      for (let i = 0; i < 3; i++) expect(await sut.deliveryMs()).toBeLessThan(PROMPT_MS);
    } finally {
      await sut.cleanUp();
    }
  });

  it('publishes nothing of a rolled-back transaction, and its NOTIFY never reaches a listener', async () => {
    const sut = await woken(`relay-rollback-${process.pid}`);
    const probe = new pg.Client({ connectionString: TEST_DB_URL });
    await probe.connect();
    const heard: string[] = [];
    probe.on('notification', (m) => heard.push(m.channel));
    await probe.query(`LISTEN ${outboxChannel(sut.t.outbox)}`);
    try {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const e = userDeleted();
        await client.query(
          `INSERT INTO ${sut.t.outbox} (id, topic, version, aggregate_id, payload) VALUES ($1, $2, $3, $4, $5)`,
          [e.id, e.type, e.version, e.aggregateId, JSON.stringify(e.payload)],
        );
        await client.query('ROLLBACK');
      } finally {
        client.release();
      }
      await new Promise((r) => setTimeout(r, 300));
      expect(heard).toEqual([]);
      expect(await sut.deliveryMs()).toBeLessThan(PROMPT_MS);
      expect(heard).toEqual([sut.t.outbox]);
      const { rows } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${sut.t.outbox}`);
      expect(Number(rows[0]!.n)).toBe(1);
      expect(await published(sut.t.outbox)).toBe(1);
    } finally {
      await probe.end();
      await sut.cleanUp();
    }
  });

  it('opens its LISTEN connection again after pg_terminate_backend, delivering what was written meanwhile', async () => {
    const app = `relay-terminated-${process.pid}`;
    const sut = await woken(app);
    try {
      await new Promise((r) => setTimeout(r, 200));
      const killed = await pool.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
        [app],
      );
      expect(killed.rowCount).toBe(1);
      // Written while no connection listens: the reopened connection's first pass takes it.
      const meanwhile = sut.deliveryMs();
      await waitUntil(() => !sut.relay.listening, 5_000, 'the relay to notice');
      expect(await meanwhile).toBeLessThan(FALLBACK_MS);
      await waitUntil(() => sut.relay.listening, 5_000, 'the relay to LISTEN again');
      await new Promise((r) => setTimeout(r, 200));
      // Woken by NOTIFY again, not by the fallback poll.
      for (let i = 0; i < 3; i++) expect(await sut.deliveryMs()).toBeLessThan(PROMPT_MS);
      expect(await sut.t.unpublished()).toBe(0);
    } finally {
      await sut.cleanUp();
    }
  }, 30_000);

  it('drains a burst batch after batch without waiting between them', async () => {
    const t = await createTables(pool);
    const bus = createEventBus({ kind: 'memory', namespace: namespace() });
    const relay = new OutboxRelay({
      pool,
      table: t.outbox,
      producer: 'auth',
      bus,
      batchSize: 10,
      idleMs: FALLBACK_MS,
      listen: () => new pg.Client({ connectionString: TEST_DB_URL }),
    });
    try {
      relay.start();
      await waitUntil(() => relay.listening, 5_000, 'the relay to LISTEN');
      const start = performance.now();
      await t.write(Array.from({ length: 95 }, () => userDeleted()));
      await waitUntil(async () => (await t.unpublished()) === 0, FALLBACK_MS, 'the burst to drain');
      expect(performance.now() - start).toBeLessThan(PROMPT_MS * 2);
    } finally {
      await relay.stop();
      await bus.close();
      await t.drop();
    }
  });

  it('lets commits that come close together share a pass instead of making one each', async () => {
    const t = await createTables(pool);
    const bus = createEventBus({ kind: 'memory', namespace: namespace() });
    let passes = 0;
    const relay = new OutboxRelay({
      pool,
      table: t.outbox,
      producer: 'auth',
      bus,
      idleMs: FALLBACK_MS,
      listen: () => new pg.Client({ connectionString: TEST_DB_URL }),
      afterPublish: async () => void (passes += 1),
    });
    try {
      relay.start();
      await waitUntil(() => relay.listening, 5_000, 'the relay to LISTEN');
      const start = performance.now();
      const commits = 40;
      for (let i = 0; i < commits; i++) await t.write([userDeleted()]);
      const writing = performance.now() - start;
      await waitUntil(async () => (await t.unpublished()) === 0, FALLBACK_MS, 'every event published');
      // A pass per MIN_WOKEN_PASS_INTERVAL_MS of writing at most, the first and the last besides.
      expect(passes).toBeLessThanOrEqual(Math.ceil(writing / MIN_WOKEN_PASS_INTERVAL_MS) + 2);
      expect(passes).toBeLessThan(commits);
    } finally {
      await relay.stop();
      await bus.close();
      await t.drop();
    }
  });

  it('stops at once although its fallback poll is far away', async () => {
    const sut = await woken(`relay-stop-${process.pid}`);
    const start = performance.now();
    await sut.cleanUp();
    expect(performance.now() - start).toBeLessThan(PROMPT_MS);
  });
});
