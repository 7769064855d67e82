import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { outboxNotifySql } from '@carwash/events';

const prisma = new URL('../prisma/', import.meta.url);
const features = readdirSync(prisma, { withFileTypes: true })
  .filter((d) => d.isDirectory() && d.name !== 'node_modules')
  .map((d) => d.name);

function databaseUrl(feature: string): string {
  return (
    process.env[`${feature.toUpperCase()}_DATABASE_URL`] ??
    `${process.env.PG_BASE_URL ?? 'postgresql://postgres@127.0.0.1:5432'}/carwash_${feature}`
  );
}

/** pg_trigger.tgtype bits: ROW (1), BEFORE (2), INSERT (4). */
const AFTER_INSERT_PER_STATEMENT = 4;

describe('the outbox NOTIFY trigger of every feature', () => {
  it.each(features)('%s: a migration creates outboxNotifySql verbatim', (feature) => {
    const migrations = new URL(`${feature}/migrations/`, prisma);
    const sql = readdirSync(migrations, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => readFileSync(new URL(`${d.name}/migration.sql`, migrations), 'utf8'))
      .join('\n');
    expect(sql).toContain(outboxNotifySql(`${feature}_outbox`));
  });

  it.each(features)(
    '%s: the migrated database wakes the relays on every insert into the outbox, whoever writes it',
    async (feature) => {
      const client = new pg.Client({ connectionString: databaseUrl(feature) });
      await client.connect();
      try {
        const { rows } = await client.query<{ tgtype: number; body: string }>(
          `SELECT t.tgtype, pg_get_functiondef(t.tgfoid) AS body FROM pg_trigger t
            WHERE t.tgrelid = $1::regclass AND NOT t.tgisinternal`,
          [`${feature}_outbox`],
        );
        expect(rows).toHaveLength(1);
        expect(rows[0]!.tgtype).toBe(AFTER_INSERT_PER_STATEMENT);
        expect(rows[0]!.body).toContain(`pg_notify('${feature}_outbox', '')`);
      } finally {
        await client.end();
      }
    },
  );
});
