import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countingPool } from '../src/db.js';

/** Any database will do: the test only opens connections and drops its own. */
const URL = `${process.env.PG_BASE_URL ?? 'postgresql://postgres@127.0.0.1:5432'}/postgres`;

let admin: pg.Client;

/**
 * Drops the connection behind `client` from the server side, as a PostgreSQL restart or failover does,
 * and waits until the client has seen it close ('end' comes after 'error'; listening to it handles nothing).
 */
async function dropConnectionOf(client: pg.PoolClient): Promise<void> {
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const closed = new Promise((resolve) => client.once('end', resolve));
  await admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
  await closed;
}

beforeAll(async () => {
  admin = new pg.Client({ connectionString: URL });
  await admin.connect();
});
afterAll(async () => {
  await admin.end();
});

describe(countingPool.name, () => {
  it('survives a dropped connection checked out between two statements (the process is not killed)', async () => {
    const sut = countingPool(URL, 2, { count: 0 });
    try {
      const client = await sut.connect();
      // Without a listener of the pool's own, the client's `error` is an uncaught exception (vitest fails the run).
      await dropConnectionOf(client);
      await expect(client.query('SELECT 1')).rejects.toThrow();
      client.release(true);
      expect((await sut.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one).toBe(1);
    } finally {
      await sut.end();
    }
  });

  it('survives a dropped idle connection and opens a new one for the next statement', async () => {
    const sut = countingPool(URL, 1, { count: 0 });
    try {
      const client = await sut.connect();
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      client.release();
      const removed = new Promise((resolve) => sut.once('remove', resolve));
      await admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
      await removed;
      const again = await sut.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      expect(again.rows[0]!.pid).not.toBe(rows[0]!.pid);
    } finally {
      await sut.end();
    }
  });
});
