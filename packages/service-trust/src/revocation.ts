import { whenReady } from '@carwash/redis';
import { Redis } from 'ioredis';

/**
 * Revocation of access tokens before they expire.
 *
 * Access tokens carry `sub` (user), `sid` (session family) and `ver` (the user's token version). The
 * auth feature revokes in two ways, both written here by auth and read by every verifier:
 *  - a session family: `<namespace>:revocation:session:<sid>` exists → every token of that family is dead
 *    (log-out, refresh-token reuse);
 *  - a user below a version: `<namespace>:revocation:user:<id>` = N → every token of that user with
 *    `ver < N` is dead (password change or reset, role change, deletion); tokens issued afterwards carry N.
 * Keys live for at least the access-token lifetime: after that every token they could refuse has expired.
 * Each write is announced on `<namespace>:revocation`, so verifiers drop their local cache entry at once.
 */
export interface RevocationStore {
  /** The user's minimum valid token version (0: none) and whether the session family is revoked. */
  status(userId: string, sessionId: string): Promise<RevocationStatus>;
  /** Ends every token of one session family. Idempotent. */
  revokeSession(sessionId: string): Promise<void>;
  /** Ends every token of the user with a version below `minVersion`. Monotonic: a lower value never wins. */
  revokeUserBelow(userId: string, minVersion: number): Promise<void>;
  /** Calls `listener` for each revocation announced by any writer (and with `null`: "forget everything"). */
  onRevoked(listener: RevocationListener): void;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface RevocationStatus {
  minVersion: number;
  sessionRevoked: boolean;
}

/** `{ kind: 'user', id }` / `{ kind: 'session', id }`; null after a lost subscription (anything may have changed). */
export type RevocationListener = (revoked: { kind: 'user' | 'session'; id: string } | null) => void;

export interface RevocationStoreOptions {
  /** Prefix shared with the event bus (`EVENTS_NAMESPACE`), so environments sharing a Redis stay apart. */
  namespace: string;
  /**
   * How long a revocation is kept. Must be at least the access-token lifetime (plus clock skew); only the
   * writer (auth) needs it, readers may leave the default.
   */
  ttlSeconds?: number;
}

/** Longest access-token lifetime auth accepts (a day), so a reader-side default is always long enough. */
export const DEFAULT_REVOCATION_TTL_SECONDS = 86_400 + 60;

/**
 * How long a store check may take before the verifier gives up (and refuses: fail closed). Short, since
 * it sits on every authenticated request; a healthy local Redis answers in well under a millisecond.
 */
export const REVOCATION_CHECK_TIMEOUT_MS = 500;

const keysOf = (namespace: string) => ({
  user: (id: string) => `${namespace}:revocation:user:${id}`,
  session: (id: string) => `${namespace}:revocation:session:${id}`,
  channel: `${namespace}:revocation`,
});

function parseAnnouncement(message: string): { kind: 'user' | 'session'; id: string } | undefined {
  const i = message.indexOf(':');
  const kind = message.slice(0, i);
  if (kind !== 'user' && kind !== 'session') return undefined;
  return { kind, id: message.slice(i + 1) };
}

// Raise the user's floor only if higher (events may arrive twice or out of order), then announce it.
const REVOKE_USER_LUA = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local wanted = tonumber(ARGV[1])
if wanted > current then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  redis.call('PUBLISH', KEYS[2], ARGV[3])
  return 1
end
return 0`;

const REVOKE_SESSION_LUA = `
redis.call('SET', KEYS[1], '1', 'EX', ARGV[1])
redis.call('PUBLISH', KEYS[2], ARGV[2])
return 1`;

type ScriptedRedis = Redis & {
  revokeUser(
    userKey: string,
    channel: string,
    minVersion: number,
    ttl: number,
    announcement: string,
  ): Promise<number>;
  revokeSession(sessionKey: string, channel: string, ttl: number, announcement: string): Promise<number>;
};

/**
 * The store shared by every replica of every service. Commands fail fast while Redis is unreachable (no
 * offline queue, short timeout): the verifier then fails closed rather than stalling requests.
 */
export class RedisRevocationStore implements RevocationStore {
  private readonly redis: ScriptedRedis;
  private subscriber: Redis | undefined;
  private readonly listeners: RevocationListener[] = [];
  private readonly keys: ReturnType<typeof keysOf>;
  private readonly ttl: number;

  constructor(
    private readonly url: string,
    options: RevocationStoreOptions,
  ) {
    this.keys = keysOf(options.namespace);
    this.ttl = options.ttlSeconds ?? DEFAULT_REVOCATION_TTL_SECONDS;
    this.redis = new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: REVOCATION_CHECK_TIMEOUT_MS,
      retryStrategy: (times) => Math.min(times * 100, 2000),
      connectionName: 'carwash-revocation',
      // A revocation check per verified request: those issued in one turn of the event loop go out in
      // one write (ioredis's auto-pipelining). The subscriber below keeps a connection of its own.
      enableAutoPipelining: true,
    }) as ScriptedRedis;
    this.redis.on('error', () => {
      // Reconnection is automatic; each caller sees its own command fail.
    });
    this.redis.defineCommand('revokeUser', { numberOfKeys: 2, lua: REVOKE_USER_LUA });
    this.redis.defineCommand('revokeSession', { numberOfKeys: 2, lua: REVOKE_SESSION_LUA });
  }

  /**
   * Waits briefly for a connection still being set up (first requests after start). A connection known
   * to be down (`reconnecting`) fails at once: a dead store must not add a wait to every request.
   */
  private connected(): Promise<void> {
    return whenReady(this.redis, REVOCATION_CHECK_TIMEOUT_MS, { skipWhileReconnecting: true });
  }

  async status(userId: string, sessionId: string): Promise<RevocationStatus> {
    await this.connected();
    const [user, session] = await this.redis.mget(this.keys.user(userId), this.keys.session(sessionId));
    return { minVersion: user ? Number(user) : 0, sessionRevoked: session !== null };
  }

  async revokeSession(sessionId: string): Promise<void> {
    await this.connected();
    await this.redis.revokeSession(
      this.keys.session(sessionId),
      this.keys.channel,
      this.ttl,
      `session:${sessionId}`,
    );
  }

  async revokeUserBelow(userId: string, minVersion: number): Promise<void> {
    await this.connected();
    await this.redis.revokeUser(
      this.keys.user(userId),
      this.keys.channel,
      minVersion,
      this.ttl,
      `user:${userId}`,
    );
  }

  onRevoked(listener: RevocationListener): void {
    this.listeners.push(listener);
    if (this.subscriber) return;
    // A connection in subscriber mode serves nothing else, hence its own. It keeps reconnecting; since
    // announcements sent while it was away are lost, every (re)connection tells listeners to forget all.
    const sub = new Redis(this.url, {
      maxRetriesPerRequest: null,
      retryStrategy: (times) => Math.min(times * 100, 2000),
      connectionName: 'carwash-revocation-sub',
    });
    sub.on('error', () => {});
    sub.on('ready', () => this.listeners.forEach((l) => l(null)));
    sub.on('message', (_channel: string, message: string) => {
      const revoked = parseAnnouncement(message);
      if (revoked) this.listeners.forEach((l) => l(revoked));
    });
    void sub.subscribe(this.keys.channel).catch(() => {});
    this.subscriber = sub;
  }

  async ping(): Promise<void> {
    await this.connected();
    await this.redis.ping();
  }

  async close(): Promise<void> {
    this.subscriber?.disconnect();
    this.redis.disconnect();
  }
}

/**
 * The same semantics in one process, for the zero-setup mode (`EVENT_BUS=memory`). Stores with the same
 * namespace share their data inside a process (the gateway and the subgraphs a test starts see each
 * other's revocations); nothing crosses processes or survives a restart.
 */
export class MemoryRevocationStore implements RevocationStore {
  private static readonly shared = new Map<
    string,
    {
      users: Map<string, { value: number; until: number }>;
      sessions: Map<string, number>;
      listeners: Set<RevocationListener>;
    }
  >();
  private readonly state;
  private readonly own: RevocationListener[] = [];
  private readonly ttlMs: number;

  constructor(
    options: RevocationStoreOptions,
    private readonly now: () => number = Date.now,
  ) {
    let state = MemoryRevocationStore.shared.get(options.namespace);
    if (!state) {
      state = { users: new Map(), sessions: new Map(), listeners: new Set() };
      MemoryRevocationStore.shared.set(options.namespace, state);
    }
    this.state = state;
    this.ttlMs = (options.ttlSeconds ?? DEFAULT_REVOCATION_TTL_SECONDS) * 1000;
  }

  async status(userId: string, sessionId: string): Promise<RevocationStatus> {
    const t = this.now();
    const user = this.state.users.get(userId);
    const session = this.state.sessions.get(sessionId);
    if (user && user.until <= t) this.state.users.delete(userId);
    if (session !== undefined && session <= t) this.state.sessions.delete(sessionId);
    return {
      minVersion: user && user.until > t ? user.value : 0,
      sessionRevoked: session !== undefined && session > t,
    };
  }

  async revokeSession(sessionId: string): Promise<void> {
    this.state.sessions.set(sessionId, this.now() + this.ttlMs);
    this.announce({ kind: 'session', id: sessionId });
  }

  async revokeUserBelow(userId: string, minVersion: number): Promise<void> {
    const { minVersion: current } = await this.status(userId, '');
    if (minVersion <= current) return;
    this.state.users.set(userId, { value: minVersion, until: this.now() + this.ttlMs });
    this.announce({ kind: 'user', id: userId });
  }

  onRevoked(listener: RevocationListener): void {
    this.own.push(listener);
    this.state.listeners.add(listener);
  }

  private announce(revoked: { kind: 'user' | 'session'; id: string }): void {
    for (const l of this.state.listeners) l(revoked);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    for (const l of this.own) this.state.listeners.delete(l);
  }
}

export type RevocationStoreConfig = ({ kind: 'redis'; url: string } | { kind: 'memory' }) &
  RevocationStoreOptions;

/** Redis in every real deployment; in-memory in the single-process zero-setup mode. */
export function createRevocationStore(config: RevocationStoreConfig): RevocationStore {
  return config.kind === 'redis'
    ? new RedisRevocationStore(config.url, config)
    : new MemoryRevocationStore(config);
}

/** Why a token is refused, or null when it is still valid. */
export type RevocationVerdict = 'session' | 'user' | null;

export interface RevocationCheckerOptions {
  /**
   * How long a store answer is reused locally. Announcements evict entries at once; this bounds how
   * stale an entry can be when an announcement is lost (subscriber reconnecting). At most 1000.
   */
  cacheTtlMs?: number;
  /** Entries kept per kind (users, sessions); the oldest go first. Bounds memory under many users. */
  maxEntries?: number;
  now?: () => number;
}

export const REVOCATION_CACHE_TTL_MS = 1000;
export const REVOCATION_CACHE_MAX_ENTRIES = 10_000;

/** Checks tokens against a store, with a short, bounded local cache so a request costs no round trip. */
export interface RevocationChecker {
  /** Throws when the store cannot be asked (the verifier then fails closed). */
  check(userId: string, sessionId: string, version: number): Promise<RevocationVerdict>;
  close(): Promise<void>;
}

/** See `RevocationChecker`. The cache is evicted by the store's announcements and by its TTL. */
export function createRevocationChecker(
  store: RevocationStore,
  options: RevocationCheckerOptions = {},
): RevocationChecker {
  const ttl = Math.min(options.cacheTtlMs ?? REVOCATION_CACHE_TTL_MS, REVOCATION_CACHE_TTL_MS);
  const max = options.maxEntries ?? REVOCATION_CACHE_MAX_ENTRIES;
  const now = options.now ?? Date.now;
  const users = new Map<string, { value: number; at: number }>();
  const sessions = new Map<string, { value: boolean; at: number }>();
  // Bumped by every announcement: an answer fetched across one may predate it, so it is not cached.
  let epoch = 0;
  // Reads in flight, shared by concurrent checks of one user and session (a burst of requests with a
  // cold cache costs one round trip, not one each) — but only while no announcement came in since.
  const inflight = new Map<string, { epoch: number; read: Promise<RevocationStatus> }>();

  store.onRevoked((revoked) => {
    epoch += 1;
    if (revoked === null) {
      users.clear();
      sessions.clear();
    } else {
      (revoked.kind === 'user' ? users : sessions).delete(revoked.id);
    }
  });

  function put<V>(map: Map<string, { value: V; at: number }>, key: string, value: V, at: number): void {
    map.delete(key);
    map.set(key, { value, at });
    // Maps iterate in insertion order: the first key is the oldest entry.
    if (map.size > max) map.delete(map.keys().next().value!);
  }

  return {
    async check(userId, sessionId, version) {
      const t = now();
      const user = users.get(userId);
      const session = sessions.get(sessionId);
      let minVersion: number;
      let sessionRevoked: boolean;
      if (ttl > 0 && user && session && t - user.at < ttl && t - session.at < ttl) {
        minVersion = user.value;
        sessionRevoked = session.value;
      } else if (ttl === 0) {
        ({ minVersion, sessionRevoked } = await store.status(userId, sessionId));
      } else {
        const key = `${userId}\u0000${sessionId}`;
        let pending = inflight.get(key);
        if (!pending || pending.epoch !== epoch) {
          const started = { epoch, read: store.status(userId, sessionId) };
          pending = started;
          inflight.set(key, started);
          // Registered before any caller awaits the read, so this runs first once it settles: a
          // settled read is never joined, and the cache is filled before its callers resume.
          const settle = () => {
            if (inflight.get(key) === started) inflight.delete(key);
          };
          started.read.then((answer) => {
            settle();
            if (epoch === started.epoch) {
              put(users, userId, answer.minVersion, t);
              put(sessions, sessionId, answer.sessionRevoked, t);
            }
          }, settle);
        }
        ({ minVersion, sessionRevoked } = await pending.read);
      }
      if (sessionRevoked) return 'session';
      if (version < minVersion) return 'user';
      return null;
    },
    close: () => store.close(),
  };
}
