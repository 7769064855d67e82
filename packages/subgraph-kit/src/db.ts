import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';

/** Counts the SQL statements a pool sends; tests read it to prove batching. One increment per query. */
export interface StatementCounter {
  count: number;
}

/**
 * A pg pool whose clients count every statement into `counter`. Each feature creates its own (its own
 * database), hands it to Prisma's driver adapter, and exports the counter for its tests.
 */
export function countingPool(url: string, max: number, counter: StatementCounter): pg.Pool {
  class CountingClient extends pg.Client {
    override query(...args: unknown[]): never {
      counter.count += 1;
      return (super.query as (...a: unknown[]) => never)(...args);
    }
  }
  const pool = new pg.Pool({
    connectionString: url,
    max,
    Client: CountingClient as unknown as typeof pg.Client,
  });
  survivesDroppedConnections(pool);
  return pool;
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
