import type { TrustedKey } from '@carwash/service-trust';
import type { AccessTokenVerifier } from './access-tokens.js';
import {
  createSubgraphServer,
  type RequestContext,
  type SubgraphServer,
  type SubgraphServerOptions,
} from './server.js';

/** The settings of a feature subgraph that its server's wiring reads (all from `loadFeatureConfig`). */
export interface FeatureServerSettings {
  credentials: { trusted: readonly TrustedKey[] };
  EVENT_BUS: 'redis' | 'memory';
  REDIS_URL: string;
  EVENTS_NAMESPACE: string;
  MAX_REQUEST_BYTES: number;
}

/** The feature's settings and open connections that the server checks for readiness and verifies users with. */
export interface FeatureServerWiring {
  settings: FeatureServerSettings;
  /** The feature's database pool: ready when it answers `SELECT 1`. */
  pool: { query(sql: string): Promise<unknown> };
  /** The feature's events (`createFeatureEvents`): ready when the bus answers a ping. */
  events: { bus: { ping(): Promise<void> } };
  /** The access-token verifier: users are verified with it, ready when its revocation store answers. */
  tokens: AccessTokenVerifier;
}

/** What a feature's server.ts states: its schema, rules, context and routes. The rest comes from the wiring. */
export type FeatureServerOptions<Ctx extends RequestContext> = Omit<
  SubgraphServerOptions<Ctx>,
  'trustedKeys' | 'replayGuard' | 'verifyUser' | 'maxBodyBytes' | 'readiness'
>;

/**
 * A feature's subgraph server, wired the way every feature is: the service keys it trusts, the replay
 * guard on the event bus's Redis, the end user verified with `tokens`, the body limit, and readiness of
 * database, event bus and revocation store.
 */
export function createFeatureServer<Ctx extends RequestContext>(
  options: FeatureServerOptions<Ctx>,
  { settings, pool, events, tokens }: FeatureServerWiring,
): Promise<SubgraphServer> {
  return createSubgraphServer<Ctx>({
    ...options,
    trustedKeys: settings.credentials.trusted,
    replayGuard: settings,
    verifyUser: tokens.verify,
    maxBodyBytes: settings.MAX_REQUEST_BYTES,
    readiness: {
      database: async () => void (await pool.query('SELECT 1')),
      eventBus: () => events.bus.ping(),
      revocations: () => tokens.ping(),
    },
  });
}
