import {
  ConfigError,
  loadConfig,
  loadFeatureConfig,
  requireProductionSecrets,
  setting,
  z,
} from '@carwash/config';

/** Outside production only (refused there by `requireProductionSecrets`: it says development-only). */
const DEVELOPMENT_API_KEY_HASH_SECRET = 'development-only-api-key-hash-secret-0000';

/** The only reader of `process.env` in the auth feature (the settings every feature shares come from `loadFeatureConfig`). */
export function loadAuthConfig(env: Record<string, string | undefined> = process.env) {
  return loadFeatureConfig(
    'auth',
    {
      settings: {
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
        /** Failures from one client network (IPv4 address, IPv6 /64; any emails) before it is refused for every email. */
        AUTH_LOCKOUT_MAX_FAILURES_PER_IP: setting.int(50, 1, 100_000),
        /** Where the links in recovery mails point: the frontend, which calls verifyEmail / resetPassword. */
        AUTH_PUBLIC_URL: setting.url().default('http://localhost:3000'),
        AUTH_PASSWORD_RESET_TTL_SECONDS: setting.int(3600, 60, 86_400),
        AUTH_EMAIL_VERIFICATION_TTL_SECONDS: setting.int(2 * 86_400, 300, 30 * 86_400),
        /** Recovery mails (reset or verification) asked for one email per window, whoever asks. */
        AUTH_RECOVERY_MAX_PER_EMAIL: setting.int(3, 1, 1000),
        /** Recovery mails asked for from one client network (IPv4 address, IPv6 /64) per window, any emails. */
        AUTH_RECOVERY_MAX_PER_CLIENT: setting.int(10, 1, 100_000),
        AUTH_RECOVERY_WINDOW_SECONDS: setting.int(3600, 1, 86_400),
        /**
         * Development only: keeps sent mail in memory and serves it at `GET /dev/mailbox?to=<email>`.
         * Refused when NODE_ENV=production, so the route cannot exist there.
         */
        AUTH_DEV_MAILBOX: setting.bool(false),
        /**
         * The secret of the keyed hash (HMAC-SHA-256) under which partner API keys are stored (≥ 32
         * characters). Changing it invalidates every key. Required in production.
         */
        AUTH_API_KEY_HASH_SECRET: z
          .string()
          .min(32, 'must be at least 32 characters')
          .default(DEVELOPMENT_API_KEY_HASH_SECRET),
        NODE_ENV: z.string().optional(),
      },
      check: (config) => {
        requireProductionSecrets('auth', {
          AUTH_JWT_PRIVATE_KEYS: env.AUTH_JWT_PRIVATE_KEYS,
          AUTH_API_KEY_HASH_SECRET: env.AUTH_API_KEY_HASH_SECRET,
        });
        if (config.AUTH_DEV_MAILBOX && config.NODE_ENV === 'production') {
          throw new ConfigError('auth', [
            'AUTH_DEV_MAILBOX: the development mailbox (which serves every mail sent) must not be enabled in production',
          ]);
        }
      },
    },
    env,
  );
}

export type AuthConfig = ReturnType<typeof loadAuthConfig>;

/**
 * Settings of `pnpm admin:create` (the operator command): the auth database and, optionally, the new
 * admin's password (`ADMIN_PASSWORD`; when unset the command reads it from standard input).
 */
export function loadAdminCliConfig(env: Record<string, string | undefined> = process.env) {
  return loadConfig(
    'admin:create',
    {
      AUTH_DATABASE_URL: setting.postgresUrl().default('postgresql://postgres@127.0.0.1:5432/carwash_auth'),
      ADMIN_PASSWORD: z.string().optional(),
    },
    env,
  );
}
