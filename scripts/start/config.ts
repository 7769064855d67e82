import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, setting, z } from '@carwash/config';

/** The features, each with its own database. */
export const FEATURES = ['auth', 'booking', 'location', 'payment'] as const;
export type Feature = (typeof FEATURES)[number];

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The only reader of `process.env` in `pnpm start` / `pnpm reset` (the services read their own settings
 * in their config.ts; the start script passes the environment on to them).
 */
export function loadStartConfig(env: Record<string, string | undefined> = process.env) {
  const config = loadConfig(
    'start',
    {
      /** The one (git-ignored) folder the embedded databases and the run's keys live in. */
      START_DATA_DIR: z.string().min(1).default(path.join(ROOT, '.data')),
      /** Seed the demo data when the databases hold none yet. */
      START_SEED: setting.bool(true),
      /** Services' log level in this run (each service reads `LOG_LEVEL`); quiet so the banner shows. */
      LOG_LEVEL: setting.logLevel().default('warn'),
      AUTH_DATABASE_URL: setting.postgresUrl().optional(),
      BOOKING_DATABASE_URL: setting.postgresUrl().optional(),
      LOCATION_DATABASE_URL: setting.postgresUrl().optional(),
      PAYMENT_DATABASE_URL: setting.postgresUrl().optional(),
      /** Set (or REDIS_URL set): the bus, revocations, nonces and throttles use Redis; else in memory. */
      EVENT_BUS: z.enum(['redis', 'memory']).optional(),
      REDIS_URL: setting.redisUrl().optional(),
      /** Given: auth signs with it. Unset: a key made once and kept in the data folder (sessions survive restarts). */
      AUTH_JWT_PRIVATE_KEYS: z.string().optional(),
    },
    env,
  );
  const given: Partial<Record<Feature, string>> = {};
  for (const f of FEATURES) {
    const url = config[`${f.toUpperCase() as Uppercase<Feature>}_DATABASE_URL`];
    if (url) given[f] = url;
  }
  return {
    dataDir: path.resolve(config.START_DATA_DIR),
    seed: config.START_SEED,
    logLevel: config.LOG_LEVEL,
    /** Database URLs given in the environment; every other feature gets an embedded database. */
    givenDatabases: given,
    embedded: FEATURES.filter((f) => !given[f]),
    jwtKeys: config.AUTH_JWT_PRIVATE_KEYS,
    eventBus: config.EVENT_BUS ?? (config.REDIS_URL ? 'redis' : 'memory'),
    root: ROOT,
  };
}

export type StartConfig = ReturnType<typeof loadStartConfig>;
