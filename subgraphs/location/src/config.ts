import { eventBusSettings, loadConfig, resolveServiceCredentials, revocationSettings, serviceCredentialSettings, setting, z } from '@carwash/config';

/** The only reader of `process.env` in the location feature. */
export function loadLocationConfig(env: Record<string, string | undefined> = process.env) {
  const config = loadConfig(
    'location',
    {
      LOCATION_PORT: setting.port(4004),
      LOCATION_HOST: z.string().default('127.0.0.1'),
      LOCATION_DATABASE_URL: setting.postgresUrl().default('postgresql://postgres@127.0.0.1:5432/carwash_location'),
      LOCATION_DATABASE_POOL_SIZE: setting.int(10, 1, 200),
      ...serviceCredentialSettings(),
      /** The auth feature's public keys, to verify the end user's access token again. */
      AUTH_JWKS_URL: setting.url().default('http://127.0.0.1:4001/.well-known/jwks.json'),
      /** The auth feature's GraphQL endpoint, for the user checks behind `assignStaff`. */
      AUTH_GRAPHQL_URL: setting.url().default('http://127.0.0.1:4001/graphql'),
      ...eventBusSettings(),
      ...revocationSettings(),
      MAX_REQUEST_BYTES: setting.int(16 * 1024 * 1024, 1024),
      LOG_LEVEL: setting.logLevel(),
    },
    env,
  );
  // Who may call this subgraph, and what it signs its own calls with (refuses to start without real keys).
  const credentials = resolveServiceCredentials('location', config, { env });
  return { ...config, credentials };
}

export type LocationConfig = ReturnType<typeof loadLocationConfig>;
