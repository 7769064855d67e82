import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { Feature } from './config.js';

const migrationsDir = (root: string, feature: Feature) => path.join(root, 'prisma', feature, 'migrations');

/** A feature's migration folders in the order Prisma applies them (by name: they start with a timestamp). */
function migrationNames(root: string, feature: Feature): string[] {
  return readdirSync(migrationsDir(root, feature), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

/** Migration folders of a feature that its database has not finished applying (all of them if none ran). */
async function pending(root: string, feature: Feature, url: string): Promise<string[]> {
  const wanted = migrationNames(root, feature);
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
  } catch (err) {
    // A given server without the feature's database yet: prisma/cli.ts deploy creates it.
    if ((err as { code?: string }).code === '3D000') return wanted;
    throw err;
  }
  try {
    const { rows } = await client.query<{ name: string }>(
      `SELECT migration_name AS name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
    );
    const done = new Set(rows.map((r) => r.name));
    return wanted.filter((m) => !done.has(m));
  } catch (err) {
    if ((err as { code?: string }).code === '42P01') return wanted; // no migration table yet
    throw err;
  } finally {
    await client.end();
  }
}

/** Runs `prisma/cli.ts deploy <feature>` (Prisma's migrate deploy) for one feature. */
function deploy(root: string, feature: Feature, url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(root, 'prisma', 'cli.ts'), 'deploy', feature],
      {
        cwd: path.join(root, 'prisma'),
        env: { ...process.env, [`${feature.toUpperCase()}_DATABASE_URL`]: url },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`migrations failed for ${feature}:\n${output}`)),
    );
  });
}

/**
 * Prisma's migration table, as its schema engine creates it on PostgreSQL (same columns, types, defaults
 * and primary key name), so that `prisma migrate deploy` / `status` later read our rows as their own.
 */
const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                  VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"            VARCHAR(64) NOT NULL,
    "finished_at"         TIMESTAMPTZ,
    "migration_name"      VARCHAR(255) NOT NULL,
    "logs"                TEXT,
    "rolled_back_at"      TIMESTAMPTZ,
    "started_at"          TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;

/**
 * Applies a feature's pending migrations to an embedded database directly over `pg`, without starting
 * Prisma: each `migration.sql` in name order, in one transaction with its `_prisma_migrations` row —
 * id (a UUID), checksum (SHA-256 of the file's bytes, hex, as Prisma computes it), name, started/finished
 * times, `applied_steps_count` 1 — so a migration is applied and recorded together, or not at all, and
 * `prisma migrate deploy`/`status` see it as applied. Starting Prisma's WebAssembly engine once per
 * feature was the slowest step of a first start (20–27 s of four engines on two cores); this is well
 * under a second per feature. Only for embedded databases, which this script created empty itself: a
 * database you give keeps Prisma's own `migrate deploy` (its locking, its drift and failure checks).
 */
export async function applyMigrations(root: string, feature: Feature, url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(MIGRATIONS_TABLE);
    const { rows } = await client.query<{ name: string; finished: boolean }>(
      `SELECT migration_name AS name, finished_at IS NOT NULL AS finished
         FROM "_prisma_migrations" WHERE rolled_back_at IS NULL`,
    );
    const failed = rows.filter((r) => !r.finished).map((r) => r.name);
    if (failed.length) {
      // What Prisma's deploy refuses too (P3009): a failed migration needs a person, not a retry.
      throw new Error(
        `${feature}: migration ${failed.join(', ')} failed earlier; \`pnpm reset\` and start again`,
      );
    }
    const done = new Set(rows.map((r) => r.name));
    const applied: string[] = [];
    for (const name of migrationNames(root, feature).filter((m) => !done.has(m))) {
      const script = readFileSync(path.join(migrationsDir(root, feature), name, 'migration.sql'));
      const checksum = createHash('sha256').update(script).digest('hex');
      const startedAt = new Date();
      await client.query('BEGIN');
      try {
        await client.query(script.toString('utf8'));
        await client.query(
          `INSERT INTO "_prisma_migrations"
             (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
           VALUES ($1, $2, $3, $4, now(), 1)`,
          [randomUUID(), checksum, name, startedAt],
        );
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw new Error(`${feature}: migration ${name} failed: ${(err as Error).message}`, { cause: err });
      }
      applied.push(name);
    }
    return applied;
  } finally {
    await client.end();
  }
}

/**
 * Applies every feature's pending migrations, the features side by side: embedded databases directly
 * (applyMigrations), given databases through the repository's one Prisma route (`prisma/cli.ts deploy`:
 * Prisma's migrate deploy on its bundled WebAssembly engine, one process per feature). Features whose
 * databases are up to date are skipped without starting Prisma: a warm start costs one query per feature.
 */
export async function migrate(
  root: string,
  urls: Record<Feature, string>,
  embedded: readonly Feature[],
): Promise<Feature[]> {
  const stale: Feature[] = [];
  for (const [feature, url] of Object.entries(urls) as Array<[Feature, string]>) {
    if ((await pending(root, feature, url)).length) stale.push(feature);
  }
  await Promise.all(
    stale.map((f) => (embedded.includes(f) ? applyMigrations(root, f, urls[f]) : deploy(root, f, urls[f]))),
  );
  return stale;
}
