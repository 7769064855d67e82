import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { Feature } from './config.js';

/** Migration folders of a feature that its database has not finished applying (all of them if none ran). */
async function pending(root: string, feature: Feature, url: string): Promise<string[]> {
  const dir = path.join(root, 'prisma', feature, 'migrations');
  const wanted = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name);
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
 * Applies every feature's pending migrations through the repository's one Prisma route
 * (`prisma/cli.ts deploy`: Prisma's migrate deploy on its bundled WebAssembly engine), the features side
 * by side (each is its own database and its own Prisma process). Features whose databases are up to
 * date are skipped without starting Prisma: a warm start costs one query per feature.
 */
export async function migrate(root: string, urls: Record<Feature, string>): Promise<Feature[]> {
  const stale: Feature[] = [];
  for (const [feature, url] of Object.entries(urls) as Array<[Feature, string]>) {
    if ((await pending(root, feature, url)).length) stale.push(feature);
  }
  await Promise.all(stale.map((f) => deploy(root, f, urls[f])));
  return stale;
}
