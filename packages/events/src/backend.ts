/**
 * The few stream operations the bus needs, modelled on Redis Streams. `RedisBackend` maps them 1:1 to
 * XADD/XREADGROUP/XPENDING/XCLAIM/XACK; `MemoryBackend` implements the same semantics in-process for
 * the zero-setup mode. The bus logic (retries, back-off, dead letters, groups) is written once on top.
 */
export type Fields = Record<string, string>;

export interface StreamEntry {
  stream: string;
  id: string;
  fields: Fields;
}

export interface PendingEntry {
  id: string;
  consumer: string;
  idleMs: number;
  deliveries: number;
}

export interface GroupInfo {
  pending: number;
  /** Id of the oldest pending entry (its first part is the publication time in ms). */
  oldestPendingId: string | null;
  undelivered: number | null;
}

/** What a blocking read asks for: up to `count` entries of `streams`, waiting up to `blockMs` for some. */
export interface StreamRead {
  streams: readonly string[];
  count: number;
  blockMs: number;
}

export interface StreamBackend {
  append(stream: string, entries: readonly Fields[]): Promise<void>;
  /** Creates the group at the start of the stream if it does not exist (the stream too). */
  ensureGroup(stream: string, group: string): Promise<void>;
  /** New entries for this consumer of `group` (Redis `XREADGROUP … >`). */
  readNew(group: string, consumer: string, read: StreamRead): Promise<StreamEntry[]>;
  /** Pending entries idle for at least `minIdleMs`, oldest first. */
  pending(stream: string, group: string, minIdleMs: number, count: number): Promise<PendingEntry[]>;
  /** Takes over an entry idle for at least `minIdleMs` (counts a delivery); null if another consumer was faster or it is gone. */
  claim(
    stream: string,
    group: string,
    consumer: string,
    minIdleMs: number,
    id: string,
  ): Promise<StreamEntry | null>;
  ack(stream: string, group: string, ids: readonly string[]): Promise<void>;
  /** Id of the stream's newest entry ('0-0' when it is empty or absent): where a watcher starts. */
  lastId(stream: string): Promise<string>;
  /**
   * Entries after `after[i]` in `read.streams[i]`, outside any group (nothing pending, nothing
   * acknowledged): Redis `XREAD`. Every reader sees every entry.
   */
  readAfter(reader: string, after: readonly string[], read: StreamRead): Promise<StreamEntry[]>;
  /** Atomically appends to the dead-letter stream and acknowledges the original. */
  deadLetter(stream: string, group: string, id: string, dlq: string, fields: Fields): Promise<void>;
  entry(stream: string, id: string): Promise<Fields | null>;
  range(stream: string, count: number): Promise<Array<{ id: string; fields: Fields }>>;
  /** Appends `fields` to `target` and deletes `id` from `source`, atomically. */
  move(source: string, id: string, target: string, fields: Fields): Promise<void>;
  groupInfo(stream: string, group: string): Promise<GroupInfo | null>;
  /** Resolves when the backend answers. */
  ping(): Promise<void>;
  /**
   * An id of the backend's current life (Redis: its `run_id`). It changes when the server restarts, after
   * which entries it had accepted may be gone: all of them without persistence, the last second with
   * `appendfsync everysec`.
   */
  generation(): Promise<string>;
  close(): Promise<void>;
}
