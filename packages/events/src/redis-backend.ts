import { whenReady } from '@carwash/redis';
import { Redis, type RedisOptions } from 'ioredis';
import type { Fields, GroupInfo, PendingEntry, StreamBackend, StreamEntry, StreamRead } from './backend.js';

/** How long a command waits for a connection still being set up before it is sent anyway. */
const CONNECT_WAIT_MS = 2000;

type RawEntry = [id: string, fields: string[]];

function toFields(flat: string[]): Fields {
  const out: Fields = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}

/** What XREAD and XREADGROUP answer: per stream, its entries (null when BLOCK timed out). */
type StreamsReply = Array<[stream: string, entries: RawEntry[]]>;

function entriesOf(reply: StreamsReply | null): StreamEntry[] {
  const out: StreamEntry[] = [];
  for (const [stream, entries] of reply ?? [])
    for (const [id, flat] of entries) out.push({ stream, id, fields: toFields(flat) });
  return out;
}

function flatten(fields: Fields): string[] {
  return Object.entries(fields).flat();
}

export interface RedisBackendOptions {
  url: string;
  /** Streams are trimmed to about this many entries (`XADD … MAXLEN ~`). */
  maxLen?: number;
}

/**
 * Redis Streams. Commands fail fast while Redis is unreachable (no offline queue): the relay then
 * keeps its outbox rows and retries, rather than holding a database transaction open.
 */
export class RedisBackend implements StreamBackend {
  private readonly redis: Redis;
  private readonly readers = new Map<string, Redis>();
  private readonly maxLen: number;
  private readonly options: RedisOptions;

  constructor(private readonly config: RedisBackendOptions) {
    this.maxLen = config.maxLen ?? 1_000_000;
    this.options = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: (times) => Math.min(times * 100, 2000),
      connectionName: 'carwash-events',
    };
    this.redis = new Redis(config.url, this.options);
    this.redis.on('error', () => {
      // Reconnection is automatic; callers see the failure of their own command.
    });
  }

  /**
   * Waits (briefly) for a connection that is still being set up; a command on a connection that is
   * down then fails at once instead of queueing.
   */
  private connected(client: Redis = this.redis): Promise<void> {
    return whenReady(client, CONNECT_WAIT_MS);
  }

  async append(stream: string, entries: readonly Fields[]): Promise<void> {
    if (entries.length === 0) return;
    await this.connected();
    const pipeline = this.redis.pipeline();
    for (const fields of entries) pipeline.xadd(stream, 'MAXLEN', '~', this.maxLen, '*', ...flatten(fields));
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([err]) => err);
    if (failed) throw failed[0];
  }

  async ensureGroup(stream: string, group: string): Promise<void> {
    await this.connected();
    try {
      await this.redis.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
    } catch (err) {
      if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
    }
  }

  /** A blocking read needs a connection of its own: one per reader name. */
  private readerFor(name: string): Redis {
    let reader = this.readers.get(name);
    if (!reader) {
      reader = new Redis(this.config.url, { ...this.options, connectionName: `carwash-events:${name}` });
      reader.on('error', () => {});
      this.readers.set(name, reader);
    }
    return reader;
  }

  async lastId(stream: string): Promise<string> {
    await this.connected();
    const rows = (await this.redis.xrevrange(stream, '+', '-', 'COUNT', 1)) as RawEntry[];
    return rows[0]?.[0] ?? '0-0';
  }

  /**
   * XREAD (no `group`) or XREADGROUP on the reader's own connection: `ids[i]` is where `streams[i]` is
   * read from (an id, or `>` for a group's new entries).
   */
  private async blockingRead(
    readerName: string,
    group: string | null,
    ids: readonly string[],
    { streams, count, blockMs }: StreamRead,
  ): Promise<StreamEntry[]> {
    const reader = this.readerFor(readerName);
    await this.connected(reader);
    const args = ['COUNT', count, 'BLOCK', blockMs, 'STREAMS', ...streams, ...ids] as const;
    const res = (
      group === null
        ? await reader.xread(...args)
        : await reader.xreadgroup('GROUP', group, readerName, ...args)
    ) as StreamsReply | null;
    return entriesOf(res);
  }

  readAfter(readerName: string, after: readonly string[], read: StreamRead): Promise<StreamEntry[]> {
    return this.blockingRead(readerName, null, after, read);
  }

  readNew(group: string, consumer: string, read: StreamRead): Promise<StreamEntry[]> {
    return this.blockingRead(
      consumer,
      group,
      read.streams.map(() => '>'),
      read,
    );
  }

  async pending(stream: string, group: string, minIdleMs: number, count: number): Promise<PendingEntry[]> {
    await this.connected();
    const rows = (await this.redis.xpending(stream, group, 'IDLE', minIdleMs, '-', '+', count)) as Array<
      [string, string, number, number]
    >;
    return rows.map(([id, consumer, idleMs, deliveries]) => ({ id, consumer, idleMs, deliveries }));
  }

  async claim(
    stream: string,
    group: string,
    consumer: string,
    minIdleMs: number,
    id: string,
  ): Promise<StreamEntry | null> {
    await this.connected();
    const rows = (await this.redis.xclaim(stream, group, consumer, minIdleMs, id)) as Array<RawEntry | null>;
    const row = rows[0];
    return row ? { stream, id: row[0], fields: toFields(row[1]) } : null;
  }

  async ack(stream: string, group: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.connected();
    await this.redis.xack(stream, group, ...ids);
  }

  async deadLetter(stream: string, group: string, id: string, dlq: string, fields: Fields): Promise<void> {
    await this.connected();
    const res = await this.redis
      .multi()
      .xadd(dlq, 'MAXLEN', '~', 100_000, '*', ...flatten(fields))
      .xack(stream, group, id)
      .exec();
    const failed = res?.find(([err]) => err);
    if (failed) throw failed[0];
  }

  async entry(stream: string, id: string): Promise<Fields | null> {
    await this.connected();
    const rows = (await this.redis.xrange(stream, id, id)) as RawEntry[];
    return rows[0] ? toFields(rows[0][1]) : null;
  }

  async range(stream: string, count: number): Promise<Array<{ id: string; fields: Fields }>> {
    await this.connected();
    const rows = (await this.redis.xrange(stream, '-', '+', 'COUNT', count)) as RawEntry[];
    return rows.map(([id, flat]) => ({ id, fields: toFields(flat) }));
  }

  async move(source: string, id: string, target: string, fields: Fields): Promise<void> {
    await this.connected();
    const res = await this.redis
      .multi()
      .xadd(target, 'MAXLEN', '~', this.maxLen, '*', ...flatten(fields))
      .xdel(source, id)
      .exec();
    const failed = res?.find(([err]) => err);
    if (failed) throw failed[0];
  }

  async groupInfo(stream: string, group: string): Promise<GroupInfo | null> {
    await this.connected();
    let groups: unknown[];
    try {
      groups = (await this.redis.xinfo('GROUPS', stream)) as unknown[];
    } catch (err) {
      if (String((err as Error).message).includes('no such key')) return null;
      throw err;
    }
    const info = groups.map((g) => toFields((g as unknown[]).map(String))).find((g) => g.name === group);
    if (!info) return null;
    const summary = (await this.redis.xpending(stream, group)) as [
      number,
      string | null,
      string | null,
      unknown,
    ];
    return {
      pending: Number(info.pending ?? summary[0]),
      oldestPendingId: summary[1] ?? null,
      undelivered: info.lag === undefined || info.lag === '' || info.lag === 'null' ? null : Number(info.lag),
    };
  }

  async ping(): Promise<void> {
    await this.connected();
    await this.redis.ping();
  }

  async generation(): Promise<string> {
    await this.connected();
    const runId = /^run_id:(\w+)/m.exec(await this.redis.info('server'))?.[1];
    if (!runId) throw new Error('Redis INFO server names no run_id');
    return runId;
  }

  async close(): Promise<void> {
    await Promise.all(
      [...this.readers.values(), this.redis].map((r) => r.quit().catch(() => r.disconnect())),
    );
  }
}
