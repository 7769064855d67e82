/**
 * The supergraph as production runs it, for benchmarks and drills: one Node process per service —
 * gateway, auth, booking, payment and location — each its compiled `dist/main.js` with NODE_ENV=production
 * as the images run them (`pnpm build` first; `runtime: 'src'` runs `src/main.ts` through tsx instead, as
 * `pnpm dev` does), on the databases and Redis the caller names. The services find each other on free ports,
 * sign their calls with keys made for this start, and keep their events in a namespace of their own.
 *
 *   const sg = await startServices({ databaseUrls, env: { booking: { BOOKING_DATABASE_POOL_SIZE: '20' } } });
 *   … load sg.gatewayUrl …
 *   const before = sg.usage(); … ; const cpu = sg.usage();   // CPU time and RSS per process
 *   await sg.stop();
 *
 * Every child dies with this process (see faults/children.ts), also on Ctrl-C.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateServiceKeys } from '@carwash/config';
import { exportJWK, generateKeyPair } from 'jose';
import { UNLIMITED_TEST_TIERS } from '../support/graphql.js';
import { freePort, killHard, spawnChild, stopGently, until } from './faults/children.js';
import { GATEWAY_RUNTIME_ENV } from '../../gateway/src/runtime.js';
import { DIST_CONDITION } from '../../scripts/supervise.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** A cold start loads every module (through tsx, for `runtime: 'src'`): seconds each on two busy cores. */
const SERVICE_START_TIMEOUT_MS = 90_000;
/** Linux's clock ticks per second for /proc/<pid>/stat times (USER_HZ, 100 on every mainstream kernel). */
const CLOCK_TICKS_PER_S = 100;
const PAGE_BYTES = 4096;

export const FEATURES = ['auth', 'booking', 'payment', 'location'] as const;
export type Feature = (typeof FEATURES)[number];
export type ServiceName = Feature | 'gateway';
export const SERVICES: readonly ServiceName[] = ['auth', 'location', 'booking', 'payment', 'gateway'];

export interface ServicesOptions {
  /**
   * The checkout whose services run (default: this one). Another folder (a copy of this tree at another
   * commit, sharing its node_modules) lets a benchmark compare two builds in one run.
   */
  root?: string;
  /** Each feature's database; unset: the feature's usual setting (`<FEATURE>_DATABASE_URL` or its default). */
  databaseUrls?: Partial<Record<Feature, string>>;
  /** Unset: `REDIS_URL`, else the local Redis. */
  redisUrl?: string;
  /** Folder for each service's log (`<service>.log`) and the sandbox ledger; unset: a temporary one, removed by `stop`. */
  workDir?: string;
  /** Settings for one service beside the harness's (pool sizes, faster sweeps, a signing key). */
  env?: Partial<Record<ServiceName, Record<string, string>>>;
  /** Node flags for one service's process (e.g. `--cpu-prof`, which NODE_OPTIONS does not take). */
  nodeFlags?: Partial<Record<ServiceName, string[]>>;
  /**
   * `dist` (default): the compiled services, as the Dockerfile runs them — `node --conditions=@carwash/dist
   * dist/main.js`, NODE_ENV=production, after an incremental `pnpm build` of the checkout (once per
   * process). `src`: `src/main.ts` through tsx, no NODE_ENV, as `pnpm dev` runs them.
   */
  runtime?: ServiceRuntime;
  /** Progress lines (the build). */
  log?: (line: string) => void;
}

export type ServiceRuntime = 'dist' | 'src';

/** The folder a service runs from, in `root`. */
const serviceDir = (root: string, s: ServiceName) =>
  join(root, s === 'gateway' ? 'gateway' : `subgraphs/${s}`);

/**
 * `pnpm build` in `root` (incremental: about a second when nothing changed), so that the services are
 * measured as they are deployed, compiled.
 */
export function buildServices(log: (line: string) => void, root: string = ROOT): void {
  log(`pnpm build in ${root} (the services run from dist/)`);
  const r = spawnSync('pnpm', ['build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`pnpm build failed in ${root}`);
}

/** Checkouts built by this process (`runtime: 'dist'` builds each before its first start). */
const built = new Set<string>();

/** One process's resources, read from /proc (Linux). */
export interface ProcessUsage {
  /** User + system CPU time since the process started. */
  cpuMs: number;
  rssBytes: number;
}

export interface Services {
  gatewayUrl: string;
  /** A service's URL (`/graphql` unless `path` says otherwise). */
  url(service: ServiceName, path?: string): string;
  workDir: string;
  logFile(service: ServiceName): string;
  /** The sandbox provider's ledger (JSON lines): what the payment processes really charged. */
  ledgerPath: string;
  /** CPU time and RSS of every running service process, now. */
  usage(): Partial<Record<ServiceName, ProcessUsage>>;
  /** SIGKILLs one service (no drain, no goodbye). */
  kill(service: ServiceName): Promise<void>;
  /** Starts a killed service again on its port; resolves once it answers /health. */
  restart(service: ServiceName): Promise<void>;
  /** Stops every service gently (the gateway first, then the subgraphs; SIGKILL after a grace). */
  stop(): Promise<void>;
}

/** A new Ed25519 signing key set for auth's access tokens (`AUTH_JWT_PRIVATE_KEYS`); pass one to outlive a restart. */
export async function authSigningKeys(kid = `bench-${process.pid}`): Promise<string> {
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  return JSON.stringify([{ ...(await exportJWK(privateKey)), kid }]);
}

/** `<FEATURE>_DATABASE_URL` of this environment, else the feature's default database. */
export function defaultDatabaseUrl(feature: Feature): string {
  return (
    process.env[`${feature.toUpperCase()}_DATABASE_URL`] ??
    `postgresql://postgres@127.0.0.1:5432/carwash_${feature}`
  );
}

function readUsage(pid: number): ProcessUsage | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) in parentheses: state is field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime (14) + stime (15)
    return { cpuMs: (ticks * 1000) / CLOCK_TICKS_PER_S, rssBytes: Number(fields[21]) * PAGE_BYTES }; // rss (24)
  } catch {
    return undefined;
  }
}

/** Starts the gateway and the four subgraphs as five processes; resolves once each answers /health. */
export async function startServices(options: ServicesOptions = {}): Promise<Services> {
  const runtime = options.runtime ?? 'dist';
  const root = options.root ?? ROOT;
  if (runtime === 'dist' && !built.has(root)) {
    // Once per checkout and process; spawnSync, so a second start waits for the first build.
    buildServices(options.log ?? (() => {}), root);
    built.add(root);
  }
  const ownDir = !options.workDir;
  const workDir = options.workDir ?? mkdtempSync(join(tmpdir(), 'carwash-services-'));
  const databaseUrls = Object.fromEntries(
    FEATURES.map((f) => [f, options.databaseUrls?.[f] ?? defaultDatabaseUrl(f)]),
  ) as Record<Feature, string>;
  const ports = Object.fromEntries(
    await Promise.all(SERVICES.map(async (s) => [s, await freePort()] as const)),
  ) as Record<ServiceName, number>;
  const url = (s: ServiceName, path = '/graphql') => `http://127.0.0.1:${ports[s]}${path}`;
  const keys = generateServiceKeys(SERVICES, `bench-${process.pid}`);
  const namespace = `bench-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  const ledgerPath = join(workDir, 'sandbox-ledger.jsonl');
  const logFile = (s: ServiceName) => join(workDir, `${s}.log`);
  const peers = {
    AUTH_JWKS_URL: url('auth', '/.well-known/jwks.json'),
    AUTH_GRAPHQL_URL: url('auth'),
    LOCATION_GRAPHQL_URL: url('location'),
    BOOKING_GRAPHQL_URL: url('booking'),
  };
  const feature = (f: Feature) => ({
    [`${f.toUpperCase()}_PORT`]: String(ports[f]),
    [`${f.toUpperCase()}_DATABASE_URL`]: databaseUrls[f],
    ...peers,
  });
  const own: Record<ServiceName, Record<string, string>> = {
    auth: {
      ...feature('auth'),
      AUTH_JWT_PRIVATE_KEYS: options.env?.auth?.AUTH_JWT_PRIVATE_KEYS ?? (await authSigningKeys()),
      AUTH_LOCKOUT_MAX_FAILURES_PER_IP: '100000',
      // Production refuses the development default; a fresh one per start (no API key outlives it).
      AUTH_API_KEY_HASH_SECRET: randomBytes(32).toString('base64url'),
    },
    location: feature('location'),
    booking: feature('booking'),
    payment: { ...feature('payment'), PAYMENT_SANDBOX_LEDGER_PATH: ledgerPath },
    gateway: {
      // As production runs it (compose, k8s, start:prod): heap cap and allocator setting.
      ...GATEWAY_RUNTIME_ENV,
      GATEWAY_PORT: String(ports.gateway),
      JWKS_URL: peers.AUTH_JWKS_URL,
      RATE_LIMIT_TIERS: UNLIMITED_TEST_TIERS,
      ...Object.fromEntries(FEATURES.map((f) => [`SUBGRAPH_${f.toUpperCase()}_URL`, url(f)])),
    },
  };
  const envOf = (s: ServiceName): NodeJS.ProcessEnv => ({
    ...process.env,
    ...keys.envFor(s),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    EVENT_BUS: 'redis',
    REDIS_URL: options.redisUrl ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    EVENTS_NAMESPACE: namespace,
    APOLLO_TELEMETRY_DISABLED: '1',
    ...(runtime === 'dist' ? { NODE_ENV: 'production' } : {}),
    ...own[s],
    ...options.env?.[s],
  });

  const children = new Map<ServiceName, ChildProcess>();
  const start = async (s: ServiceName) => {
    const child = spawnChild(
      process.execPath,
      [
        ...(options.nodeFlags?.[s] ?? []),
        ...(runtime === 'dist' ? [DIST_CONDITION, 'dist/main.js'] : ['--import', 'tsx', 'src/main.ts']),
      ],
      {
        cwd: serviceDir(root, s),
        env: envOf(s),
        logFile: logFile(s),
      },
    );
    children.set(s, child);
    await until(
      async () => (await fetch(url(s, '/health'))).ok,
      SERVICE_START_TIMEOUT_MS,
      `${s} to answer /health (log: ${logFile(s)})`,
      () => child.exitCode !== null || child.signalCode !== null,
    );
  };
  const stop = async () => {
    // The gateway first (no new work), then the subgraphs, as a deployment would.
    const gateway = children.get('gateway');
    if (gateway) await stopGently(gateway);
    await Promise.all([...children.values()].map((c) => stopGently(c)));
  };
  try {
    // All at once: their module loading overlaps on two cores; none needs another to start.
    await Promise.all(SERVICES.map(start));
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    gatewayUrl: url('gateway'),
    url,
    workDir,
    logFile,
    ledgerPath,
    usage: () =>
      Object.fromEntries(
        [...children].flatMap(([s, c]) => {
          const u = c.pid !== undefined && c.exitCode === null ? readUsage(c.pid) : undefined;
          return u ? [[s, u]] : [];
        }),
      ),
    kill: async (s) => {
      const child = children.get(s);
      if (child) await killHard(child);
    },
    restart: (s) => start(s),
    stop: async () => {
      await stop();
      if (ownDir) rmSync(workDir, { recursive: true, force: true });
    },
  };
}
