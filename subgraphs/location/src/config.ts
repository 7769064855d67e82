import { authJwksSettings, loadFeatureConfig, setting } from '@carwash/config';

/** The only reader of `process.env` in the location feature (the settings every feature shares come from `loadFeatureConfig`). */
export function loadLocationConfig(env: Record<string, string | undefined> = process.env) {
  return loadFeatureConfig(
    'location',
    {
      port: 4004,
      settings: {
        ...authJwksSettings(),
        /** The auth feature's GraphQL endpoint, for the user checks behind `assignStaff`. */
        AUTH_GRAPHQL_URL: setting.url().default('http://127.0.0.1:4001/graphql'),
      },
    },
    env,
  );
}

export type LocationConfig = ReturnType<typeof loadLocationConfig>;
