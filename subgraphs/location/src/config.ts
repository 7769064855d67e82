import { loadFeatureConfig, peerGraphqlUrl } from '@carwash/config';

/** The only reader of `process.env` in the location feature (the settings every feature shares come from `loadFeatureConfig`). */
export function loadLocationConfig(env: Record<string, string | undefined> = process.env) {
  return loadFeatureConfig(
    'location',
    {
      settings: {
        /** The auth feature's GraphQL endpoint, for the user checks behind `assignStaff`. */
        AUTH_GRAPHQL_URL: peerGraphqlUrl('auth'),
      },
    },
    env,
  );
}

export type LocationConfig = ReturnType<typeof loadLocationConfig>;
