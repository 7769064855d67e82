import {
  AuthPeer,
  buildFeatureSubgraph,
  openFeature,
  type FeatureSubgraph,
  type Logger,
} from '@carwash/subgraph-kit';
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

export type LocationSubgraph = FeatureSubgraph<LocationDb, LocationService>;

/** Builds the location subgraph. Does not listen: main.ts and tests do. */
export async function createLocationSubgraph(
  config: LocationConfig,
  logger: Logger,
): Promise<LocationSubgraph> {
  const wiring = openFeature('location', config, logger, createDb);
  const repo = new LocationRepository(wiring.db);
  const service = new LocationService(repo);
  const auth = new AuthPeer(config.AUTH_GRAPHQL_URL, config.credentials.signing);

  return buildFeatureSubgraph<LocationContext, LocationDb, LocationService>(
    wiring,
    {
      schemaFile: new URL('./schema.graphql', import.meta.url),
      resolvers,
      permissions,
      serviceAccess,
      context: (base) => ({ loaders: createLoaders(repo, auth, base.requestId), location: service }),
    },
    { service, handlers: { 'auth.user.deleted': (event) => service.handleUserDeleted(event) } },
  );
}
