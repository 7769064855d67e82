/**
 * The whole supergraph as production runs it — one Node process per service (`src/main.ts` of each,
 * as `pnpm dev` starts them) — so that a drill can SIGKILL one service and start it again on the same
 * port while the others keep running. Every service gets the drill's own databases, its private Redis,
 * its own event namespace and a sandbox ledger file shared by every payment process.
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateServiceKeys } from '@carwash/config';
import { exportJWK, generateKeyPair } from 'jose';
import { UNLIMITED_TEST_TIERS } from '../../support/graphql.js';
import { freePort, killHard, spawnChild, stopGently, until } from './children.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
/** A cold start runs every module through tsx: seconds each on two busy cores. */
const SERVICE_START_TIMEOUT_MS = 90_000;

export const FEATURES = ['auth', 'booking', 'payment', 'location'] as const;
export type Feature = (typeof FEATURES)[number];
export type ServiceName = Feature | 'gateway';
const SERVICES: readonly ServiceName[] = ['auth', 'location', 'booking', 'payment', 'gateway'];

export interface ChildSupergraphOptions {
  databaseUrls: Record<Feature, string>;
  redisUrl: string;
  /** Folder for each service's log (`<service>.log`) and the sandbox provider's ledger. */
  workDir: string;
  /** Settings for one service beside the drill's (e.g. faster sweeps). */
  extraEnv?: Partial<Record<ServiceName, Record<string, string>>>;
}

export interface ChildSupergraph {
  gatewayUrl: string;
  /** The sandbox provider's ledger (JSON lines): what the payment processes really charged. */
  ledgerPath: string;
  logFile(service: ServiceName): string;
  /** SIGKILLs one service (no drain, no goodbye). */
  kill(service: ServiceName): Promise<void>;
  /** Starts a killed service again on its port; resolves once it answers /health. */
  restart(service: ServiceName): Promise<void>;
  /** Stops every service gently (SIGTERM, then SIGKILL after a grace). */
  stop(): Promise<void>;
}

/** The Ed25519 key auth signs access tokens with: one for every start, so tokens outlive a restart. */
async function signingKeys(): Promise<string> {
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  return JSON.stringify([{ ...(await exportJWK(privateKey)), kid: `bench-faults-${process.pid}` }]);
}

export async function startChildSupergraph(options: ChildSupergraphOptions): Promise<ChildSupergraph> {
  const ports = Object.fromEntries(
    await Promise.all(SERVICES.map(async (s) => [s, await freePort()] as const)),
  ) as Record<ServiceName, number>;
  const url = (s: ServiceName, path = '/graphql') => `http://127.0.0.1:${ports[s]}${path}`;
  const keys = generateServiceKeys(SERVICES, `bench-faults-${process.pid}`);
  const namespace = `benchfault-${Date.now().toString(36)}`;
  const ledgerPath = join(options.workDir, 'sandbox-ledger.jsonl');
  const logFile = (s: ServiceName) => join(options.workDir, `${s}.log`);
  const peers = {
    AUTH_JWKS_URL: url('auth', '/.well-known/jwks.json'),
    AUTH_GRAPHQL_URL: url('auth'),
    LOCATION_GRAPHQL_URL: url('location'),
    BOOKING_GRAPHQL_URL: url('booking'),
  };
  const feature = (f: Feature) => ({
    [`${f.toUpperCase()}_PORT`]: String(ports[f]),
    [`${f.toUpperCase()}_DATABASE_URL`]: options.databaseUrls[f],
    ...peers,
  });
  const own: Record<ServiceName, Record<string, string>> = {
    auth: {
      ...feature('auth'),
      AUTH_JWT_PRIVATE_KEYS: await signingKeys(),
      AUTH_LOCKOUT_MAX_FAILURES_PER_IP: '100000',
    },
    location: feature('location'),
    booking: feature('booking'),
    payment: { ...feature('payment'), PAYMENT_SANDBOX_LEDGER_PATH: ledgerPath },
    gateway: {
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
    REDIS_URL: options.redisUrl,
    EVENTS_NAMESPACE: namespace,
    ...own[s],
    ...options.extraEnv?.[s],
  });

  const children = new Map<ServiceName, ChildProcess>();
  const start = async (s: ServiceName) => {
    const child = spawnChild(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: join(ROOT, s === 'gateway' ? 'gateway' : `subgraphs/${s}`),
      env: envOf(s),
      logFile: logFile(s),
    });
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
    ledgerPath,
    logFile,
    kill: async (s) => {
      const child = children.get(s);
      if (child) await killHard(child);
    },
    restart: (s) => start(s),
    stop,
  };
}
