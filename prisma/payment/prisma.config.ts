import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'prisma/config';
import { migrationAdapter } from '../adapter.js';
import { databaseEnvName, databaseUrl } from '../features.js';

const here = path.dirname(fileURLToPath(import.meta.url));

// `prisma generate` insists that these name existing files even though the generated client runs on a
// driver adapter and needs no native engine. Pointing them at this file keeps every command offline.
process.env.PRISMA_QUERY_ENGINE_LIBRARY ??= fileURLToPath(import.meta.url);
process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= fileURLToPath(import.meta.url);
process.env[databaseEnvName('payment')] ??= databaseUrl('payment');

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: path.join(here, 'schema.prisma'),
  migrations: { path: path.join(here, 'migrations') },
  adapter: async () => migrationAdapter(databaseUrl('payment')),
});
