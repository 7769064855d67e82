/**
 * The one Prisma configuration every feature uses; each `prisma/<feature>/prisma.config.ts` only names
 * its feature. Schema and migrations sit beside that file, in `prisma/<feature>/`.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'prisma/config';
import { migrationAdapter } from './adapter.js';
import { databaseEnvName, databaseUrl, type Feature } from './features.js';

const here = path.dirname(fileURLToPath(import.meta.url));

export function featurePrismaConfig(feature: Feature): ReturnType<typeof defineConfig> {
  // `prisma generate` insists that these name existing files even though the generated client runs on a
  // driver adapter and needs no native engine. Pointing them at this file keeps every command offline.
  process.env.PRISMA_QUERY_ENGINE_LIBRARY ??= fileURLToPath(import.meta.url);
  process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= fileURLToPath(import.meta.url);
  process.env[databaseEnvName(feature)] ??= databaseUrl(feature);

  return defineConfig({
    experimental: { adapter: true },
    engine: 'js',
    schema: path.join(here, feature, 'schema.prisma'),
    migrations: { path: path.join(here, feature, 'migrations') },
    adapter: async () => migrationAdapter(databaseUrl(feature)),
  });
}
