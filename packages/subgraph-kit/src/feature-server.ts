import { readFileSync } from 'node:fs';
import type { TrustedKey } from '@carwash/service-trust';
import { parse, type DocumentNode } from 'graphql';
import type pg from 'pg';
import type { Logger } from 'pino';
import {
  createAccessTokenVerifier,
  type AccessTokenVerifier,
  type RevocationSettings,
} from './access-tokens.js';
import {
  assembleFeatureSubgraph,
  createFeatureEvents,
  type FeatureEvents,
  type FeatureOwnParts,
  type FeatureSubgraph,
} from './feature-events.js';
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
  /** The feature's name: the audience of the signatures it accepts, and its logs'. */
  feature: string;
  logger: Logger;
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
  | 'name'
  | 'logger'
  | 'trustedKeys'
  | 'replayGuard'
  | 'verifyUser'
  | 'maxBodyBytes'
  | 'readiness'
  | 'typeDefs'
  | 'createContext'
> & {
  /** The feature's SDL file, beside its server.ts: `new URL('./schema.graphql', import.meta.url)`. */
  schemaFile: URL;
  /** The feature's own per-request parts (DataLoaders, services), added to the base context. */
  context: (base: RequestContext) => Omit<Ctx, keyof RequestContext>;
};

/** A feature's SDL file (`new URL('./schema.graphql', import.meta.url)`), parsed. */
function loadTypeDefs(file: URL): DocumentNode {
  return parse(readFileSync(file, 'utf8'));
}

/** The settings `openFeature` reads: the shared ones of `loadFeatureConfig`. */
export interface OpenFeatureSettings extends FeatureServerSettings, RevocationSettings {
  /** Where a feature other than auth finds the auth feature's public keys (`loadFeatureConfig` adds it). */
  AUTH_JWKS_URL?: string;
}

/** A feature's open connections and identity: what its server is wired with and what stop closes. */
export interface OpenFeature<Db extends { $disconnect(): Promise<void> }> extends FeatureServerWiring {
  feature: string;
  settings: OpenFeatureSettings;
  logger: Logger;
  db: Db;
  pool: pg.Pool;
  events: FeatureEvents;
}

/** A feature's database settings, named after it (`BOOKING_DATABASE_URL`, `BOOKING_DATABASE_POOL_SIZE`). */
export type FeatureDatabaseSettings<F extends string> = Record<`${Uppercase<F>}_DATABASE_URL`, string> &
  Record<`${Uppercase<F>}_DATABASE_POOL_SIZE`, number>;

/**
 * Opens what every feature has: its database (with `createDb` of its `db.ts`, at `<FEATURE>_DATABASE_URL`),
 * its events (bus, outbox relay, consumer group) and the verifier of end users' access tokens — by
 * default with auth's keys at `AUTH_JWKS_URL`; the auth feature passes its own `tokens`.
 */
export function openFeature<F extends string, Db extends { $disconnect(): Promise<void> }>(
  feature: F,
  settings: OpenFeatureSettings & FeatureDatabaseSettings<F>,
  logger: Logger,
  createDb: (url: string, poolSize: number) => { db: Db; pool: pg.Pool },
  tokens?: AccessTokenVerifier,
): OpenFeature<Db> {
  const prefix = feature.toUpperCase();
  const database = settings as unknown as Record<string, string & number>;
  const { db, pool } = createDb(
    database[`${prefix}_DATABASE_URL`]!,
    database[`${prefix}_DATABASE_POOL_SIZE`]!,
  );
  const events = createFeatureEvents({ feature, pool, settings, logger });
  if (!tokens && !settings.AUTH_JWKS_URL)
    throw new Error(
      `${feature}: AUTH_JWKS_URL is needed to verify access tokens (loadFeatureConfig adds it for every feature but auth)`,
    );
  return {
    feature,
    settings,
    logger,
    db,
    pool,
    events,
    tokens: tokens ?? createAccessTokenVerifier({ jwksUrl: settings.AUTH_JWKS_URL! }, settings),
  };
}

/**
 * A feature's subgraph from its open wiring, its server's own parts (schema, rules, context, routes) and
 * its own handles (service, event handlers, stop hooks): the server `createFeatureServer` wires and the
 * handles and stop order of `assembleFeatureSubgraph`.
 */
export async function buildFeatureSubgraph<
  Ctx extends RequestContext,
  Db extends { $disconnect(): Promise<void> },
  Service,
>(
  wiring: OpenFeature<Db>,
  server: FeatureServerOptions<Ctx>,
  own: FeatureOwnParts<Service>,
): Promise<FeatureSubgraph<Db, Service>> {
  return assembleFeatureSubgraph(await createFeatureServer<Ctx>(server, wiring), wiring, own);
}

/**
 * A feature's subgraph server, wired the way every feature is: the service keys it trusts, the replay
 * guard on the event bus's Redis, the end user verified with `tokens`, the body limit, and readiness of
 * database, event bus and revocation store.
 */
export function createFeatureServer<Ctx extends RequestContext>(
  { schemaFile, context, ...options }: FeatureServerOptions<Ctx>,
  { feature, logger, settings, pool, events, tokens }: FeatureServerWiring,
): Promise<SubgraphServer> {
  return createSubgraphServer<Ctx>({
    ...options,
    typeDefs: loadTypeDefs(schemaFile),
    createContext: (base) => ({ ...base, ...context(base) }) as Ctx,
    name: feature,
    logger,
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
