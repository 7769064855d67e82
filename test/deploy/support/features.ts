import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../../..', import.meta.url));

/** The features: each a subgraph with its own database; names as in prisma/features.ts. */
export const FEATURES = ['auth', 'booking', 'location', 'payment'] as const;
export type Feature = (typeof FEATURES)[number];
export const SERVICES = [...FEATURES, 'gateway'] as const;
export type Service = (typeof SERVICES)[number];

/** Each service's default port (its config.ts), which the manifests keep. */
export const PORTS: Record<Service, number> = {
  gateway: 4000,
  auth: 4001,
  booking: 4002,
  payment: 4003,
  location: 4004,
};

/** The seed's "Scaling Strategy": replicas per feature (the gateway at least 2). */
export const SEED_REPLICAS: Record<Service, number> = {
  auth: 3,
  booking: 5,
  payment: 2,
  location: 2,
  gateway: 2,
};

/**
 * How long a subgraph drains on SIGTERM: `stopOnSignals`' default in the kit, read from its source so
 * this test follows a change there (the gateway's is its SHUTDOWN_GRACE_MS setting).
 */
export function subgraphShutdownGraceMs(): number {
  const source = readFileSync(`${root}/packages/subgraph-kit/src/server.ts`, 'utf8');
  const m = /export function stopOnSignals\([\s\S]*?graceMs = ([\d_]+)/.exec(source);
  if (!m) throw new Error('stopOnSignals(…, graceMs = N) not found in the subgraph kit');
  return Number(m[1]!.replaceAll('_', ''));
}

/** Setting names whose values are secrets: they may only arrive by reference. */
export const SECRET_SETTING = /PASSWORD|SECRET|SIGNING_KEY|TRUSTED_KEYS|PRIVATE_KEYS|DATABASE_URL|REDIS_URL/;

/** Text that looks like a literal credential: a `keyId:secret` with a long secret, or a JWK's private part. */
export const LITERAL_CREDENTIAL = /[A-Za-z0-9_.-]+:[A-Za-z0-9_-]{32,}|"d"\s*:|BEGIN [A-Z ]*PRIVATE KEY/;

/** The database a PostgreSQL URL names, and its user. */
export function databaseOf(url: string): { host: string; user: string; database: string } {
  const u = new URL(url.replace(/\$\{[^}]*\}/g, 'x'));
  return { host: u.hostname, user: decodeURIComponent(u.username), database: u.pathname.slice(1) };
}
