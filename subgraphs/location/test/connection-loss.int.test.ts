import { randomUUID } from 'node:crypto';
import { generateServiceKeys } from '@carwash/config';
import { signedFetch } from '@carwash/service-trust';
import { CONNECTION_RETRY_AFTER_SECONDS, createLogger } from '@carwash/subgraph-kit';
import { integrationEnv } from '@carwash/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLocationConfig } from '../src/config.js';
import { createLocationSubgraph, type LocationSubgraph } from '../src/server.js';
import { siteRow } from './support.js';

const keys = generateServiceKeys();
const env = integrationEnv(keys.envFor('location'));
const databaseUrl = new URL(loadLocationConfig(env).LOCATION_DATABASE_URL);
/** Names this test's own pool connections, so the drill terminates only them (other tests share the database). */
const application = `conn-loss-${randomUUID().slice(0, 8)}`;
databaseUrl.searchParams.set('application_name', application);
const config = loadLocationConfig({ ...env, LOCATION_DATABASE_URL: databaseUrl.toString() });
const signed = signedFetch(keys.credentials.gateway!, 'location');

let sut: LocationSubgraph;
let url: string;
let admin: pg.Client;

beforeAll(async () => {
  sut = await createLocationSubgraph(config, createLogger('location', 'silent'));
  url = (await sut.listen(0)).url;
  admin = new pg.Client({ connectionString: config.LOCATION_DATABASE_URL });
  await admin.connect();
});
afterAll(async () => {
  await admin?.end();
  await sut?.stop();
});

interface Answer {
  data?: { site: { id: string; name: string } | null } | null;
  errors?: Array<{ message: string; extensions: Record<string, unknown> }>;
}

async function site(id: string): Promise<{ status: number; body: Answer; text: string }> {
  const res = await signed(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: 'query($id: ID!) { site(id: $id) { id name } }', variables: { id } }),
  });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as Answer, text };
}

/** The backend of this test's pool that waits on a lock (the request's query), once it does. */
async function blockedBackend(): Promise<number> {
  for (let i = 0; i < 500; i++) {
    const { rows } = await admin.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
      [application],
    );
    if (rows[0]) return rows[0].pid;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('the request never reached the database');
}

describe('a database connection dropped during a request', () => {
  it('answers SERVICE_UNAVAILABLE with a retry hint and no database detail, then serves the retry', async () => {
    const { id } = await sut.db.washSite.create({ data: siteRow({ name: 'conn-loss' }) });
    // Hold the request's query on a table lock, then terminate its backend, as a failover or
    // `pg_terminate_backend` does mid-statement (SQLSTATE 57P01 on the request's connection).
    const locker = new pg.Client({ connectionString: config.LOCATION_DATABASE_URL });
    await locker.connect();
    let answer: Awaited<ReturnType<typeof site>>;
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE location_wash_sites IN ACCESS EXCLUSIVE MODE');
      const pending = site(id);
      const pid = await blockedBackend();
      const { rows } = await admin.query<{ ok: boolean }>('SELECT pg_terminate_backend($1) AS ok', [pid]);
      expect(rows[0]!.ok).toBe(true);
      answer = await pending;
    } finally {
      await locker.query('ROLLBACK').catch(() => {});
      await locker.end();
    }

    expect(answer.status).toBe(200);
    expect(answer.body.data?.site ?? null).toBeNull();
    expect(answer.body.errors).toHaveLength(1);
    const [error] = answer.body.errors!;
    expect(error!.message).toBe('A service is unavailable.');
    expect(error!.extensions).toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      retryAfterSeconds: CONNECTION_RETRY_AFTER_SECONDS,
    });
    expect(Object.keys(error!.extensions).sort()).toEqual(['code', 'requestId', 'retryAfterSeconds']);
    expect(answer.text).not.toMatch(/terminat|57P01|administrator|connection|prisma|postgres/i);

    // The pool replaced the connection: the client's retry succeeds.
    const retry = await site(id);
    expect(retry.body.errors).toBeUndefined();
    expect(retry.body.data?.site).toEqual({ id, name: 'conn-loss' });
  });
});
