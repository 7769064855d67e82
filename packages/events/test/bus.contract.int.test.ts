import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createEventBus,
  inTransaction,
  OutboxRelay,
  type EventBus,
  type EventEnvelope,
} from '../src/index.js';
import {
  allAcknowledged,
  createTables,
  dropNamespace,
  event,
  namespace,
  testPool,
  userDeleted,
  waitUntil,
} from './support.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const fast = { blockMs: 50, retryBaseMs: 50, retryMaxMs: 400 };

let pool: pg.Pool;
beforeAll(async () => {
  pool = await testPool();
});
afterAll(async () => {
  await pool?.end();
});

/** The effect tables each test made, dropped after it (whether it passed or not). */
const made: Array<{ drop(): Promise<void> }> = [];
async function tables() {
  const t = await createTables(pool);
  made.push(t);
  return t;
}

/**
 * A poison event and `n` good ones, and a handler that applies each effect but fails on the poison
 * event while `poisoned()` says so.
 */
async function poisonWorld(tag: string, n: number, poisoned: () => boolean = () => true) {
  const t = await tables();
  const group = `${tag}-${t.tag}`;
  const poison = userDeleted();
  const others = Array.from({ length: n }, () => userDeleted());
  const handle = async (e: EventEnvelope) => {
    if (e.id === poison.id && poisoned()) throw new Error('cannot handle this one');
    await t.apply(group, e);
  };
  return { t, group, poison, others, handle };
}

/** One contract, two implementations: the zero-setup mode must behave like production. */
describe.each([
  ['Redis Streams', (ns: string) => createEventBus({ kind: 'redis', url: REDIS_URL, namespace: ns })],
  ['in-memory', () => createEventBus({ kind: 'memory' })],
] as const)('EventBus contract: %s', (name, makeBus) => {
  // A fresh bus (its own Redis namespace) per test: a new consumer group starts at the beginning of
  // its streams, so tests sharing streams would see each other's events.
  let bus: EventBus;
  let ns: string;
  beforeEach(() => {
    ns = namespace();
    bus = makeBus(ns);
  });
  afterEach(async () => {
    await bus?.close();
    if (name === 'Redis Streams') await dropNamespace(REDIS_URL, ns);
    for (const t of made.splice(0)) await t.drop();
  });

  it('delivers the events of each aggregate in the order they were written to the outbox', async () => {
    const t = await tables();
    const aggregates = [randomUUID(), randomUUID(), randomUUID()];
    const written: EventEnvelope[] = [];
    for (let i = 0; i < 60; i++) {
      const agg = aggregates[i % 3]!;
      written.push(
        event('booking.reservation.statusChanged', agg, {
          reservationId: agg,
          from: `s${i}`,
          to: `s${i + 1}`,
          changedBy: null,
        }),
      );
    }
    await t.write(written);
    const seen = new Map<string, string[]>();
    const consumer = await bus.consume({
      group: `order-${t.tag}`,
      ...fast,
      handlers: {
        'booking.reservation.statusChanged': async (e) => {
          seen.set(e.aggregateId, [...(seen.get(e.aggregateId) ?? []), e.payload.from]);
        },
      },
    });
    // Two relays at once: partitions keep each aggregate with one of them at a time.
    const relays = [1, 2].map(
      () => new OutboxRelay({ pool, table: t.outbox, producer: 'booking', bus, partitions: 4, batchSize: 7 }),
    );
    await Promise.all(
      relays.map(async (r) => {
        while ((await r.runOnce()) > 0);
      }),
    );
    await waitUntil(() => [...seen.values()].reduce((n, l) => n + l.length, 0) === 60, 10_000, 'all events');
    await consumer.stop();
    for (const agg of aggregates) {
      const expected = written
        .filter((e) => e.aggregateId === agg)
        .map((e) => (e.payload as { from: string }).from);
      expect(seen.get(agg)).toEqual(expected);
    }
    expect(await t.unpublished()).toBe(0);
  });

  it('runs handlers of different aggregates at once, but never two of one aggregate, and keeps its order', async () => {
    const aggregates = Array.from({ length: 6 }, () => randomUUID());
    const written = Array.from({ length: 48 }, (_, i) => {
      const agg = aggregates[i % aggregates.length]!;
      return event('booking.reservation.statusChanged', agg, {
        reservationId: agg,
        from: `s${i}`,
        to: `s${i + 1}`,
        changedBy: null,
      });
    });
    const seen = new Map<string, string[]>();
    const running = new Map<string, number>();
    let inFlight = 0;
    let peak = 0;
    let sameAggregateOverlap = false;
    const consumer = await bus.consume({
      group: `lanes-${randomUUID().slice(0, 8)}`,
      ...fast,
      concurrency: 4,
      handlers: {
        'booking.reservation.statusChanged': async (e) => {
          inFlight += 1;
          peak = Math.max(peak, inFlight);
          running.set(e.aggregateId, (running.get(e.aggregateId) ?? 0) + 1);
          if (running.get(e.aggregateId)! > 1) sameAggregateOverlap = true;
          await new Promise((r) => setTimeout(r, 5));
          seen.set(e.aggregateId, [...(seen.get(e.aggregateId) ?? []), e.payload.from]);
          running.set(e.aggregateId, running.get(e.aggregateId)! - 1);
          inFlight -= 1;
        },
      },
    });
    await bus.publish(written);
    await waitUntil(() => [...seen.values()].reduce((n, l) => n + l.length, 0) === 48, 10_000, 'all events');
    await consumer.stop();
    expect(peak).toBe(4);
    expect(sameAggregateOverlap).toBe(false);
    for (const agg of aggregates)
      expect(seen.get(agg)).toEqual(
        written.filter((e) => e.aggregateId === agg).map((e) => (e.payload as { from: string }).from),
      );
  });

  it('refuses a consumer that would handle nothing: no lanes, or a batch handler without its fallback', async () => {
    const handlers = { 'auth.user.deleted': async () => {} };
    await expect(bus.consume({ group: 'bad', handlers, concurrency: 0 })).rejects.toThrow(/concurrency/);
    await expect(bus.consume({ group: 'bad', handlers, concurrency: Number.NaN })).rejects.toThrow(
      /concurrency/,
    );
    await expect(
      bus.consume({
        group: 'bad',
        handlers,
        batchHandlers: { 'auth.session.revoked': async () => {} },
      }),
    ).rejects.toThrow(/fallback/);
  });

  it('applies a run of one topic in one batch transaction: each effect once, each aggregate in order', async () => {
    const t = await tables();
    const group = `batch-${t.tag}`;
    const aggregates = [randomUUID(), randomUUID(), randomUUID()];
    const written = Array.from({ length: 30 }, (_, i) => userDeleted(aggregates[i % 3]!));
    const seen = new Map<string, string[]>();
    const note = (e: EventEnvelope) => seen.set(e.aggregateId, [...(seen.get(e.aggregateId) ?? []), e.id]);
    const batchSizes: number[] = [];
    let oneByOne = 0;
    const consumer = await bus.consume({
      group,
      ...fast,
      handlers: {
        'auth.user.deleted': async (e) => {
          oneByOne += 1;
          if (await t.apply(group, e)) note(e);
        },
      },
      batchHandlers: {
        'auth.user.deleted': async (events) => {
          batchSizes.push(events.length);
          for (const e of await t.applyBatch(group, events)) note(e);
        },
      },
    });
    // The last event twice in one publication (a relay re-send): the inbox absorbs it inside the run.
    await bus.publish([...written, written[29]!]);
    await waitUntil(async () => (await t.effectCounts()).size === 30, 10_000, 'all effects');
    await waitUntil(async () => allAcknowledged(bus, group), 10_000, 'acks');
    await consumer.stop();
    const counts = await t.effectCounts();
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect(Math.max(...batchSizes)).toBeGreaterThan(1);
    expect(batchSizes.reduce((a, b) => a + b, 0) + oneByOne).toBe(31);
    for (const agg of aggregates)
      expect(seen.get(agg)).toEqual(written.filter((e) => e.aggregateId === agg).map((e) => e.id));
  });

  it('falls back one by one when a batch fails: the others apply once, the poison event is dead-lettered alone', async () => {
    const { t, group, poison, others, handle } = await poisonWorld('batchfail', 12);
    const batchErrors: number[] = [];
    const consumer = await bus.consume({
      group,
      ...fast,
      maxDeliveries: 2,
      handlers: { 'auth.user.deleted': handle },
      batchHandlers: {
        'auth.user.deleted': async (events) => {
          // Effects written, then the failure: the rollback must leave nothing behind.
          await inTransaction(pool, async (client) => {
            await client.query(
              `INSERT INTO ${t.effects} (event_id, aggregate_id) SELECT * FROM unnest($1::uuid[], $2::uuid[])`,
              [events.map((e) => e.id), events.map((e) => e.aggregateId)],
            );
            if (events.some((e) => e.id === poison.id)) throw new Error('one bad event in the run');
          });
        },
      },
      onBatchError: (_err, events) => batchErrors.push(events.length),
    });
    await bus.publish([others[0]!, poison, ...others.slice(1)]);
    await waitUntil(async () => (await bus.deadLetters(group)).length === 1, 10_000, 'dead letter');
    await waitUntil(async () => (await t.effectCounts()).size === 12, 10_000, 'the others');
    await consumer.stop();
    expect(batchErrors.length).toBeGreaterThan(0);
    const counts = await t.effectCounts();
    expect(others.every((e) => counts.get(e.id) === 1)).toBe(true);
    expect(counts.has(poison.id)).toBe(false);
    expect((await bus.deadLetters(group))[0]!.event.id).toBe(poison.id);
  });

  it('redelivers an event whose handler failed, and applies its effect exactly once', async () => {
    const t = await tables();
    const events = Array.from({ length: 20 }, () => userDeleted());
    const failOnce = new Set(events.filter((_, i) => i % 4 === 0).map((e) => e.id));
    const group = `retry-${t.tag}`;
    const deliveries = new Map<string, number>();
    const consumer = await bus.consume({
      group,
      ...fast,
      handlers: {
        'auth.user.deleted': async (e, info) => {
          deliveries.set(e.id, info.deliveries);
          // The effect commits, then the handler fails: the redelivery must change nothing.
          await t.apply(group, e);
          if (failOnce.delete(e.id)) throw new Error('transient failure after commit');
        },
      },
    });
    await bus.publish(events);
    await waitUntil(
      async () => (await allAcknowledged(bus, group)) && deliveries.size === 20,
      10_000,
      'acks',
    );
    await consumer.stop();
    const counts = await t.effectCounts();
    expect(counts.size).toBe(20);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect(events.filter((_, i) => i % 4 === 0).every((e) => deliveries.get(e.id) === 2)).toBe(true);
  });

  it('absorbs an event published twice (a relay re-send): one effect', async () => {
    const t = await tables();
    const group = `dup-${t.tag}`;
    const e = userDeleted();
    const consumer = await bus.consume({
      group,
      ...fast,
      handlers: { 'auth.user.deleted': async (ev) => void (await t.apply(group, ev)) },
    });
    await bus.publish([e]);
    await bus.publish([e]);
    await waitUntil(async () => allAcknowledged(bus, group), 10_000, 'acks');
    await consumer.stop();
    expect((await t.effectCounts()).get(e.id)).toBe(1);
  });

  it('dead-letters a poison event after maxDeliveries without blocking the events behind it, and replays it', async () => {
    let healed = false;
    const { t, group, poison, others, handle } = await poisonWorld('poison', 10, () => !healed);
    const attempts = new Map<string, number>();
    const consumer = await bus.consume({
      group,
      ...fast,
      maxDeliveries: 3,
      handlers: {
        'auth.user.deleted': async (e) => {
          attempts.set(e.id, (attempts.get(e.id) ?? 0) + 1);
          await handle(e);
        },
      },
    });
    await bus.publish([poison, ...others]);
    await waitUntil(async () => (await bus.deadLetters(group)).length === 1, 10_000, 'dead letter');
    await waitUntil(async () => (await t.effectCounts()).size === 10, 10_000, 'others');
    expect(attempts.get(poison.id)).toBe(3);
    const [dead] = await bus.deadLetters(group);
    expect(dead).toMatchObject({
      group,
      error: 'cannot handle this one',
      deliveries: 3,
      event: { id: poison.id, type: 'auth.user.deleted' },
    });
    expect((await bus.lag(group)).every((l) => l.pending === 0)).toBe(true);

    healed = true;
    await bus.replayDeadLetter(group, dead!.id);
    await waitUntil(async () => (await t.effectCounts()).get(poison.id) === 1, 10_000, 'replayed effect');
    expect(await bus.deadLetters(group)).toEqual([]);
    await consumer.stop();
  });

  it('leaves a slow but live instance its batch: a sibling does not take it over and run it twice', async () => {
    const t = await tables();
    const group = `slow-${t.tag}`;
    const calls: string[] = [];
    // Each event takes 100 ms: the batch of 5 stays pending 500 ms, ten times the 50 ms retry base.
    const slowly = async (e: EventEnvelope) => {
      calls.push(e.id);
      await new Promise((r) => setTimeout(r, 100));
      await t.apply(group, e);
    };
    const first = await bus.consume({
      group,
      consumer: 'slow',
      ...fast,
      batchSize: 5,
      handlers: { 'auth.user.deleted': slowly },
    });
    await bus.publish(Array.from({ length: 5 }, () => userDeleted()));
    await waitUntil(async () => calls.length > 0, 5_000, 'the first instance to start its batch');
    const sibling = await bus.consume({
      group,
      consumer: 'sibling',
      ...fast,
      handlers: { 'auth.user.deleted': slowly },
    });
    await waitUntil(
      async () => Number((await pool.query(`SELECT count(*) AS n FROM ${t.inbox}`)).rows[0].n) === 5,
      10_000,
      'the batch',
    );
    await new Promise((r) => setTimeout(r, 300));
    await Promise.all([first.stop(), sibling.stop()]);
    expect(calls).toHaveLength(5);
    expect(new Set(calls).size).toBe(5);
  });

  it('gives every consumer group every event, and shares a group between its instances', async () => {
    const t = await tables();
    const events = Array.from({ length: 40 }, () => userDeleted());
    const byInstance = [0, 0];
    const groupA = `a-${t.tag}`;
    const groupB = `b-${t.tag}`;
    const consumers = await Promise.all([
      bus.consume({
        group: groupA,
        consumer: 'a1',
        ...fast,
        batchSize: 5,
        handlers: {
          'auth.user.deleted': async (e) => void ((byInstance[0]! += 1), await t.apply(groupA, e)),
        },
      }),
      bus.consume({
        group: groupA,
        consumer: 'a2',
        ...fast,
        batchSize: 5,
        handlers: {
          'auth.user.deleted': async (e) => void ((byInstance[1]! += 1), await t.apply(groupA, e)),
        },
      }),
      bus.consume({
        group: groupB,
        ...fast,
        handlers: { 'auth.user.deleted': async (e) => void (await t.apply(groupB, e)) },
      }),
    ]);
    await bus.publish(events);
    await waitUntil(
      async () => Number((await pool.query(`SELECT count(*) AS n FROM ${t.inbox}`)).rows[0].n) === 80,
      10_000,
      'both groups',
    );
    await Promise.all(consumers.map((c) => c.stop()));
    expect(byInstance[0]! + byInstance[1]!).toBe(40);
    const { rows } = await pool.query<{ consumer: string; n: string }>(
      `SELECT consumer, count(*) AS n FROM ${t.inbox} GROUP BY consumer`,
    );
    expect(Object.fromEntries(rows.map((r) => [r.consumer, Number(r.n)]))).toEqual({
      [groupA]: 40,
      [groupB]: 40,
    });
  });

  it('gives every watcher every event published after it began, and none from before', async () => {
    const before = userDeleted();
    await bus.publish([before]);
    const seen: string[][] = [[], []];
    const watchers = await Promise.all(
      seen.map((list) =>
        bus.watch({
          blockMs: 50,
          handlers: { 'auth.user.deleted': async (e) => void list.push(e.payload.userId) },
        }),
      ),
    );
    const events = Array.from({ length: 30 }, () => userDeleted());
    await bus.publish(events.slice(0, 10));
    await new Promise((r) => setTimeout(r, 80));
    await bus.publish(events.slice(10));
    await waitUntil(async () => seen.every((l) => l.length >= 30), 10_000, 'both watchers');
    await Promise.all(watchers.map((w) => w.stop()));
    const expected = events.map((e) => e.payload.userId);
    // Each watcher sees all of them, in order, once; the event published before the watch began, never.
    expect(seen[0]).toEqual(expected);
    expect(seen[1]).toEqual(expected);
  });

  it('reports lag: pending count and the age of the oldest pending event', async () => {
    const group = `lag-${randomUUID().slice(0, 8)}`;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const consumer = await bus.consume({
      group,
      ...fast,
      retryBaseMs: 60_000,
      handlers: { 'auth.user.deleted': () => gate },
    });
    await bus.publish([userDeleted(), userDeleted(), userDeleted()]);
    await waitUntil(async () => (await bus.lag(group)).some((l) => l.pending >= 1), 5_000, 'pending');
    await new Promise((r) => setTimeout(r, 120));
    const [lag] = await bus.lag(group);
    expect(lag!.stream).toMatch(/:events:auth$/);
    expect(lag!.pending + (lag!.undelivered ?? 0)).toBe(3);
    expect(lag!.oldestPendingAgeMs).toBeGreaterThanOrEqual(100);
    release();
    await waitUntil(async () => allAcknowledged(bus, group), 5_000, 'drained');
    await consumer.stop();
  });
});
