import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations } from '../scripts/start/migrate.js';

/**
 * `pnpm start` applies an embedded database's migrations itself, without Prisma's engine. Its rows in
 * `_prisma_migrations` must be ones Prisma reads as its own: applied here on a fresh PostgreSQL database,
 * then Prisma's `migrate status` (prisma/cli.ts, the route of `pnpm db:status`) must call it up to date.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FEATURE = 'payment';
const base = new URL(
  process.env.PAYMENT_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/carwash_test_payment',
);
const dbName = `${base.pathname.slice(1)}_startmig`;
const url = Object.assign(new URL(base), { pathname: `/${dbName}` }).toString();
const adminUrl = Object.assign(new URL(base), { pathname: '/postgres' }).toString();

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

const files = readdirSync(path.join(ROOT, 'prisma', FEATURE, 'migrations'), { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();

describe(applyMigrations.name, () => {
  beforeAll(async () => {
    await admin(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await admin(`CREATE DATABASE "${dbName}"`);
  });
  afterAll(() => admin(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`));

  it('records each migration as Prisma does, so that prisma migrate status finds nothing pending', async () => {
    expect(await applyMigrations(ROOT, FEATURE, url)).toEqual(files);

    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const { rows } = await client
      .query<{ migration_name: string; checksum: string; applied_steps_count: number; finished: boolean }>(
        `SELECT migration_name, checksum, applied_steps_count, finished_at >= started_at AS finished
           FROM _prisma_migrations ORDER BY migration_name`,
      )
      .finally(() => client.end());
    expect(rows).toEqual(
      files.map((name) => ({
        migration_name: name,
        checksum: createHash('sha256')
          .update(readFileSync(path.join(ROOT, 'prisma', FEATURE, 'migrations', name, 'migration.sql')))
          .digest('hex'),
        applied_steps_count: 1,
        finished: true,
      })),
    );

    const status = spawnSync(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'prisma', 'cli.ts'), 'status', FEATURE],
      {
        cwd: path.join(ROOT, 'prisma'),
        env: { ...process.env, PAYMENT_DATABASE_URL: url },
        encoding: 'utf8',
      },
    );
    expect(status.status, status.stdout + status.stderr).toBe(0);
    expect(status.stdout).toContain('Database schema is up to date!');
  }, 120_000);

  it('applies nothing the second time', async () => {
    expect(await applyMigrations(ROOT, FEATURE, url)).toEqual([]);
  });
});
