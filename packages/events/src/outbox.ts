import type pg from 'pg';
import type { EventBus } from './bus.js';
import type { EventEnvelope } from './topics.js';

const IDENT = /^[a-z_][a-z0-9_]*$/;
/** Rows published this recently when the bus is found restarted are sent again (see `replayWindowMs`). */
export const DEFAULT_REPLAY_WINDOW_MS = 5 * 60_000;
/** How often the relay asks the bus whether its backend restarted (one cheap round trip). */
const GENERATION_CHECK_MS = 1_000;
/** The idle relay's pause between polls when nothing wakes it (no `wokenByCommits`): the floor of a publish delay. */
export const DEFAULT_POLL_MS = 50;
/**
 * The idle relay's pause between polls when the commits of its process wake it (`wokenByCommits`): only
 * a fallback, for rows other processes write (a replica without a relay of its own, a CLI).
 */
export const DEFAULT_FALLBACK_POLL_MS = 1_000;
/**
 * The least time from one woken pass's start to the next: commits that arrive closer together share a
 * pass. Without it a steady write load (createBooking's) makes a pass of six statements per commit,
 * where the 50 ms poll took several rows a pass; this caps woken passes at 50 a second, and adds at
 * most this much to an event's delay, only while events keep coming.
 */
export const MIN_WOKEN_PASS_INTERVAL_MS = 20;

/**
 * The BEGIN of the relay's own pass. A pool that wakes the relay after committed writes
 * (`onCommittedWrite` in the subgraph kit) wakes nobody for a transaction begun with it: the pass marks
 * rows published, and waking itself for that would only run an empty pass.
 */
export const QUIET_BEGIN = 'BEGIN /* outbox relay */';

/**
 * Runs `work` in one transaction on a client of `pool`: COMMIT when it resolves, ROLLBACK when it throws
 * (the error is rethrown, a failing ROLLBACK on a broken connection is not what the caller is told), and
 * the client back to the pool either way. The relay, and a consumer writing its inbox row with its
 * effect, need exactly this.
 */
export async function inTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
  begin = 'BEGIN',
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query(begin);
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

export interface OutboxRelayOptions {
  /** The producing feature's own database. */
  pool: pg.Pool;
  /** Its outbox table, e.g. `auth_outbox` (columns: id, topic, version, aggregate_id, payload, occurred_at, published_at, attempts, seq). */
  table: string;
  producer: string;
  bus: EventBus;
  /**
   * Rows are split into partitions by aggregate id; a relay instance takes the partitions it publishes
   * under advisory locks (those no other instance holds, for one pass), so several instances share the
   * work while the events of one aggregate are always published by one instance at a time, in order.
   */
  partitions?: number;
  batchSize?: number;
  /**
   * Pause between polls when the outbox is empty: DEFAULT_FALLBACK_POLL_MS with `wokenByCommits`, else
   * DEFAULT_POLL_MS. With `wokenByCommits` a `wake()` ends the pause, so this bounds only the delay of
   * an event another process wrote.
   */
  idleMs?: number;
  /**
   * True when `wake()` is called after every commit of this process that may have written outbox rows
   * (the feature's pool does it: `onCommittedWrite` in the subgraph kit). The relay then polls only as
   * a fallback, and a pass that took fewer rows than a batch ends a drain (nothing it did not see is
   * left that no wake-up will announce). Idle relays polling every 50 ms cost 11–23 % of each
   * subgraph's CPU (test/bench/results/tuning-dashboard.md).
   */
  wokenByCommits?: boolean;
  onError?: (error: unknown) => void;
  /**
   * A row is marked published once Redis accepted its event, but Redis may lose what it accepted: all of
   * it when it restarts without persistence, the last second with `appendfsync everysec`. Events no
   * consumer had read then are gone while their rows say "published". So when the relay sees the bus's
   * backend restarted (`EventBus.generation` changed), it marks the rows published within this window
   * unpublished and sends them again; consumers' inboxes absorb the ones they had already applied. A
   * consumer group further behind than this when Redis lost its data still misses events: run Redis
   * with an append-only file. Default DEFAULT_REPLAY_WINDOW_MS.
   */
  replayWindowMs?: number;
  /** Told how many rows were marked for sending again after a restart of the bus's backend. */
  onReplay?: (rows: number) => void;
  /** Fault injection for tests: runs after the events reached the bus and before the rows are marked. */
  afterPublish?: (events: readonly EventEnvelope[]) => Promise<void>;
}

interface Row {
  id: string;
  topic: string;
  version: number;
  aggregate_id: string;
  payload: unknown;
  occurred_at: Date;
}

/**
 * Publishes a feature's outbox to the bus. A row is marked published only after the bus accepted it;
 * a relay that dies in between leaves the row unmarked and it is sent again (at least once — the
 * consumers' inboxes absorb the duplicate). While the bus is unreachable rows simply wait, and the
 * relay retries with back-off.
 */
export class OutboxRelay {
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly partitions: number;
  private readonly batchSize: number;
  /** The bus backend's life the relay last saw, and when it looks again. */
  private generation: string | undefined;
  private nextGenerationCheck = 0;
  /** The last pass found a partition another instance held (see `start`). */
  private skippedPartitions = false;

  constructor(private readonly options: OutboxRelayOptions) {
    if (!IDENT.test(options.table)) throw new Error(`invalid outbox table name ${options.table}`);
    this.partitions = options.partitions ?? 8;
    this.batchSize = options.batchSize ?? 500;
  }

  /**
   * One pass: takes every partition no other instance holds (one statement), publishes their oldest
   * `batchSize` unpublished rows in write order and marks them, in one transaction; returns how many
   * events were published. One transaction per pass rather than one per partition: the relay's round
   * trips no longer grow with the partition count, which made it the slow leg under CPU load
   * (test/bench/results/tuning-events.md). Instances take turns on the partitions another holds.
   */
  async runOnce(): Promise<number> {
    try {
      await this.replayIfBusRestarted();
      return await this.publishFreePartitions();
    } finally {
      this.passes += 1;
    }
  }

  /** See `OutboxRelayOptions.replayWindowMs`: after a restart of the bus's backend, recent rows go again. */
  private async replayIfBusRestarted(): Promise<void> {
    if (Date.now() < this.nextGenerationCheck) return;
    this.nextGenerationCheck = Date.now() + GENERATION_CHECK_MS;
    const seen = this.generation;
    this.generation = await this.options.bus.generation();
    if (seen === undefined || seen === this.generation) return;
    const { rowCount } = await this.options.pool.query(
      `UPDATE ${this.options.table} SET published_at = NULL
        WHERE published_at >= now() - make_interval(secs => $1::float8 / 1000)`,
      [this.options.replayWindowMs ?? DEFAULT_REPLAY_WINDOW_MS],
    );
    this.options.onReplay?.(rowCount ?? 0);
  }

  private async publishFreePartitions(): Promise<number> {
    const { pool, table, producer, bus } = this.options;
    return inTransaction(
      pool,
      async (client) => {
        const { rows: locked } = await client.query<{ parts: number[] }>(
          `SELECT coalesce(array_agg(p), '{}') AS parts FROM generate_series(0, $2::int - 1) AS p
          WHERE pg_try_advisory_xact_lock(hashtext($1), p)`,
          [`outbox:${table}`, this.partitions],
        );
        const parts = locked[0]?.parts ?? [];
        this.skippedPartitions = parts.length < this.partitions;
        // Every partition is held by another relay this pass: nothing was written, the COMMIT is a no-op.
        if (parts.length === 0) return 0;
        const { rows } = await client.query<Row>(
          `SELECT id, topic, version, aggregate_id, payload, occurred_at FROM ${table}
          WHERE published_at IS NULL AND (hashtext(aggregate_id::text) & 2147483647) % $1 = ANY($2::int[])
          ORDER BY seq LIMIT $3 FOR UPDATE SKIP LOCKED`,
          [this.partitions, parts, this.batchSize],
        );
        if (rows.length === 0) return 0;
        const events = rows.map(
          (r): EventEnvelope =>
            ({
              id: r.id,
              type: r.topic,
              version: r.version,
              aggregateId: r.aggregate_id,
              occurredAt: r.occurred_at.toISOString(),
              producer,
              payload: r.payload,
            }) as EventEnvelope,
        );
        await bus.publish(events);
        await this.options.afterPublish?.(events);
        await client.query(
          `UPDATE ${table} SET published_at = now(), attempts = attempts + 1 WHERE id = ANY($1::uuid[])`,
          [rows.map((r) => r.id)],
        );
        return rows.length;
      },
      QUIET_BEGIN,
    );
  }

  /**
   * Publishes until `stop()`: a pass, then another at once while passes find work (a burst drains
   * batch after batch), else a pause of `idleMs` that `wake()` ends early. A wake-up that arrives during
   * a pass makes the next pass start without a pause, so none is lost between the pass's SELECT and the
   * wait. A woken pass that found a partition held by another instance's pass (which may have begun
   * before the commit that woke this one, and missed its row) runs once more after
   * MIN_WOKEN_PASS_INTERVAL_MS, rather than leaving that row to the fallback poll.
   */
  start(): void {
    if (this.running) return;
    this.running = true;
    const { wokenByCommits = false, onError } = this.options;
    const idleMs = this.options.idleMs ?? (wokenByCommits ? DEFAULT_FALLBACK_POLL_MS : DEFAULT_POLL_MS);
    this.loop = (async () => {
      let failures = 0;
      let wokenPass = false;
      let retried = false;
      while (this.running) {
        try {
          // Cleared before the pass reads: what commits after this point wakes the next pass.
          this.woken = false;
          const passStarted = performance.now();
          const n = await this.runOnce();
          failures = 0;
          // Woken by every commit, a pass that took fewer rows than a batch left none behind that a later
          // wake-up will not announce; polling only, only an empty pass shows the outbox is drained.
          const drained = wokenByCommits ? n < this.batchSize : n === 0;
          if (!drained) {
            retried = false;
            continue;
          }
          if (wokenByCommits && wokenPass && this.skippedPartitions && !retried && !this.woken) {
            retried = true;
            await this.pause(MIN_WOKEN_PASS_INTERVAL_MS, false);
            continue;
          }
          retried = false;
          wokenPass = await this.pause(idleMs);
          const early = MIN_WOKEN_PASS_INTERVAL_MS - (performance.now() - passStarted);
          if (wokenByCommits && early > 0) await this.pause(early, false);
        } catch (err) {
          failures += 1;
          onError?.(err);
          await this.pause(Math.min(5000, 100 * 2 ** Math.min(failures, 6)), false);
        }
      }
    })();
  }

  /** Passes ended (tests count them: a read-only load must not wake the relay). */
  passes = 0;

  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
  }

  /** Set by `wake()` since the current pass began (see `start`). */
  private woken = false;
  private wakeUp: (() => void) | undefined;

  /**
   * Something may have been written to the outbox: the idle relay starts a pass now (at most one every
   * MIN_WOKEN_PASS_INTERVAL_MS), a busy one makes another after the current. Cheap and synchronous.
   */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /**
   * Waits `ms`, or less when `wakeable` and `wake()` is called (or already was), or until `stop()`;
   * true when a wake-up ended it.
   */
  private async pause(ms: number, wakeable = true): Promise<boolean> {
    if (!this.running) return false;
    if (wakeable && this.woken) return true;
    return new Promise<boolean>((resolve) => {
      const done = (woken: boolean) => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve(woken);
      };
      const timer = setTimeout(() => done(false), ms);
      this.wakeUp = () => {
        if (wakeable || !this.running) done(this.running);
      };
    });
  }
}

/** Runs one SQL statement with positional parameters and returns the affected row count. */
export type SqlExec = (sql: string, values: unknown[]) => Promise<number>;

/**
 * Call inside the transaction that applies an event's effect: true the first time this consumer sees
 * the event, false for a redelivery (then skip the effect). The inbox row commits or rolls back with
 * the effect, so an effect can never be applied twice nor recorded without being applied.
 */
export async function firstDelivery(
  exec: SqlExec,
  inboxTable: string,
  consumer: string,
  event: Pick<EventEnvelope, 'id' | 'type'>,
): Promise<boolean> {
  if (!IDENT.test(inboxTable)) throw new Error(`invalid inbox table name ${inboxTable}`);
  const inserted = await exec(
    `INSERT INTO ${inboxTable} (consumer, event_id, topic) VALUES ($1, $2::uuid, $3) ON CONFLICT DO NOTHING`,
    [consumer, event.id, event.type],
  );
  return inserted === 1;
}

/** Runs one SQL statement with positional parameters and returns its rows. */
export type SqlRows = (sql: string, values: unknown[]) => Promise<ReadonlyArray<Record<string, unknown>>>;

/**
 * `SqlExec` and `SqlRows` on a pg client (e.g. the one `inTransaction` hands out), for a consumer that
 * writes its effects with pg; a feature on Prisma passes its transaction's `$executeRawUnsafe` instead.
 */
export const pgExec =
  (client: pg.ClientBase): SqlExec =>
  async (sql, values) =>
    (await client.query(sql, values)).rowCount ?? 0;
export const pgRows =
  (client: pg.ClientBase): SqlRows =>
  async (sql, values) =>
    (await client.query(sql, values)).rows;

/**
 * `firstDelivery` for a batch handler: inserts the inbox rows of all `events` with one statement, in the
 * transaction that applies their effects, and returns the events seen for the first time — in their
 * order, each id once (a relay re-send can put one event twice in a run) — whose effects to apply.
 */
export async function firstDeliveries<E extends Pick<EventEnvelope, 'id' | 'type'>>(
  query: SqlRows,
  inboxTable: string,
  consumer: string,
  events: readonly E[],
): Promise<E[]> {
  if (!IDENT.test(inboxTable)) throw new Error(`invalid inbox table name ${inboxTable}`);
  if (events.length === 0) return [];
  const rows = await query(
    `INSERT INTO ${inboxTable} (consumer, event_id, topic)
     SELECT $1, id, topic FROM unnest($2::uuid[], $3::varchar[]) AS t(id, topic)
     ON CONFLICT DO NOTHING RETURNING event_id`,
    [consumer, events.map((e) => e.id), events.map((e) => e.type)],
  );
  // PostgreSQL prints uuids in lower case; an id written otherwise must still match its row.
  const fresh = new Set(rows.map((r) => String(r.event_id).toLowerCase()));
  return events.filter((e) => fresh.delete(e.id.toLowerCase()));
}

/** The DDL of an outbox table (what each feature's Prisma schema declares), for tests and new features. */
export function outboxTableSql(table: string): string {
  return `CREATE TABLE ${table} (
  id UUID PRIMARY KEY,
  topic VARCHAR(128) NOT NULL,
  version INTEGER NOT NULL,
  aggregate_id UUID NOT NULL,
  payload JSONB NOT NULL,
  occurred_at TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  published_at TIMESTAMPTZ(3),
  attempts INTEGER NOT NULL DEFAULT 0,
  seq BIGSERIAL NOT NULL UNIQUE
);
CREATE INDEX ${table}_unpublished_idx ON ${table} (seq) WHERE published_at IS NULL;`;
}

/** The DDL of an inbox table, for features to put in a migration. */
export function inboxTableSql(table: string): string {
  return `CREATE TABLE ${table} (
  consumer VARCHAR(64) NOT NULL,
  event_id UUID NOT NULL,
  topic VARCHAR(128) NOT NULL,
  processed_at TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT ${table}_pkey PRIMARY KEY (consumer, event_id)
);`;
}
