import { randomUUID } from 'node:crypto';
import type { Fields, GroupInfo, PendingEntry, StreamBackend, StreamEntry, StreamRead } from './backend.js';

interface Group {
  /** Index of the next entry to deliver. */
  next: number;
  pending: Map<string, { consumer: string; deliveredAt: number; deliveries: number }>;
}

interface Stream {
  entries: Array<{ id: string; fields: Fields }>;
  groups: Map<string, Group>;
}

/**
 * Redis Streams semantics in one process, for the zero-setup mode and as the second implementation
 * the contract suite runs against. Nothing survives a restart: that is the trade of zero setup.
 */
export class MemoryBackend implements StreamBackend {
  private readonly streams = new Map<string, Stream>();
  private readonly waiters = new Set<() => void>();
  private lastMs = 0;
  private seq = 0;

  constructor(private readonly now: () => number = Date.now) {}

  private stream(name: string): Stream {
    let s = this.streams.get(name);
    if (!s) {
      s = { entries: [], groups: new Map() };
      this.streams.set(name, s);
    }
    return s;
  }

  private nextId(): string {
    const ms = this.now();
    if (ms > this.lastMs) {
      this.lastMs = ms;
      this.seq = 0;
    } else {
      this.seq += 1;
    }
    return `${this.lastMs}-${this.seq}`;
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  async append(stream: string, entries: readonly Fields[]): Promise<void> {
    const s = this.stream(stream);
    for (const fields of entries) s.entries.push({ id: this.nextId(), fields: { ...fields } });
    if (entries.length) this.wake();
  }

  async ensureGroup(stream: string, group: string): Promise<void> {
    const s = this.stream(stream);
    if (!s.groups.has(group)) s.groups.set(group, { next: 0, pending: new Map() });
  }

  /**
   * What `take` finds now; if nothing and `blockMs` > 0, what it finds once an append wakes the reader
   * or `blockMs` has passed (XREAD/XREADGROUP's BLOCK).
   */
  private async blockingRead(take: () => StreamEntry[], blockMs: number): Promise<StreamEntry[]> {
    const ready = take();
    if (ready.length || blockMs <= 0) return ready;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, blockMs);
      this.waiters.add(done);
    });
    return take();
  }

  private group(stream: string, group: string): Group {
    const g = this.streams.get(stream)?.groups.get(group);
    if (!g) throw new Error(`NOGROUP no such group ${group} for stream ${stream}`);
    return g;
  }

  async readNew(
    group: string,
    consumer: string,
    { streams, count, blockMs }: StreamRead,
  ): Promise<StreamEntry[]> {
    const take = (): StreamEntry[] => {
      const out: StreamEntry[] = [];
      for (const name of streams) {
        const s = this.stream(name);
        const g = this.group(name, group);
        while (g.next < s.entries.length && out.length < count) {
          const e = s.entries[g.next++]!;
          g.pending.set(e.id, { consumer, deliveredAt: this.now(), deliveries: 1 });
          out.push({ stream: name, id: e.id, fields: { ...e.fields } });
        }
      }
      return out;
    };
    return this.blockingRead(take, blockMs);
  }

  async lastId(stream: string): Promise<string> {
    const entries = this.streams.get(stream)?.entries ?? [];
    return entries[entries.length - 1]?.id ?? '0-0';
  }

  async readAfter(
    _reader: string,
    after: readonly string[],
    { streams, count, blockMs }: StreamRead,
  ): Promise<StreamEntry[]> {
    const newer = (a: string, b: string) => {
      const [am, as] = a.split('-').map(Number) as [number, number];
      const [bm, bs] = b.split('-').map(Number) as [number, number];
      return am > bm || (am === bm && as > bs);
    };
    const take = (): StreamEntry[] => {
      const out: StreamEntry[] = [];
      streams.forEach((name, i) => {
        for (const e of this.stream(name).entries) {
          if (out.length >= count) return;
          if (newer(e.id, after[i]!)) out.push({ stream: name, id: e.id, fields: { ...e.fields } });
        }
      });
      return out;
    };
    return this.blockingRead(take, blockMs);
  }

  async pending(stream: string, group: string, minIdleMs: number, count: number): Promise<PendingEntry[]> {
    const g = this.group(stream, group);
    const now = this.now();
    const out: PendingEntry[] = [];
    for (const [id, p] of g.pending) {
      const idleMs = now - p.deliveredAt;
      if (idleMs >= minIdleMs) out.push({ id, consumer: p.consumer, idleMs, deliveries: p.deliveries });
      if (out.length >= count) break;
    }
    return out;
  }

  async claim(
    stream: string,
    group: string,
    consumer: string,
    minIdleMs: number,
    id: string,
  ): Promise<StreamEntry | null> {
    const g = this.group(stream, group);
    const p = g.pending.get(id);
    if (!p || this.now() - p.deliveredAt < minIdleMs) return null;
    const entry = this.stream(stream).entries.find((e) => e.id === id);
    if (!entry) {
      g.pending.delete(id);
      return null;
    }
    g.pending.set(id, { consumer, deliveredAt: this.now(), deliveries: p.deliveries + 1 });
    return { stream, id, fields: { ...entry.fields } };
  }

  async ack(stream: string, group: string, ids: readonly string[]): Promise<void> {
    const g = this.group(stream, group);
    for (const id of ids) g.pending.delete(id);
  }

  async deadLetter(stream: string, group: string, id: string, dlq: string, fields: Fields): Promise<void> {
    await this.append(dlq, [fields]);
    await this.ack(stream, group, [id]);
  }

  async entry(stream: string, id: string): Promise<Fields | null> {
    const e = this.streams.get(stream)?.entries.find((x) => x.id === id);
    return e ? { ...e.fields } : null;
  }

  async range(stream: string, count: number): Promise<Array<{ id: string; fields: Fields }>> {
    return (this.streams.get(stream)?.entries ?? [])
      .slice(0, count)
      .map((e) => ({ id: e.id, fields: { ...e.fields } }));
  }

  async move(source: string, id: string, target: string, fields: Fields): Promise<void> {
    const s = this.streams.get(source);
    if (s) {
      const i = s.entries.findIndex((e) => e.id === id);
      if (i >= 0) {
        s.entries.splice(i, 1);
        for (const g of s.groups.values()) if (g.next > i) g.next -= 1;
      }
    }
    await this.append(target, [fields]);
  }

  async groupInfo(stream: string, group: string): Promise<GroupInfo | null> {
    const s = this.streams.get(stream);
    const g = s?.groups.get(group);
    if (!s || !g) return null;
    return {
      pending: g.pending.size,
      oldestPendingId: g.pending.keys().next().value ?? null,
      undelivered: s.entries.length - g.next,
    };
  }

  async ping(): Promise<void> {}

  /** One life: the streams live exactly as long as this object. */
  private readonly life = randomUUID();

  async generation(): Promise<string> {
    return this.life;
  }

  async close(): Promise<void> {
    this.wake();
  }
}
