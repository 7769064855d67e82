/**
 * Every feature's database settings, in one place for the Prisma tooling.
 * Each feature owns one PostgreSQL database; its URL comes from `<FEATURE>_DATABASE_URL`.
 * The defaults point at the local PostgreSQL that the README and CI use.
 */
export const FEATURES = ['auth', 'booking', 'location', 'payment'] as const;
export type Feature = (typeof FEATURES)[number];

export const DEFAULT_PG = process.env.PG_BASE_URL ?? 'postgresql://postgres@127.0.0.1:5432';

export function databaseEnvName(feature: Feature): string {
  return `${feature.toUpperCase()}_DATABASE_URL`;
}

export function databaseUrl(feature: Feature): string {
  return process.env[databaseEnvName(feature)] ?? `${DEFAULT_PG}/carwash_${feature}`;
}
