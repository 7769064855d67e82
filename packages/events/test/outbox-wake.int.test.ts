import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createEventBus,
  MIN_WOKEN_PASS_INTERVAL_MS,
  OutboxRelay,
  type EventBus,
  type EventEnvelope,
} from '../src/index.js';
import { createTables, namespace, testPool, userDeleted, waitUntil } from './support.js';

/**
 * The relay woken by `wake()` (a feature's pool calls it after every committed write: the subgraph
 * kit's `onCommittedWrite`, tested there on a real pool). Here the writer wakes it after its commit.
 */

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

async function woken(options: { batchSize?: number; partitions?: number } = {}) {
  const t = await createTables(pool);
  const bus: EventBus = createEventBus({ kind: 'memory', namespace: namespace() });
  let published = 0;
  const relay = new OutboxRelay({
    pool,
    table: t.outbox,
    producer: 'auth',
    bus,
    idleMs: FALLBACK_MS,
    wokenByCommits: true,
    ...options,
    afterPublish: async (events) => void (published += events.length),
    onError: () => undefined,
  });
  relay.start();
  // The first pass (start) has run: only a wake-up starts the next one before the fallback poll.
  await waitUntil(() => relay.passes >= 1, 5_000, 'the first pass');
  return {
    t,
    relay,
    published: () => published,
    /** Writes `events` in one committed transaction, then wakes the relay as the feature's pool would. */
    async write(events: readonly EventEnvelope[]): Promise<void> {
      await t.write(events);
      relay.wake();
    },
    async cleanUp() {
      await relay.stop();
      await bus.close();
      await t.drop();
    },
  };
}

describe('OutboxRelay woken after commits', () => {
  it('relays a committed event at once, long before its fallback poll', async () => {
    const sut = await woken();
    try {
      for (let i = 1; i <= 3; i++) {
        const start = performance.now();
        await sut.write([userDeleted()]);
        await waitUntil(() => sut.published() === i, FALLBACK_MS, 'publication');
        expect(performance.now() - start).toBeLessThan(PROMPT_MS);
      }
    } finally {
      await sut.cleanUp();
    }
  });

  it('drains a burst batch after batch without waiting between them', async () => {
    const sut = await woken({ batchSize: 10 });
    try {
      const start = performance.now();
      await sut.write(Array.from({ length: 95 }, () => userDeleted()));
      await waitUntil(async () => (await sut.t.unpublished()) === 0, FALLBACK_MS, 'the burst to drain');
      expect(performance.now() - start).toBeLessThan(PROMPT_MS * 2);
    } finally {
      await sut.cleanUp();
    }
  });

  it('lets commits that come close together share a pass instead of making one each', async () => {
    const sut = await woken();
    try {
      const before = sut.relay.passes;
      const start = performance.now();
      const commits = 40;
      for (let i = 0; i < commits; i++) await sut.write([userDeleted()]);
      const writing = performance.now() - start;
      await waitUntil(async () => (await sut.t.unpublished()) === 0, FALLBACK_MS, 'every event published');
      const passes = sut.relay.passes - before;
      // A pass per MIN_WOKEN_PASS_INTERVAL_MS of writing at most, the first and the last besides.
      expect(passes).toBeLessThanOrEqual(Math.ceil(writing / MIN_WOKEN_PASS_INTERVAL_MS) + 2);
      expect(passes).toBeLessThan(commits);
    } finally {
      await sut.cleanUp();
    }
  });

  it('runs no pass while nothing wakes it', async () => {
    const sut = await woken();
    try {
      await sut.write([userDeleted()]);
      await waitUntil(() => sut.published() === 1, FALLBACK_MS, 'publication');
      await new Promise((r) => setTimeout(r, 100));
      const settled = sut.relay.passes;
      await new Promise((r) => setTimeout(r, 500));
      expect(sut.relay.passes).toBe(settled);
    } finally {
      await sut.cleanUp();
    }
  });

  it('tries once more shortly when a woken pass found partitions another relay held', async () => {
    const partitions = 4;
    const sut = await woken({ partitions });
    // Another replica's relay in the middle of its pass: it holds every partition's lock.
    const other = await pool.connect();
    try {
      await other.query('BEGIN');
      await other.query(
        `SELECT pg_advisory_xact_lock(hashtext($1), p) FROM generate_series(0, $2::int - 1) AS p`,
        [`outbox:${sut.t.outbox}`, partitions],
      );
      const before = sut.relay.passes;
      const start = performance.now();
      await sut.write([userDeleted()]);
      // The woken pass ended having found every partition held; the other pass ends (its locks go)
      // before the retry MIN_WOKEN_PASS_INTERVAL_MS later. Only that retry can publish in time.
      await waitUntil(() => sut.relay.passes > before, 5_000, 'the woken pass', 1);
      await other.query('COMMIT');
      await waitUntil(() => sut.published() === 1, FALLBACK_MS, 'publication');
      expect(performance.now() - start).toBeLessThan(PROMPT_MS);
    } finally {
      other.release();
      await sut.cleanUp();
    }
  });

  it('stops at once although its fallback poll is far away', async () => {
    const sut = await woken();
    const start = performance.now();
    await sut.cleanUp();
    expect(performance.now() - start).toBeLessThan(PROMPT_MS);
  });
});
