import { z } from 'zod';

export { z };

/** Raised when the environment does not satisfy a service's settings; lists every bad setting. */
export class ConfigError extends Error {
  constructor(
    readonly service: string,
    readonly problems: string[],
  ) {
    super(`${service}: invalid configuration\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Validates `env` against a map of setting name → zod schema and returns the typed result.
 * Every problem is reported at once, each naming its setting, so a broken deployment is fixed in one go.
 */
export function loadConfig<S extends Record<string, z.ZodType>>(
  service: string,
  shape: S,
  env: Record<string, string | undefined> = process.env,
): { [K in keyof S]: z.output<S[K]> } {
  const result = z.object(shape).safeParse(pick(env, Object.keys(shape)));
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? '(root)');
      const given = env[name];
      return given === undefined || given === ''
        ? `${name}: required but not set (${issue.message})`
        : `${name}: ${issue.message}`;
    });
    throw new ConfigError(service, problems);
  }
  return result.data as { [K in keyof S]: z.output<S[K]> };
}

function pick(env: Record<string, string | undefined>, keys: string[]): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  // Treat empty strings as unset, so `FOO=` in a .env file falls back to the default.
  for (const k of keys) out[k] = env[k] === '' ? undefined : env[k];
  return out;
}

/** Common setting types. */
export const setting = {
  port: (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback),
  int: (fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max).default(fallback),
  url: () => z.url({ protocol: /^https?$/ }),
  postgresUrl: () => z.string().regex(/^postgres(ql)?:\/\/.+/, 'must be a postgresql:// URL'),
  bool: (fallback: boolean) =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'])
      .default(fallback ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1' || v === 'yes'),
  redisUrl: () => z.string().regex(/^rediss?:\/\/.+/, 'must be a redis:// URL'),
  logLevel: () => z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /**
   * Service HMAC keys as `keyId:secret[,keyId:secret…]`. The first signs; all verify, so a key can be
   * rotated by adding the new one in front and removing the old one after every service has it.
   */
  hmacKeys: () =>
    z
      .string()
      .transform((raw, ctx) => {
        const keys: Array<{ id: string; secret: string }> = [];
        for (const part of raw.split(',').map((p) => p.trim()).filter(Boolean)) {
          const i = part.indexOf(':');
          const id = part.slice(0, i);
          const secret = part.slice(i + 1);
          if (i <= 0 || !/^[A-Za-z0-9_.-]+$/.test(id) || secret.length < 32) {
            ctx.addIssue({ code: 'custom', message: 'expected keyId:secret pairs, each secret at least 32 characters' });
            return z.NEVER;
          }
          keys.push({ id, secret });
        }
        if (keys.length === 0) {
          ctx.addIssue({ code: 'custom', message: 'at least one keyId:secret pair is required' });
          return z.NEVER;
        }
        return keys;
      }),
};

/**
 * The development-only service key, so `pnpm dev` and the tests run with no setup.
 * Production refuses to start with it (see `requireProductionSecrets`).
 */
export const DEV_SERVICE_KEYS = 'dev:carwash-development-only-service-key-0123456789';

/** Refuses well-known development secrets when NODE_ENV=production. */
export function requireProductionSecrets(service: string, settings: Record<string, string | undefined>): void {
  if (process.env.NODE_ENV !== 'production') return;
  const problems = Object.entries(settings)
    .filter(([, v]) => !v?.trim() || v.includes('development-only'))
    .map(([k]) => `${k}: must be set to a real secret in production`);
  if (problems.length) throw new ConfigError(service, problems);
}

/** For a service's main.ts: loads its settings, or prints every problem and exits 1. */
export function loadOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
}

/** The event-bus settings every feature reads (spread into its config shape). */
export function eventBusSettings() {
  return {
    /** `redis` in every real deployment; `memory` only for the single-process zero-setup mode. */
    EVENT_BUS: z.enum(['redis', 'memory']).default('redis'),
    REDIS_URL: setting.redisUrl().default('redis://127.0.0.1:6379'),
    /** Prefix of the bus's Redis keys, so environments sharing a Redis stay apart. */
    EVENTS_NAMESPACE: z.string().regex(/^[a-z0-9_-]{1,40}$/).default('carwash'),
  };
}

/** Settings of the access-token revocation check, for every service that verifies tokens. */
export function revocationSettings() {
  return {
    /**
     * How long a verifier reuses the revocation store's answer for a user/session (ms, at most 1000;
     * 0 asks the store on every request). Revocations evict it at once; this bounds a missed eviction.
     */
    REVOCATION_CACHE_TTL_MS: setting.int(1000, 0, 1000),
  };
}
