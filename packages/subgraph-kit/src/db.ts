import { PrismaPg } from '@prisma/adapter-pg';
import { QUIET_BEGIN } from '@carwash/events';
import pg from 'pg';

/** Counts the SQL statements a pool sends; tests read it to prove batching. One increment per query. */
export interface StatementCounter {
  count: number;
}

/**
 * A pg pool whose clients count every statement into `counter`, and tell the pool's `onCommittedWrite`
 * listeners after each write committed on them (see `watchWrites`). Each feature creates its own (its
 * own database), hands it to Prisma's driver adapter, and exports the counter for its tests.
 */
export function countingPool(url: string, max: number, counter: StatementCounter): pg.Pool {
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const listener of listeners) listener();
  };
  class CountingClient extends pg.Client {
    private readonly writes = new WriteWatch(notify);
    override query(...args: unknown[]): never {
      counter.count += 1;
      return this.writes.around(args, (super.query as (...a: unknown[]) => never).bind(this));
    }
  }
  const pool = new pg.Pool({
    connectionString: url,
    max,
    Client: CountingClient as unknown as typeof pg.Client,
  });
  survivesDroppedConnections(pool);
  writeListeners.set(pool, listeners);
  return pool;
}

const writeListeners = new WeakMap<pg.Pool, Set<() => void>>();

/**
 * Calls `listener` after every write that commits on a client of `pool` (a `countingPool`; undefined for
 * another pool, which tells nobody), and returns how to stop. The outbox relay of the feature listens:
 * its writers and its relay share the pool, so a committed event wakes the relay in the same process
 * with no cost in the writer's commit (PostgreSQL's NOTIFY serialised every commit that sent one).
 * Listeners run synchronously, once the COMMIT's answer arrived: they must only schedule work.
 */
export function onCommittedWrite(pool: pg.Pool, listener: () => void): (() => void) | undefined {
  const listeners = writeListeners.get(pool);
  if (!listeners) return undefined;
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * A statement that begins with one of these words (after white space, any case) reads: it never wakes
 * anyone. Anything else is taken for a write: INSERT, UPDATE, DELETE, WITH (a CTE may write), CALL,
 * and a statement opening with a comment — which is how a SELECT that writes through a function (booking's
 * `booking_hold`) says so. A read taken for a write costs one relay pass; a write taken for a read
 * would wait for the fallback poll, hence the short list.
 */
const READ = /^\s*(?:SELECT|SHOW|SET|SAVEPOINT|RELEASE)\b/i;
const BEGIN = /^\s*(?:BEGIN|START\s+TRANSACTION)\b/i;
const COMMIT = /^\s*(?:COMMIT|END)\b/i;
/** ROLLBACK and ABORT end the transaction; ROLLBACK TO (a savepoint) does not. */
const ROLLBACK = /^\s*(?:ROLLBACK|ABORT)\b(?!\s+(?:WORK\s+|TRANSACTION\s+)?TO\b)/i;
const textOf = (arg: unknown): string | undefined =>
  typeof arg === 'string'
    ? arg
    : typeof (arg as { text?: unknown } | null)?.text === 'string'
      ? (arg as { text: string }).text
      : undefined;

/**
 * One client's transaction state, for `countingPool`: which committed statements wrote. The rule: a
 * transaction begun explicitly wakes on its successful COMMIT when it ran a statement that is not a
 * read (`READ`); outside a transaction a write wakes once it succeeded (it committed on its own); a
 * ROLLBACK, a failed statement, or a COMMIT that PostgreSQL answers with ROLLBACK (the transaction had
 * failed) wakes nobody. A read costs one anchored regex test and nothing else.
 */
class WriteWatch {
  /** 0 outside a transaction, 1 in one begun with QUIET_BEGIN (the relay's own: never wakes), 2 in one that wrote nothing yet, 3 wrote. */
  private state: 0 | 1 | 2 | 3 = 0;

  constructor(private readonly notify: () => void) {}

  around(args: unknown[], send: (...a: unknown[]) => never): never {
    const text = textOf(args[0]);
    if (text === undefined || READ.test(text)) return send(...args);
    if (BEGIN.test(text)) {
      this.state = text === QUIET_BEGIN ? 1 : 2;
      return send(...args);
    }
    if (ROLLBACK.test(text)) {
      this.state = 0;
      return send(...args);
    }
    const committing = COMMIT.test(text);
    if (committing) {
      const wrote = this.state === 3;
      this.state = 0;
      if (!wrote) return send(...args);
    } else if (this.state !== 0) {
      if (this.state === 2) this.state = 3;
      return send(...args);
    }
    // A COMMIT of a transaction that wrote, or a write outside any: tell the listeners once it succeeded.
    const done = (result: unknown) => {
      if (!committing || (result as { command?: unknown } | undefined)?.command === 'COMMIT') this.notify();
    };
    const last = args.length - 1;
    const callback = args[last];
    if (typeof callback === 'function') {
      args[last] = (err: unknown, result: unknown) => {
        if (!err) done(result);
        return (callback as (e: unknown, r: unknown) => unknown)(err, result);
      };
      return send(...args);
    }
    const sent = send(...args) as unknown;
    if (sent && typeof (sent as PromiseLike<unknown>).then === 'function')
      (sent as Promise<unknown>).then(done, () => undefined);
    return sent as never;
  }
}

/**
 * A connection PostgreSQL drops (a restart, `pg_terminate_backend`, a network cut) makes its client emit
 * `error` when no query is running on it — an idle client in the pool, or one checked out between two
 * statements (the outbox relay holds one while it publishes to the bus). Without a listener that event
 * is an uncaught exception that kills the whole process. The pool already removes a broken idle client,
 * and a checked-out one fails its holder's next statement (which is reported there) and is discarded on
 * release, so listening is all that is needed: the process lives and the pool opens new connections.
 */
function survivesDroppedConnections(pool: pg.Pool): void {
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
}

/** A feature's generated Prisma client class, which runs on a driver adapter. */
export type PrismaClientClass<Db> = new (options: { adapter: PrismaPg }) => Db;

/** What a feature's `db.ts` exports: the statement counter its tests read, and how its server opens the database. */
export interface FeatureDatabase<Db> {
  /** SQL statements sent by this feature's pool; tests read it to prove batching ("100 references → 1 statement"). */
  sqlStatements: StatementCounter;
  /** The feature's Prisma client on a counting pool of `poolSize` connections to `url`. */
  createDb(url: string, poolSize: number): { db: Db; pool: pg.Pool };
}

/**
 * The database wiring of one feature, written once: its own generated client (`Client`, the only thing
 * a feature's `db.ts` states) on a pool that counts every statement.
 */
export function featureDatabase<Db>(Client: PrismaClientClass<Db>): FeatureDatabase<Db> {
  const sqlStatements: StatementCounter = { count: 0 };
  return {
    sqlStatements,
    createDb: (url, poolSize) => {
      const pool = countingPool(url, poolSize, sqlStatements);
      return { db: new Client({ adapter: new PrismaPg(pool) }), pool };
    },
  };
}

/**
 * `err` and its causes, depth first, each object once. pg, @prisma/adapter-pg and Prisma nest the error
 * that carries the PostgreSQL code under different names (`cause`, `meta`, `originalError`,
 * `driverAdapterError`, an AggregateError's `errors`).
 */
function* causes(err: unknown): Generator<Record<string, unknown>> {
  const seen = new Set<unknown>();
  const stack: unknown[] = [err];
  while (stack.length) {
    const e = stack.pop();
    if (!e || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    const o = e as Record<string, unknown>;
    yield o;
    stack.push(o.cause, o.meta, o.originalError, o.driverAdapterError);
    if (Array.isArray(o.errors)) stack.push(...(o.errors as unknown[]));
  }
}

/** The string codes an error object carries: PostgreSQL's SQLSTATE, Prisma's Pxxxx, a socket's Exxx. */
function codesOf(o: Record<string, unknown>): string[] {
  return [o.code, o.originalCode].filter((v): v is string => typeof v === 'string');
}

const SQLSTATE = /^[0-9A-Z]{5}$/;

/** The PostgreSQL error code (e.g. 23P01 exclusion violation) behind a Prisma or pg error, if any. */
export function pgErrorCode(err: unknown): string | undefined {
  for (const o of causes(err)) {
    const code = codesOf(o).find((v) => SQLSTATE.test(v) && !v.startsWith('P'));
    if (code) return code;
  }
  const text = err instanceof Error ? err.message : '';
  return /\b(23P01|23505|23514|23503|40P01|40001)\b/.exec(text)?.[1];
}

/**
 * SQLSTATEs of a connection PostgreSQL lost or refused: class 08 (connection exception), 57P01
 * admin_shutdown (`pg_terminate_backend`, a fast shutdown), 57P02 crash_shutdown, 57P03
 * cannot_connect_now (starting up, in recovery), 53300 too_many_connections.
 */
const CONNECTION_SQLSTATE = /^(08[0-9A-Z]{3}|57P0[123]|53300)$/;
/** Prisma's codes for the same: can't reach, timed out, closed by the server, pool timeout, too many connections. */
const CONNECTION_PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2037']);
/** What @prisma/adapter-pg calls them (`DriverAdapterError.cause.kind`). */
const CONNECTION_ADAPTER_KINDS = new Set([
  'DatabaseNotReachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
]);
/** Socket errors of a connection that was reset, refused or timed out. */
const CONNECTION_SOCKET_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
const isConnectionCode = (v: string): boolean =>
  CONNECTION_SQLSTATE.test(v) || CONNECTION_PRISMA_CODES.has(v) || CONNECTION_SOCKET_CODES.has(v);
/** pg's own errors for a connection it lost, which carry no code. */
const CONNECTION_PG_MESSAGES =
  /Connection terminated|connection error and is not queryable|timeout exceeded when trying to connect/;

/**
 * True when `err` (a pg, Prisma or driver-adapter error, at any depth of its causes) says the connection
 * to the database was lost or could not be made — PostgreSQL restarting or failing over,
 * `pg_terminate_backend`, a network cut, a full server. Such a failure is not the request's fault and
 * a retry can succeed, so clients get SERVICE_UNAVAILABLE for it rather than INTERNAL_SERVER_ERROR
 * (see `recodeConnectionFailure`). The transaction it happened in was rolled back by the server.
 */
export function isConnectionFailure(err: unknown): boolean {
  for (const o of causes(err)) {
    if (codesOf(o).some(isConnectionCode)) return true;
    if (typeof o.kind === 'string' && CONNECTION_ADAPTER_KINDS.has(o.kind)) return true;
    if (typeof o.message === 'string' && CONNECTION_PG_MESSAGES.test(o.message)) return true;
  }
  return false;
}
