/**
 * `pnpm start:timing`: how long `pnpm start` takes to reach ready from a fresh clone's state (no data
 * folder: databases created, migrated and seeded — "cold") and on the second run ("warm"), and each
 * process's memory once ready. Runs in a temporary data folder on free ports, with no database or Redis
 * setting, so it measures the zero-setup path and leaves the developer's `.data/` alone.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const READY_TIMEOUT_MS = 300_000;
/** Settle time after ready before memory is read (timers, first relay polls). */
const SETTLE_MS = 3_000;

const dataDir = mkdtempSync(path.join(tmpdir(), 'carwash-start-timing-'));

/** The caller's environment without any database, Redis or port setting: the zero-setup path. */
function env(): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!/_DATABASE_URL$|^REDIS_URL$|^EVENT_BUS$|_PORT$/.test(k)) out[k] = v;
  return {
    ...out,
    START_DATA_DIR: dataDir,
    GATEWAY_PORT: '0',
    AUTH_PORT: '0',
    BOOKING_PORT: '0',
    LOCATION_PORT: '0',
    PAYMENT_PORT: '0',
  };
}

const rssMb = (pid: number) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
};

interface Measured {
  label: string;
  readyS: number;
  phases: string[];
  rss: Record<string, number>;
}

async function measure(label: string): Promise<Measured> {
  const t0 = performance.now();
  const child = spawn('pnpm', ['start'], { cwd: ROOT, env: env(), detached: true, stdio: 'pipe' });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready in time:\n${out}`)), READY_TIMEOUT_MS);
    child.stdout.on('data', () => {
      if (/\[start\] ready /.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`pnpm start exited (${code}):\n${out}`)));
  });
  const readyS = (performance.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const run = JSON.parse(readFileSync(path.join(dataDir, 'run.json'), 'utf8')) as {
    pid: number;
    dbPid: number | null;
  };
  const rss: Record<string, number> = {
    'pnpm (the package manager itself)': rssMb(child.pid!),
    'services (4 subgraphs + gateway)': rssMb(run.pid),
  };
  if (run.dbPid) rss['embedded databases (4 PGlite)'] = rssMb(run.dbPid);
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(-child.pid!, 'SIGINT');
  await exited;
  // pnpm returns at once on Ctrl-C; wait for the start script itself to finish closing the databases.
  while (isAlive(run.pid) || (run.dbPid && isAlive(run.dbPid))) await new Promise((r) => setTimeout(r, 100));
  const phases = out
    .split('\n')
    .filter((l) => /^\[start\] (embedded databases up|migrations|seeding)/.test(l));
  return { label, readyS, phases, rss };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

try {
  const results = [await measure('cold (fresh clone: no data folder)'), await measure('warm (second start)')];
  for (const r of results) {
    console.log(`\n${r.label}: ready after ${r.readyS.toFixed(1)} s (from spawning pnpm start)`);
    for (const p of r.phases) console.log(`  ${p}`);
    for (const [name, mb] of Object.entries(r.rss)) console.log(`  RSS ${name}: ${mb} MB`);
  }
  console.log(
    `\nload average now: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
  );
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
