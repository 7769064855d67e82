import { readdirSync } from 'node:fs';
import pg from 'pg';
import { describe, expect, it } from 'vitest';

const features = readdirSync(new URL('../prisma', import.meta.url), { withFileTypes: true })
  .filter((d) => d.isDirectory() && d.name !== 'node_modules')
  .map((d) => d.name);

function databaseUrl(feature: string): string {
  return (
    process.env[`${feature.toUpperCase()}_DATABASE_URL`] ??
    `${process.env.PG_BASE_URL ?? 'postgresql://postgres@127.0.0.1:5432'}/carwash_${feature}`
  );
}

describe('feature ownership in the database catalog', () => {
  it('finds the feature databases to check', () => {
    expect(features).toContain('auth');
  });

  it.each(features)(
    '%s: every table carries the feature prefix and every foreign key stays inside the feature',
    async (feature) => {
      const client = new pg.Client({ connectionString: databaseUrl(feature) });
      await client.connect();
      try {
        const tables = await client.query<{ name: string }>(
          `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND c.relname <> '_prisma_migrations'`,
        );
        expect(tables.rows.length).toBeGreaterThan(0);
        for (const t of tables.rows)
          expect(t.name.startsWith(`${feature}_`), `${t.name} is not a ${feature}_ table`).toBe(true);

        const fks = await client.query<{ name: string; from_table: string; to_table: string }>(
          `SELECT con.conname AS name, src.relname AS from_table, dst.relname AS to_table
           FROM pg_constraint con JOIN pg_class src ON src.oid = con.conrelid JOIN pg_class dst ON dst.oid = con.confrelid
          WHERE con.contype = 'f'`,
        );
        for (const fk of fks.rows) {
          expect(
            fk.from_table.startsWith(`${feature}_`) && fk.to_table.startsWith(`${feature}_`),
            `${fk.name}: ${fk.from_table} → ${fk.to_table} crosses features`,
          ).toBe(true);
        }
      } finally {
        await client.end();
      }
    },
  );
});
