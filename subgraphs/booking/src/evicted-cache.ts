import { LRUCache } from 'lru-cache';

/** Most answers one cache keeps (least recently used go first). */
const MAX_ENTRIES = 10_000;
/** The share of the TTL an entry's lifetime is shortened by, at most (see `entryTtl`). */
const TTL_JITTER = 0.25;

/** A half-open span of time [from, to), in ms since the epoch: what an entry was read over, or what a write changed. */
export interface Span {
  from: number;
  to: number;
}

const overlaps = (a: Span, b: Span) => a.from < b.to && b.from < a.to;

interface Loading<V> {
  call: Promise<V | null>;
  span: Span | undefined;
  /** Set by an eviction that covers this load: what it read may predate the change, so it is not kept. */
  stale: boolean;
}

/**
 * A per-process cache whose entries are evicted by the changes of their `owner` — a site, a user — as
 * the bus or this process's own writes announce them. Booking keeps three: what it asks its peers (a
 * site's opening windows from location, a user's role and deletion from auth), and its own free slots
 * per site-day, so the hot paths (availableSlots, createBooking) pay neither a signed peer call nor the
 * bays' read per request.
 *
 * Every entry belongs to an `owner` and, optionally, to the `span` of time it was read over; an
 * eviction names the owner and, optionally, the span that changed, and drops the owner's entries
 * whose span overlaps it (all of them when either side has none). Who evicts (see server.ts and
 * service.ts): booking's own writes right after they commit, on this replica; the bus's events on every
 * replica (`EventBus.watch`: `booking.reservation.*`, `location.site.changed` / `.closed`,
 * `auth.user.deleted` / `.tokensRevoked`). The TTL bounds staleness when an event is missed (a watcher
 * that was down). An entry holds only facts about its owner that are the same for every caller, read on
 * booking's own authority (never with an end user's authorization), so one user's request never sees
 * an answer shaped for someone else.
 *
 * - Concurrent misses of one key share one load (a rush on one site asks location once).
 * - A load under way when an eviction covers it does not store its (possibly stale) answer, and later
 *   callers do not share it.
 * - Nulls and failures are not stored: a site created a second later is found.
 * - An entry lives between 3/4 of `ttlMs` and `ttlMs` (at random), so entries filled together lapse apart.
 * - `ttlMs` 0 turns the cache off: every call loads.
 */
export class EvictedCache<V extends object> {
  private readonly entries: LRUCache<string, { value: V; span: Span | undefined }> | null;
  private readonly keysOf = new Map<string, Set<string>>();
  private readonly loading = new Map<string, Loading<V>>();

  /** How long an entry is kept at most (0: the cache is off). */
  readonly ttlMs: number;

  constructor(ttlMs: number, max = MAX_ENTRIES) {
    this.ttlMs = Math.max(0, ttlMs);
    this.entries =
      ttlMs > 0
        ? new LRUCache<string, { value: V; span: Span | undefined }>({
            max,
            ttl: ttlMs,
            dispose: (_value, key) => this.forget(key),
          })
        : null;
  }

  /**
   * An entry's own lifetime: between 3/4 of the TTL and the TTL, at random, so that the entries a burst
   * of misses filled together (a restart, a rush on many sites) do not all lapse, and miss, together.
   */
  private entryTtl(): number {
    return Math.max(1, Math.round(this.ttlMs * (1 - Math.random() * TTL_JITTER)));
  }

  /** How long the entry under `owner` + `key` has left, in ms (0 when there is none). */
  remainingTtl(owner: string, key: string): number {
    const full = `${owner}|${key}`;
    return this.entries?.has(full) ? this.entries.getRemainingTTL(full) : 0;
  }

  /** Whether the cache keeps anything (TTL above 0). */
  get enabled(): boolean {
    return this.entries !== null;
  }

  /**
   * The answer under `owner` + `key`, from the cache or from `load` (shared with concurrent callers).
   * `span` is the time the answer was read over, which a write's eviction is matched against.
   */
  async get(owner: string, key: string, load: () => Promise<V | null>, span?: Span): Promise<V | null> {
    if (!this.entries) return load();
    const full = `${owner}|${key}`;
    const hit = this.entries.get(full);
    if (hit) return hit.value;
    const pending = this.loading.get(full);
    if (pending) return pending.call;
    const settle = () => {
      if (this.loading.get(full) === mine) this.loading.delete(full);
    };
    const mine: Loading<V> = {
      span,
      stale: false,
      call: load().then(
        (value) => {
          settle();
          if (value && !mine.stale) {
            this.entries!.set(full, { value, span }, { ttl: this.entryTtl() });
            const keys = this.keysOf.get(owner) ?? new Set<string>();
            keys.add(full);
            this.keysOf.set(owner, keys);
          }
          return value;
        },
        (err: unknown) => {
          settle();
          throw err;
        },
      ),
    };
    this.loading.set(full, mine);
    return mine.call;
  }

  /**
   * Drops the answers about `owner` (those read over a span overlapping `span`, when given), and keeps
   * loads of them already under way from storing theirs.
   */
  evict(owner: string, span?: Span): void {
    const hits = (s: Span | undefined) => !span || !s || overlaps(s, span);
    for (const key of [...(this.keysOf.get(owner) ?? [])])
      if (hits(this.entries?.peek(key)?.span)) this.entries?.delete(key);
    const prefix = `${owner}|`;
    for (const [key, l] of this.loading)
      if (key.startsWith(prefix) && hits(l.span)) {
        l.stale = true;
        this.loading.delete(key);
      }
  }

  /** Entries held (tests and the bench read it). */
  get size(): number {
    return this.entries?.size ?? 0;
  }

  private forget(key: string): void {
    const owner = key.slice(0, key.indexOf('|'));
    const keys = this.keysOf.get(owner);
    if (!keys) return;
    keys.delete(key);
    if (keys.size === 0) this.keysOf.delete(owner);
  }
}
