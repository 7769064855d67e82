import { randomBytes } from 'node:crypto';
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
  int: (fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
    z.coerce.number().int().min(min).max(max).default(fallback),
  url: () => z.url({ protocol: /^https?$/ }),
  postgresUrl: () => z.string().regex(/^postgres(ql)?:\/\/.+/, 'must be a postgresql:// URL'),
  bool: (fallback: boolean) =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'])
      .default(fallback ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1' || v === 'yes'),
  redisUrl: () => z.string().regex(/^rediss?:\/\/.+/, 'must be a redis:// URL'),
  logLevel: () => z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** This service's own HMAC signing key, `keyId:secret` (secret ≥ 32 characters). */
  signingKey: () =>
    z.string().transform((raw, ctx) => {
      const key = parseKey(raw.trim());
      if (!key) {
        ctx.addIssue({
          code: 'custom',
          message: `expected keyId:secret, the secret at least ${MIN_SECRET_LENGTH} characters`,
        });
        return z.NEVER;
      }
      return key;
    }),
  /**
   * The keys a service accepts, each bound to the one service name it may sign as:
   * `service=keyId:secret[,service=keyId:secret…]`. Several keys per service rotate a key without
   * downtime: trust the new one everywhere, switch the signer, then drop the old one.
   */
  trustedKeys: () =>
    z.string().transform((raw, ctx) => {
      const keys: TrustedServiceKey[] = [];
      for (const part of raw
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)) {
        const eq = part.indexOf('=');
        const service = part.slice(0, eq);
        const key = parseKey(part.slice(eq + 1));
        if (eq <= 0 || !SERVICE_NAME.test(service) || !key) {
          ctx.addIssue({
            code: 'custom',
            message: `expected service=keyId:secret entries, each secret at least ${MIN_SECRET_LENGTH} characters`,
          });
          return z.NEVER;
        }
        keys.push({ service, ...key });
      }
      if (keys.length === 0) {
        ctx.addIssue({ code: 'custom', message: 'at least one service=keyId:secret entry is required' });
        return z.NEVER;
      }
      const ids = keys.map((k) => k.id);
      const reusedId = ids.find((id, i) => ids.indexOf(id) !== i);
      if (reusedId) {
        ctx.addIssue({
          code: 'custom',
          message: `key id "${reusedId}" is listed twice: every key id must be unique`,
        });
        return z.NEVER;
      }
      // Two services sharing a secret could each sign as the other: one secret, one service.
      const shared = keys.find((k, i) =>
        keys.some((o, j) => j < i && o.secret === k.secret && o.service !== k.service),
      );
      if (shared) {
        ctx.addIssue({
          code: 'custom',
          message: `the secret of key "${shared.id}" is also another service's: every service needs its own secret`,
        });
        return z.NEVER;
      }
      return keys;
    }),
};

/** Secrets shorter than this are refused: 32 characters of random text are ≥ 128 bits. */
const MIN_SECRET_LENGTH = 32;
const SERVICE_NAME = /^[a-z][a-z0-9-]{0,39}$/;

function parseKey(raw: string): { id: string; secret: string } | undefined {
  const i = raw.indexOf(':');
  const id = raw.slice(0, i);
  const secret = raw.slice(i + 1);
  return i > 0 && /^[A-Za-z0-9_.-]+$/.test(id) && secret.length >= MIN_SECRET_LENGTH
    ? { id, secret }
    : undefined;
}

/** A service's HMAC key (structurally the `ServiceKey` of @carwash/service-trust). */
export interface ServiceHmacKey {
  id: string;
  secret: string;
}
/** A key a verifier accepts, bound to the one service name it may sign as. */
export interface TrustedServiceKey extends ServiceHmacKey {
  service: string;
}
/** What a service signs and verifies with, resolved from its settings. */
export interface ServiceCredentials {
  mode: 'keys' | 'development';
  /** This service's name and its own signing key. */
  signing: { service: string; key: ServiceHmacKey };
  /** Keys accepted from callers, each bound to one service name (empty for a service that only signs). */
  trusted: TrustedServiceKey[];
}

/** Every service of the supergraph that signs requests. */
export const SERVICE_NAMES = ['gateway', 'auth', 'booking', 'location', 'payment'] as const;

/** Marks the built-in development secrets; `SERVICE_CREDENTIALS=keys` refuses any secret containing it. */
const DEVELOPMENT_MARKER = 'development-only';

/**
 * The built-in development key of `service`. It is in the repository, so it is accepted only with
 * `SERVICE_CREDENTIALS=development` (and never with NODE_ENV=production). Each service still has its
 * own, bound to its name, so development exercises the same binding rules as production.
 */
export function developmentServiceKey(service: string): ServiceHmacKey {
  return { id: `dev-${service}`, secret: `carwash-${DEVELOPMENT_MARKER}-${service}-service-key-0123456789` };
}

/**
 * The service-credential settings every service reads (spread into its config shape):
 * `SERVICE_CREDENTIALS` (`keys` | `development`), `SERVICE_SIGNING_KEY`, `SERVICE_TRUSTED_KEYS`.
 * Resolve them with `resolveServiceCredentials`.
 */
export function serviceCredentialSettings() {
  return {
    /** `keys` (the default, always in production): real keys required. `development`: the built-in keys. */
    SERVICE_CREDENTIALS: z.enum(['keys', 'development']).default('keys'),
    SERVICE_SIGNING_KEY: setting.signingKey().optional(),
    SERVICE_TRUSTED_KEYS: setting.trustedKeys().optional(),
    /** Retired: one shared key let any holder sign as any service. */
    SERVICE_HMAC_KEYS: z.undefined({
      error:
        "no longer supported: set SERVICE_SIGNING_KEY (this service's key) and SERVICE_TRUSTED_KEYS (service=keyId:secret of each caller)",
    }),
  };
}

type CredentialSettings = {
  SERVICE_CREDENTIALS: 'keys' | 'development';
  SERVICE_SIGNING_KEY?: ServiceHmacKey | undefined;
  SERVICE_TRUSTED_KEYS?: TrustedServiceKey[] | undefined;
};

/**
 * Turns the credential settings into what `service` signs and verifies with — or refuses to start,
 * naming the settings: real keys are required unless `SERVICE_CREDENTIALS=development` says otherwise
 * explicitly, whatever NODE_ENV is. `verifies: false` for a service that only calls (the gateway).
 */
export function resolveServiceCredentials(
  service: string,
  settings: CredentialSettings,
  {
    verifies = true,
    env = process.env,
  }: { verifies?: boolean; env?: Record<string, string | undefined> } = {},
): ServiceCredentials {
  const problems: string[] = [];
  if (settings.SERVICE_CREDENTIALS === 'development') {
    if (env.NODE_ENV === 'production')
      problems.push(
        'SERVICE_CREDENTIALS: "development" is refused when NODE_ENV=production; set real keys in SERVICE_SIGNING_KEY and SERVICE_TRUSTED_KEYS',
      );
    if (settings.SERVICE_SIGNING_KEY || settings.SERVICE_TRUSTED_KEYS)
      problems.push(
        'SERVICE_CREDENTIALS: "development" uses the built-in development keys; unset SERVICE_SIGNING_KEY and SERVICE_TRUSTED_KEYS, or set SERVICE_CREDENTIALS=keys',
      );
    if (problems.length) throw new ConfigError(service, problems);
    return {
      mode: 'development',
      signing: { service, key: developmentServiceKey(service) },
      trusted: verifies
        ? SERVICE_NAMES.filter((s) => s !== service).map((s) => ({ service: s, ...developmentServiceKey(s) }))
        : [],
    };
  }
  const hint = 'or SERVICE_CREDENTIALS=development for a local run';
  if (!settings.SERVICE_SIGNING_KEY)
    problems.push(`SERVICE_SIGNING_KEY: required (this service's own keyId:secret, ${hint})`);
  else if (settings.SERVICE_SIGNING_KEY.secret.includes(DEVELOPMENT_MARKER))
    problems.push(
      'SERVICE_SIGNING_KEY: the development key is accepted only with SERVICE_CREDENTIALS=development',
    );
  if (verifies && !settings.SERVICE_TRUSTED_KEYS)
    problems.push(
      `SERVICE_TRUSTED_KEYS: required (service=keyId:secret of every service that calls this one, ${hint})`,
    );
  else if (settings.SERVICE_TRUSTED_KEYS?.some((k) => k.secret.includes(DEVELOPMENT_MARKER)))
    problems.push(
      'SERVICE_TRUSTED_KEYS: development keys are accepted only with SERVICE_CREDENTIALS=development',
    );
  if (problems.length) throw new ConfigError(service, problems);
  return {
    mode: 'keys',
    signing: { service, key: settings.SERVICE_SIGNING_KEY! },
    trusted: verifies ? settings.SERVICE_TRUSTED_KEYS! : [],
  };
}

/** Random bytes per generated secret: 256 bits. */
const GENERATED_SECRET_BYTES = 32;

/** Keys generated for a set of services: settings values, and the same keys parsed. */
export interface GeneratedServiceKeys {
  /** Each service's `SERVICE_SIGNING_KEY` value. */
  signingKeys: Record<string, string>;
  /** One `SERVICE_TRUSTED_KEYS` value listing every service's key, each bound to its service. */
  trustedKeys: string;
  /** Each service's credential, as a signer uses it. */
  credentials: Record<string, { service: string; key: ServiceHmacKey }>;
  /** The settings a service needs to sign with its key and verify every other service's. */
  envFor(service: string): {
    SERVICE_CREDENTIALS: 'keys';
    SERVICE_SIGNING_KEY: string;
    SERVICE_TRUSTED_KEYS: string;
  };
}

/** Fresh random keys for every service: each test run, and `pnpm keys:generate` for operators. */
export function generateServiceKeys(
  services: readonly string[] = SERVICE_NAMES,
  tag = Date.now().toString(36),
): GeneratedServiceKeys {
  const signingKeys: Record<string, string> = {};
  const credentials: GeneratedServiceKeys['credentials'] = {};
  for (const service of services) {
    const key = {
      id: `${service}-${tag}`,
      secret: randomBytes(GENERATED_SECRET_BYTES).toString('base64url'),
    };
    signingKeys[service] = `${key.id}:${key.secret}`;
    credentials[service] = { service, key };
  }
  const trustedKeys = services.map((s) => `${s}=${signingKeys[s]}`).join(',');
  return {
    signingKeys,
    trustedKeys,
    credentials,
    envFor: (service) => {
      const signing = signingKeys[service];
      if (!signing) throw new Error(`no key was generated for ${service}`);
      // A service never calls itself: it trusts every other service's key.
      const others = services.filter((s) => s !== service).map((s) => `${s}=${signingKeys[s]}`);
      return {
        SERVICE_CREDENTIALS: 'keys',
        SERVICE_SIGNING_KEY: signing,
        SERVICE_TRUSTED_KEYS: others.join(','),
      };
    },
  };
}

/** Refuses well-known development secrets when NODE_ENV=production. */
export function requireProductionSecrets(
  service: string,
  settings: Record<string, string | undefined>,
): void {
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
    EVENTS_NAMESPACE: z
      .string()
      .regex(/^[a-z0-9_-]{1,40}$/)
      .default('carwash'),
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

/**
 * Each feature subgraph's default port (`<FEATURE>_PORT`), and so the default address at which its
 * siblings call it on one machine (`schema/subgraphs.json` routes the gateway to the same ports).
 */
export const FEATURE_PORTS = { auth: 4001, booking: 4002, payment: 4003, location: 4004 } as const;
export type FeatureName = keyof typeof FEATURE_PORTS;

/** A local default address of a sibling feature (`http://127.0.0.1:<its port><path>`). */
function featureUrl(feature: FeatureName, path: string): string {
  return `http://127.0.0.1:${FEATURE_PORTS[feature]}${path}`;
}

/** The URL of a sibling feature's GraphQL endpoint, which this feature calls with its service credential. */
export function peerGraphqlUrl(feature: FeatureName) {
  return setting.url().default(featureUrl(feature, '/graphql'));
}

/**
 * Where a subgraph that verifies end users finds the auth feature's public keys (`AUTH_JWKS_URL`).
 * `loadFeatureConfig` adds it for every feature but auth, which verifies with its own keys.
 */
export function authJwksSettings() {
  return { AUTH_JWKS_URL: setting.url().default(featureUrl('auth', '/.well-known/jwks.json')) };
}

/** Settings of OpenTelemetry tracing, for every service (traces are always made; exported only when set). */
export function tracingSettings() {
  return {
    /** Base URL of an OTLP/HTTP collector (`http://otel-collector:4318`); spans go to `<url>/v1/traces`. */
    OTEL_EXPORTER_OTLP_ENDPOINT: setting.url().optional(),
  };
}

/** Default pool size of a feature's database connections, and the bounds a setting may choose within. */
const DEFAULT_POOL_SIZE = 10;
const MAX_POOL_SIZE = 200;
/** The default body limit of a subgraph request, and the smallest that still fits a GraphQL operation. */
const DEFAULT_MAX_REQUEST_BYTES = 16 * 1024 * 1024;
/**
 * How long an idle outbox relay waits before polling again (ms). Only a fallback: every write committed
 * on the feature's pool wakes its relay at once, so this bounds the delay of events other processes wrote.
 */
const DEFAULT_OUTBOX_POLL_MS = 1_000;
const MAX_OUTBOX_POLL_MS = 10_000;
const MIN_REQUEST_BYTES = 1024;

/** The settings every feature subgraph shares, named after the feature (`BOOKING_PORT`, …). */
export type FeatureSettingsShape<P extends string> = Record<`${P}_PORT`, ReturnType<typeof setting.port>> &
  Record<`${P}_DATABASE_POOL_SIZE`, ReturnType<typeof setting.int>> &
  Record<`${P}_HOST`, z.ZodDefault<z.ZodString>> &
  Record<`${P}_DATABASE_URL`, z.ZodDefault<ReturnType<typeof setting.postgresUrl>>> &
  ReturnType<typeof serviceCredentialSettings> &
  ReturnType<typeof eventBusSettings> &
  ReturnType<typeof revocationSettings> &
  ReturnType<typeof tracingSettings> & {
    OUTBOX_POLL_MS: ReturnType<typeof setting.int>;
    MAX_REQUEST_BYTES: ReturnType<typeof setting.int>;
    LOG_LEVEL: ReturnType<typeof setting.logLevel>;
  };

/**
 * The settings every feature subgraph reads, as a config shape: `<FEATURE>_PORT` (default `port`),
 * `<FEATURE>_HOST`, `<FEATURE>_DATABASE_URL` (default database `carwash_<feature>`), `<FEATURE>_DATABASE_POOL_SIZE`,
 * the service credentials, the event bus, the revocation check, `OUTBOX_POLL_MS`, `MAX_REQUEST_BYTES` and `LOG_LEVEL`.
 */
export function featureSettings<F extends string>(
  feature: F,
  { port }: { port: number },
): FeatureSettingsShape<Uppercase<F>> {
  const prefix = feature.toUpperCase();
  return {
    [`${prefix}_PORT`]: setting.port(port),
    [`${prefix}_HOST`]: z.string().default('127.0.0.1'),
    [`${prefix}_DATABASE_URL`]: setting
      .postgresUrl()
      .default(`postgresql://postgres@127.0.0.1:5432/carwash_${feature}`),
    [`${prefix}_DATABASE_POOL_SIZE`]: setting.int(DEFAULT_POOL_SIZE, 1, MAX_POOL_SIZE),
    ...serviceCredentialSettings(),
    ...eventBusSettings(),
    ...revocationSettings(),
    ...tracingSettings(),
    /**
     * The outbox relay's fallback pause between polls of an empty outbox (each poll is a transaction over
     * the partitions); the writes committed on the feature's own pool wake it at once.
     */
    OUTBOX_POLL_MS: setting.int(DEFAULT_OUTBOX_POLL_MS, 1, MAX_OUTBOX_POLL_MS),
    MAX_REQUEST_BYTES: setting.int(DEFAULT_MAX_REQUEST_BYTES, MIN_REQUEST_BYTES),
    LOG_LEVEL: setting.logLevel(),
  } as FeatureSettingsShape<Uppercase<F>>;
}

/** The common settings of a feature subgraph, once loaded, and what it signs and verifies with. */
export type FeatureConfig<P extends string, S extends Record<string, z.ZodType>> = {
  [K in keyof (FeatureSettingsShape<P> & S)]: z.output<(FeatureSettingsShape<P> & S)[K]>;
} & { credentials: ServiceCredentials };

/** Options of `loadFeatureConfig`. */
export interface FeatureConfigOptions<S extends Record<string, z.ZodType>> {
  /** The feature's default port; a feature of `FEATURE_PORTS` has its port there. */
  port?: number;
  /** The feature's own settings, beside the shared ones. */
  settings: S;
  /** Further checks across settings, run before the credentials are resolved; throw a `ConfigError`. */
  check?: (config: { [K in keyof S]: z.output<S[K]> }) => void;
}

function defaultPort(feature: string): number {
  if (!Object.hasOwn(FEATURE_PORTS, feature))
    throw new Error(`${feature}: no port in FEATURE_PORTS; pass one`);
  return FEATURE_PORTS[feature as FeatureName];
}

/** What every feature but auth verifies access tokens with: auth's public keys (`authJwksSettings`). */
export type TokenVerifierShape<F extends string> = F extends 'auth'
  ? Record<never, never>
  : ReturnType<typeof authJwksSettings>;

/**
 * Loads a feature subgraph's settings — the shared ones of `featureSettings`, `AUTH_JWKS_URL` for every
 * feature but auth, plus its own — and resolves who may call it and what it signs with (refusing to start
 * without real keys). The only reader of `process.env` a feature's config.ts needs.
 */
export function loadFeatureConfig<F extends string, S extends Record<string, z.ZodType>>(
  feature: F,
  { port = defaultPort(feature), settings, check }: FeatureConfigOptions<S>,
  env: Record<string, string | undefined> = process.env,
): FeatureConfig<Uppercase<F>, TokenVerifierShape<F> & S> {
  const verifier = feature === 'auth' ? {} : authJwksSettings();
  const config = loadConfig(
    feature,
    { ...featureSettings(feature, { port }), ...verifier, ...settings },
    env,
  );
  check?.(config as { [K in keyof S]: z.output<S[K]> });
  const credentials = resolveServiceCredentials(feature, config as unknown as CredentialSettings, { env });
  return { ...config, credentials } as FeatureConfig<Uppercase<F>, TokenVerifierShape<F> & S>;
}
