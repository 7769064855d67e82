import { DEV_SERVICE_KEYS, eventBusSettings, loadConfig, revocationSettings, requireProductionSecrets, setting, z } from '@carwash/config';

/** The only reader of `process.env` in the auth feature. */
export function loadAuthConfig(env: Record<string, string | undefined> = process.env) {
  const config = loadConfig(
    'auth',
    {
      AUTH_PORT: setting.port(4001),
      AUTH_HOST: z.string().default('127.0.0.1'),
      AUTH_DATABASE_URL: setting.postgresUrl().default('postgresql://postgres@127.0.0.1:5432/carwash_auth'),
      AUTH_DATABASE_POOL_SIZE: setting.int(10, 1, 200),
      SERVICE_HMAC_KEYS: setting.hmacKeys().prefault(DEV_SERVICE_KEYS),
      /**
       * Private Ed25519 signing keys as a JSON array of JWKs (each with `kid`). The first signs; all are
       * published in the JWKS, so a new key is rolled out in front of the old one. Unset outside
       * production: an ephemeral key is generated at start (tokens then die with the process).
       */
      AUTH_JWT_PRIVATE_KEYS: z.string().optional(),
      AUTH_ACCESS_TOKEN_TTL_SECONDS: setting.int(900, 30, 86_400),
      AUTH_REFRESH_TOKEN_TTL_SECONDS: setting.int(30 * 86_400, 300, 365 * 86_400),
      AUTH_LOCKOUT_MAX_FAILURES: setting.int(5, 1, 1000),
      AUTH_LOCKOUT_WINDOW_SECONDS: setting.int(900, 1, 86_400),
      /** Failures from one client address (any emails) before that address is refused too. */
      AUTH_LOCKOUT_MAX_FAILURES_PER_IP: setting.int(50, 1, 100_000),
      ...eventBusSettings(),
      ...revocationSettings(),
      MAX_REQUEST_BYTES: setting.int(16 * 1024 * 1024, 1024),
      LOG_LEVEL: setting.logLevel(),
    },
    env,
  );
  requireProductionSecrets('auth', {
    SERVICE_HMAC_KEYS: env.SERVICE_HMAC_KEYS,
    AUTH_JWT_PRIVATE_KEYS: env.AUTH_JWT_PRIVATE_KEYS,
  });
  return config;
}

export type AuthConfig = ReturnType<typeof loadAuthConfig>;
