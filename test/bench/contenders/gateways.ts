/**
 * The gateways the benchmark runs side by side, each a child process of its own on a free loopback port,
 * serving the same supergraph file: ours (built JavaScript, production settings), vanilla Apollo
 * (apollo-vanilla.ts) and Hive Gateway 2.15 with its default runtime and with its Rust query planner
 * (from test/bench/peers, a package outside the workspace, installed here on demand).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateServiceKeys } from '@carwash/config';
import { GATEWAY_RUNTIME_ENV } from '../../../gateway/src/runtime.js';
import { DIST_CONDITION } from '../../../scripts/supervise.js';
import { stopChild } from '../support.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PEERS = join(ROOT, 'test/bench/peers');
const HIVE_BIN = join(PEERS, 'node_modules/@graphql-hive/gateway/dist/bin.js');

export type ContenderName = 'ours' | 'apollo' | 'hive' | 'hive-router';

export interface ContenderSpec {
  name: ContenderName;
  /** How it is run, for the results file. */
  label: string;
  args: (supergraphPath: string, port: number) => string[];
  env: (supergraphPath: string, port: number) => Record<string, string>;
}

/**
 * Rate-limit tiers of our gateway for the run: the limiter stays on (every request is counted in Redis,
 * as in production) with a budget one load generator cannot exhaust, so no request is refused with 429.
 */
export const BENCH_RATE_LIMIT_TIERS = 'default:10000000/60';

const hive = (router: boolean): ContenderSpec => ({
  name: router ? 'hive-router' : 'hive',
  label: `Hive Gateway 2.15.1${router ? ' --hive-router-runtime (router-runtime 1.4.23)' : ' (default runtime)'}`,
  args: (supergraph, port) => [
    HIVE_BIN,
    'supergraph',
    supergraph,
    ...(router ? ['--hive-router-runtime'] : []),
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    // One process, as ours; no WebSocket server and no re-reading of the file (ours does neither).
    '--fork',
    '1',
    '--disable-websockets',
    '--polling',
    '1h',
  ],
  env: () => ({ NODE_ENV: 'production' }),
});

export const CONTENDERS: readonly ContenderSpec[] = [
  {
    name: 'ours',
    label: `ours: gateway/dist/main.js (node ${DIST_CONDITION}), production settings, as shipped: NODE_OPTIONS="${GATEWAY_RUNTIME_ENV.NODE_OPTIONS}" MALLOC_MMAP_THRESHOLD_=${GATEWAY_RUNTIME_ENV.MALLOC_MMAP_THRESHOLD_}`,
    args: () => [DIST_CONDITION, join(ROOT, 'gateway/dist/main.js')],
    env: (supergraph, port) => ({
      // The heap and allocator settings it ships with (docker-compose.yml, deploy/k8s, start:prod).
      ...GATEWAY_RUNTIME_ENV,
      ...generateServiceKeys(['gateway'], 'bench').envFor('gateway'),
      NODE_ENV: 'production',
      SUPERGRAPH_PATH: supergraph,
      GATEWAY_HOST: '127.0.0.1',
      GATEWAY_PORT: String(port),
      // Anonymous requests only: no token to verify, so no key set to fetch.
      JWKS_URL: 'none',
      SANDBOX: 'false',
      // No access log line per request (Hive writes none either); warnings and errors still go out.
      LOG_LEVEL: 'warn',
      EVENT_BUS: 'redis',
      EVENTS_NAMESPACE: `bench-${process.pid}-${port}`,
      RATE_LIMIT_TIERS: BENCH_RATE_LIMIT_TIERS,
    }),
  },
  {
    name: 'apollo',
    // The workspace's one @apollo/gateway 2.14.4 carries its result-shaping patch (patches/): so does this.
    label:
      'vanilla @apollo/gateway 2.14 (with the workspace patch) + @apollo/server 5 standalone, defaults (via tsx)',
    args: () => ['--import', 'tsx', join(ROOT, 'test/bench/contenders/apollo-vanilla.ts')],
    env: (supergraph, port) => ({ NODE_ENV: 'production', SUPERGRAPH_PATH: supergraph, PORT: String(port) }),
  },
  hive(false),
  hive(true),
];

/** Installs test/bench/peers from its own lock file when its node_modules is missing. */
export function ensurePeersInstalled(log: (line: string) => void): void {
  if (existsSync(HIVE_BIN)) return;
  log('installing the peer gateways (test/bench/peers, its own lock file)');
  const r = spawnSync('pnpm', ['install', '--frozen-lockfile'], { cwd: PEERS, stdio: 'inherit' });
  if (r.status !== 0 || !existsSync(HIVE_BIN)) throw new Error('pnpm install in test/bench/peers failed');
}

export interface RunningContender {
  spec: ContenderSpec;
  url: string;
  pid: number;
  /** Peak resident memory so far (VmHWM) of the process and its descendants, in MiB. */
  peakRssMiB(): number;
  /** CPU time (user + system) the process and its descendants have used so far, in seconds. */
  cpuSeconds(): number;
  /** The end of its log (stdout and stderr), for a failure message. */
  logTail(): string;
  stop(): Promise<void>;
}

export async function startContender(
  spec: ContenderSpec,
  supergraphPath: string,
  logPath: string,
): Promise<RunningContender> {
  const port = await freePort();
  const out = openSync(logPath, 'w');
  const child = spawn(process.execPath, spec.args(supergraphPath, port), {
    cwd: ROOT,
    env: { ...process.env, ...spec.env(supergraphPath, port) },
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  const url = `http://127.0.0.1:${port}/graphql`;
  const logTail = () => readFileSync(logPath, 'utf8').slice(-2000);
  const running: RunningContender = {
    spec,
    url,
    pid: child.pid!,
    peakRssMiB: () => treePeakRssMiB(child.pid!),
    cpuSeconds: () => treeCpuSeconds(child.pid!),
    logTail,
    stop: () => stopChild(child),
  };
  try {
    await waitReady(child, url);
  } catch (error) {
    await running.stop();
    throw new Error(`${spec.name} did not start: ${(error as Error).message}\n${logTail()}`, {
      cause: error,
    });
  }
  return running;
}

async function waitReady(child: ChildProcess, url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`exited (${child.signalCode ?? child.exitCode})`);
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"query":"{ __typename }"}',
      });
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no answer at ${url} within ${timeoutMs} ms`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** VmHWM (peak RSS) of `pid` plus its descendants', from /proc, in MiB; 0 where /proc is not there. */
function treePeakRssMiB(pid: number): number {
  let kib = 0;
  for (const p of [pid, ...descendants(pid)]) {
    try {
      const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      kib += Number(m?.[1] ?? 0);
    } catch {
      // gone
    }
  }
  return kib / 1024;
}

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** utime + stime of `pid` plus its descendants', from /proc/<pid>/stat, in seconds. */
function treeCpuSeconds(pid: number): number {
  let ticks = 0;
  for (const p of [pid, ...descendants(pid)]) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces, so split after its closing parenthesis).
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone
    }
  }
  return ticks / USER_HZ;
}

function descendants(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      for (const c of children ? children.split(/\s+/).map(Number) : []) out.push(c, ...descendants(c));
    }
  } catch {
    // no /proc, or gone
  }
  return out;
}
