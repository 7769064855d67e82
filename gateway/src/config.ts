import { fileURLToPath } from 'node:url';
import { ConfigError, DEV_SERVICE_KEYS, eventBusSettings, loadConfig, requireProductionSecrets, revocationSettings, setting, z } from '@carwash/config';

const DEFAULT_SUPERGRAPH = fileURLToPath(new URL('../../schema/supergraph.graphql', import.meta.url));

/** The only reader of `process.env` in the gateway. */
export function loadGatewayConfig(env: Record<string, string | undefined> = process.env) {
  const config = loadConfig(
    'gateway',
    {
      GATEWAY_PORT: setting.port(4000),
      GATEWAY_HOST: z.string().default('127.0.0.1'),
      /** Any valid supergraph file, ours or not. */
      SUPERGRAPH_PATH: z.string().default(DEFAULT_SUPERGRAPH),
      SERVICE_HMAC_KEYS: setting.hmacKeys().prefault(DEV_SERVICE_KEYS),
      /** Where access tokens' public keys are published; `none` forwards tokens unverified (subgraphs still verify). */
      JWKS_URL: z.union([z.literal('none'), setting.url()]).default('http://127.0.0.1:4001/.well-known/jwks.json'),
      /**
       * The revocation store: `EVENT_BUS=redis` (default) reads it from `REDIS_URL` under
       * `EVENTS_NAMESPACE`, like every subgraph; `memory` is the single-process mode.
       */
      ...eventBusSettings(),
      ...revocationSettings(),
      MAX_REQUEST_BYTES: setting.int(16 * 1024 * 1024, 1024),
      INTROSPECTION: setting.bool(true),
      /** Apollo Sandbox at `/` (it loads its script from Apollo's CDN). */
      SANDBOX: setting.bool(true),
      READY_TIMEOUT_MS: setting.int(2000, 50, 60_000),
      SHUTDOWN_GRACE_MS: setting.int(10_000, 0, 600_000),
      LOG_LEVEL: setting.logLevel(),
    },
    env,
  );
  requireProductionSecrets('gateway', { SERVICE_HMAC_KEYS: env.SERVICE_HMAC_KEYS });
  // Subgraph URL overrides: SUBGRAPH_<NAME>_URL, e.g. SUBGRAPH_AUTH_URL=http://auth:4001/graphql.
  const subgraphUrls: Record<string, string> = {};
  const problems: string[] = [];
  for (const [key, value] of Object.entries(env)) {
    const m = /^SUBGRAPH_([A-Z0-9_]+)_URL$/.exec(key);
    if (!m || !value) continue;
    if (!z.url({ protocol: /^https?$/ }).safeParse(value).success) problems.push(`${key}: must be an http(s) URL`);
    subgraphUrls[m[1]!.toLowerCase()] = value;
  }
  if (problems.length) throw new ConfigError('gateway', problems);
  // Apollo's gateway reports anonymous usage telemetry unless told not to.
  process.env.APOLLO_TELEMETRY_DISABLED ??= '1';
  return { ...config, subgraphUrls };
}

export type GatewayConfig = ReturnType<typeof loadGatewayConfig>;
