/**
 * The embedded databases of `pnpm start`: one PGlite (PostgreSQL compiled to WebAssembly) per feature,
 * each in its own data folder and served over the PostgreSQL wire protocol on its own loopback port,
 * so Prisma's driver adapter, `pg` and the migrations talk to it as to a real server.
 *
 * It runs as a child of scripts/start.ts, in a process of its own: PGlite's queries run on this
 * process's thread, not on the services' event loop, and the parent decides when it stops — after the
 * services have closed their pools. It ignores SIGINT (Ctrl-C reaches the whole process group; the
 * parent stops the services first), and closes every database cleanly on the parent's `stop` message,
 * on SIGTERM, or when the parent disappears (IPC disconnect), so it never outlives the run.
 */
import { cpSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { btree_gist } from '@electric-sql/pglite/contrib/btree_gist';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/** What the parent sends (`stop`) and receives (`ready` with each feature's port, or `failed`). */
export type EmbeddedDbMessage =
  { type: 'ready'; ports: Record<string, number>; createdMs: number } | { type: 'failed'; message: string };

/**
 * Connections one feature's server accepts: the service's pool (one session: see start.ts), the
 * migration tool (two) and the start script's own checks, with room to spare.
 */
const MAX_CONNECTIONS = 8;

interface Running {
  feature: string;
  db: PGlite;
  server: PGLiteSocketServer;
}

const isInitialised = (dir: string) => existsSync(path.join(dir, 'PG_VERSION'));

function open(dir: string): Promise<PGlite> {
  return PGlite.create({ dataDir: dir, extensions: { btree_gist } });
}

/**
 * Creates the data folders that do not exist yet. initdb runs once (~4 s here) into a template, which is
 * then copied for each missing feature (a copy is milliseconds; four initdbs on one thread are ~25 s).
 * Each copy is renamed into place, so a folder is either complete or absent.
 */
async function createMissing(root: string, features: readonly string[]): Promise<void> {
  const missing = features.filter((f) => !isInitialised(path.join(root, f)));
  if (missing.length === 0) return;
  mkdirSync(root, { recursive: true });
  const template = path.join(root, `.template-${process.pid}`);
  rmSync(template, { recursive: true, force: true });
  const db = await open(template);
  await db.exec('CREATE EXTENSION IF NOT EXISTS btree_gist');
  await db.close();
  for (const feature of missing) {
    const target = path.join(root, feature);
    const partial = `${target}.partial-${process.pid}`;
    cpSync(template, partial, { recursive: true });
    rmSync(target, { recursive: true, force: true });
    renameSync(partial, target);
  }
  rmSync(template, { recursive: true, force: true });
}

async function start(root: string, features: readonly string[], ports: Record<string, number>) {
  const t0 = performance.now();
  await createMissing(root, features);
  const createdMs = Math.round(performance.now() - t0);
  // Side by side: part of opening one (compiling PostgreSQL's WebAssembly, reading its files) is not
  // on this thread, so the four overlap.
  const running = await Promise.all(
    features.map(async (feature): Promise<Running> => {
      const db = await open(path.join(root, feature));
      const server = new PGLiteSocketServer({
        db,
        host: '127.0.0.1',
        port: ports[feature] ?? 0,
        maxConnections: MAX_CONNECTIONS,
      });
      await server.start();
      return { feature, db, server };
    }),
  );
  return { running, createdMs };
}

async function main(): Promise<void> {
  const root = process.env.EMBEDDED_DB_DIR;
  const features = (process.env.EMBEDDED_DB_FEATURES ?? '').split(',').filter(Boolean);
  const ports = JSON.parse(process.env.EMBEDDED_DB_PORTS ?? '{}') as Record<string, number>;
  if (!root || features.length === 0 || !process.send) {
    console.error(
      'embedded-db: started by scripts/start.ts only (EMBEDDED_DB_DIR, EMBEDDED_DB_FEATURES, IPC)',
    );
    process.exit(2);
  }
  const send = (m: EmbeddedDbMessage) => process.send?.(m);

  let running: Running[] = [];
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      for (const r of running) await r.server.stop().catch(() => undefined);
      // close() checkpoints and flushes: the data folders are consistent once it resolves.
      for (const r of running) await r.db.close().catch(() => undefined);
      process.exit(0);
    })());
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => void stop());
  process.on('disconnect', () => void stop());
  process.on('message', (m: { type?: string }) => {
    if (m?.type === 'stop') void stop();
  });

  try {
    const started = await start(root, features, ports);
    running = started.running;
    const bound: Record<string, number> = {};
    for (const r of running) bound[r.feature] = Number(r.server.getServerConn().split(':').pop());
    send({ type: 'ready', ports: bound, createdMs: started.createdMs });
  } catch (err) {
    send({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
    await stop();
  }
}

await main();
