import { readFileSync } from 'node:fs';
import {
  AuthPeer,
  createAccessTokenVerifier,
  createFeatureEvents,
  assembleFeatureSubgraph,
  createFeatureServer,
  type FeatureSubgraph,
  type Logger,
} from '@carwash/subgraph-kit';
import { parse } from 'graphql';
import type { LocationConfig } from './config.js';
import type { LocationContext } from './context.js';
import { createDb, type LocationDb } from './db.js';
import { createLoaders } from './loaders.js';
import { permissions, serviceAccess } from './permissions.js';
import { LocationRepository } from './repository.js';
import { resolvers } from './resolvers.js';
import { LocationService } from './service.js';

export { sqlStatements } from './db.js';
export { loadLocationConfig, type LocationConfig } from './config.js';

export const typeDefs = parse(readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8'));

export type LocationSubgraph = FeatureSubgraph<LocationDb, LocationService>;

/** Builds the location subgraph. Does not listen: main.ts and tests do. */
export async function createLocationSubgraph(
  config: LocationConfig,
  logger: Logger,
): Promise<LocationSubgraph> {
  const { db, pool } = createDb(config.LOCATION_DATABASE_URL, config.LOCATION_DATABASE_POOL_SIZE);
  const events = createFeatureEvents({ feature: 'location', pool, settings: config, logger });
  const repo = new LocationRepository(db);
  const service = new LocationService(repo);
  const auth = new AuthPeer(config.AUTH_GRAPHQL_URL, config.credentials.signing);

  const tokens = createAccessTokenVerifier({ jwksUrl: config.AUTH_JWKS_URL }, config);
  const wiring = { settings: config, db, pool, events, tokens };
  const server = await createFeatureServer<LocationContext>(
    {
      name: 'location',
      typeDefs,
      resolvers,
      permissions,
      serviceAccess,
      createContext: (base) => ({
        ...base,
        loaders: createLoaders(repo, auth, base.requestId),
        location: service,
      }),
      logger,
    },
    wiring,
  );

  return assembleFeatureSubgraph(server, wiring, {
    service,
    handlers: { 'auth.user.deleted': (event) => service.handleUserDeleted(event) },
  });
}
