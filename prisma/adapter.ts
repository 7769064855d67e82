/**
 * The driver adapter Prisma's JavaScript schema engine migrates through.
 *
 * We run Prisma 6.19 with `engine: 'js'` so that `migrate dev|deploy|diff` use the WebAssembly schema
 * engine bundled in the npm package: nothing is downloaded, on this offline machine or anywhere else.
 * Two gaps in @prisma/adapter-pg 6.19 are bridged here (and only here — the runtime clients in the
 * subgraphs never read catalog tables):
 *  - it cannot decode the catalog types `name` (OID 19) and `"char"` (OID 18) that the schema engine's
 *    introspection selects, so a `pg.Client` subclass reports those columns as `text` (OID 25);
 *  - its shadow database is created from a pool config that may carry a `connectionString` (which then
 *    wins over the shadow `database`), and dropped while its pool is still open. We create, use and
 *    drop (`WITH (FORCE)`, after closing the pool) the shadow database ourselves;
 *  - its `executeScript` splits a migration on every `;`, which cuts a function body (`$$ … ; … $$`) into
 *    pieces. A migration is sent whole instead, as one simple query — what Prisma's native schema engine
 *    does (PostgreSQL runs the statements of one such message in one implicit transaction, so a migration
 *    cannot use `CREATE INDEX CONCURRENTLY`; none does).
 */
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';

const TEXT_OID = 25;
const CATALOG_OIDS = new Set([18, 19]);

function asText(result: unknown): void {
  const results = Array.isArray(result) ? result : [result];
  for (const r of results as Array<{ fields?: Array<{ dataTypeID: number }> } | undefined>) {
    for (const field of r?.fields ?? []) {
      if (CATALOG_OIDS.has(field.dataTypeID)) field.dataTypeID = TEXT_OID;
    }
  }
}

class CatalogAsTextClient extends pg.Client {
  // pg.Pool calls query(config, values, callback); Prisma awaits the promise form. Handle both.
  override query(...args: unknown[]): never {
    const last = args.at(-1);
    if (typeof last === 'function') {
      args[args.length - 1] = (err: unknown, res: unknown) => {
        if (res) asText(res);
        (last as (e: unknown, r: unknown) => void)(err, res);
      };
      return (super.query as (...a: unknown[]) => never)(...args);
    }
    const out = (super.query as (...a: unknown[]) => unknown)(...args);
    if (out && typeof (out as Promise<unknown>).then === 'function') {
      return (out as Promise<unknown>).then((res) => {
        asText(res);
        return res;
      }) as never;
    }
    return out as never;
  }
}

/** Pool settings as discrete fields: a `connectionString` would override the shadow `database`. */
export function poolConfigFromUrl(url: string): pg.PoolConfig {
  const u = new URL(url);
  return {
    host: decodeURIComponent(u.hostname) || '127.0.0.1',
    port: Number(u.port || 5432),
    user: decodeURIComponent(u.username) || 'postgres',
    password: u.password ? decodeURIComponent(u.password) : undefined,
    database: decodeURIComponent(u.pathname.slice(1)),
    Client: CatalogAsTextClient as unknown as typeof pg.Client,
    max: 2,
  };
}

type MigrationAdapter = Awaited<ReturnType<PrismaPg['connect']>>;

/** Makes `adapter.executeScript` send the script in one message (see the file's comment). */
function wholeScripts(adapter: MigrationAdapter): MigrationAdapter {
  const queryable = adapter as unknown as { client: pg.Pool; onError(error: unknown): never };
  adapter.executeScript = async (script: string): Promise<void> => {
    try {
      await queryable.client.query(script);
    } catch (error) {
      queryable.onError(error);
    }
  };
  return adapter;
}

class MigrationAdapterFactory extends PrismaPg {
  constructor(private readonly poolConfig: pg.PoolConfig) {
    super(poolConfig);
  }

  override async connect(): ReturnType<PrismaPg['connect']> {
    return wholeScripts(await super.connect());
  }

  override async connectToShadowDb(): ReturnType<PrismaPg['connectToShadowDb']> {
    const database = `prisma_shadow_${crypto.randomUUID().replaceAll('-', '')}`;
    const admin = new pg.Client({ ...this.poolConfig, Client: undefined } as pg.ClientConfig);
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE "${database}"`);
    } finally {
      await admin.end();
    }
    const shadow = wholeScripts(await new PrismaPg({ ...this.poolConfig, database }).connect());
    const dispose = shadow.dispose.bind(shadow);
    shadow.dispose = async () => {
      await dispose();
      const dropper = new pg.Client({ ...this.poolConfig, Client: undefined } as pg.ClientConfig);
      await dropper.connect();
      try {
        await dropper.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      } finally {
        await dropper.end();
      }
    };
    return shadow;
  }
}

export function migrationAdapter(url: string): MigrationAdapterFactory {
  return new MigrationAdapterFactory(poolConfigFromUrl(url));
}
