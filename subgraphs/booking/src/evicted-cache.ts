import { LRUCache } from 'lru-cache';

/** Most answers one cache keeps (least recently used go first). */
const MAX_ENTRIES = 10_000;

/**
 * A per-process cache of what booking asks its peers (a site's opening windows from location, a
 * user's role and deletion from auth), so the hot paths — availableSlots, createBooking — do not pay a
 * signed peer call per request.
 *
 * Every entry belongs to an `owner` (the site's or the user's id) and is evicted with it when the bus
 * announces a change of that owner (see server.ts: `location.site.changed` / `.closed`,
 * `auth.user.deleted` / `.tokensRevoked`); the TTL bounds staleness when an event is late or consumed by
 * another replica of the group. Only the owner's own facts are stored under the owner's key, and they
 * are fetched on booking's own authority (never with an end user's authorization), so one user's
 * request never sees an answer shaped for someone else.
 *
 * - Concurrent misses of one key share one call (a rush on one site asks location once).
 * - A call that started before an eviction does not store its (possibly stale) answer.
 * - Nulls (unknown to the peer) and failures are not stored: a site created a second later is found.
 * - `ttlMs` 0 turns the cache off: every call goes to the peer.
 */
export class PeerCache<V extends object> {
  private readonly entries: LRUCache<string, V> | null;
  private readonly keysOf = new Map<string, Set<string>>();
  private readonly inFlight = new Map<string, Promise<V | null>>();
  /** Bumped by every eviction: a load that saw another epoch may have read what the eviction announced. */
  private epoch = 0;

  constructor(ttlMs: number, max = MAX_ENTRIES) {
    this.entries =
      ttlMs > 0
        ? new LRUCache<string, V>({
            max,
            ttl: ttlMs,
            dispose: (_value, key) => this.forget(key),
          })
        : null;
  }

  /** The answer under `owner` + `key`, from the cache or from `load` (shared with concurrent callers). */
  async get(owner: string, key: string, load: () => Promise<V | null>): Promise<V | null> {
    if (!this.entries) return load();
    const full = `${owner}|${key}`;
    const hit = this.entries.get(full);
    if (hit) return hit;
    const pending = this.inFlight.get(full);
    if (pending) return pending;
    const epoch = this.epoch;
    const settle = () => {
      if (this.inFlight.get(full) === call) this.inFlight.delete(full);
    };
    const call: Promise<V | null> = load().then(
      (value) => {
        settle();
        if (value && epoch === this.epoch) {
          this.entries!.set(full, value);
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
    );
    this.inFlight.set(full, call);
    return call;
  }

  /** Drops every answer about `owner`, and keeps loads already under way from storing theirs. */
  evict(owner: string): void {
    this.epoch += 1;
    for (const key of [...(this.keysOf.get(owner) ?? [])]) this.entries?.delete(key);
    this.keysOf.delete(owner);
    for (const key of this.inFlight.keys()) if (key.startsWith(`${owner}|`)) this.inFlight.delete(key);
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
