import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  signUpAs,
  startGatewayReplica,
  startSupergraph,
  type GatewayReplica,
  type GraphQLResult,
  type Running,
} from './support/supergraph.js';
import { metricValue, scrapeMetrics } from './support/metrics.js';

const SAMPLE = fileURLToPath(new URL('../schema/persisted-queries/sample-partner.json', import.meta.url));
const API_KEY_CACHE_TTL_MS = 300;
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

function manifest(...ops: Array<{ name: string; type: 'query' | 'mutation'; body: string }>) {
  return JSON.stringify({
    format: 'apollo-persisted-query-manifest',
    version: 1,
    operations: ops.map((op) => ({ id: sha256(op.body), ...op })),
  });
}

const SERVICES =
  'query Services {\n  services {\n    id\n    name\n    description\n    durationMinutes\n    isAddOn\n    price {\n      amountCents\n      currency\n    }\n  }\n}';
const OTHER = {
  name: 'OtherServices',
  type: 'query' as const,
  body: 'query OtherServices { services { id name } }',
};
const WEB = { name: 'WebServices', type: 'query' as const, body: 'query WebServices { services { id } }' };

const dir = mkdtempSync(join(tmpdir(), 'carwash-pq-'));
copyFileSync(SAMPLE, join(dir, 'sample-partner.json'));
writeFileSync(join(dir, 'other-partner.json'), manifest(OTHER));
writeFileSync(join(dir, 'web.json'), manifest(WEB));
writeFileSync(join(dir, 'ios.json'), manifest(WEB));

let sg: Running;
let admin: string;
let sampleKey: string;
let otherKey: string;

async function createKey(client: string, tier = 'default') {
  const r = await sg.gql<{
    createApiKey: { key: string; apiKey: { id: string; client: string; tier: string } };
  }>(
    `mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { key apiKey { id client tier prefix createdAt revokedAt } } }`,
    { i: { name: `${client} integration`, client, tier } },
    admin,
  );
  expect(r.errors).toBeUndefined();
  return r.data!.createApiKey;
}

/** A request as a client library sends it: a full query, or only the id (`extensions.persistedQuery`). */
async function send(
  url: string,
  body: { query?: string; id?: string; variables?: Record<string, unknown> },
  headers: Record<string, string> = {},
): Promise<GraphQLResult> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({
      ...(body.query !== undefined ? { query: body.query } : {}),
      variables: body.variables ?? {},
      ...(body.id ? { extensions: { persistedQuery: { version: 1, sha256Hash: body.id } } } : {}),
    }),
  });
  expect(res.headers.get('content-type')).toMatch(/json/);
  return { status: res.status, ...((await res.json()) as object) };
}

/** The value of a gateway's series now (0 before its first increment). */
async function metric(gatewayUrl: string, name: string, labels: Record<string, string>): Promise<number> {
  return metricValue(await scrapeMetrics(gatewayUrl), name, labels);
}

beforeAll(async () => {
  sg = await startSupergraph({
    gatewayEnv: {
      PERSISTED_QUERIES_DIR: dir,
      SAFELIST_CLIENTS: 'web:audit,ios:enforce',
      SAFELIST_DEFAULT_MODE: 'off',
      API_KEY_CACHE_TTL_MS: String(API_KEY_CACHE_TTL_MS),
    },
  });
  admin = (await signUpAs(sg, 'ADMIN')).token;
  sampleKey = (await createKey('sample-partner', 'gold')).key;
  otherKey = (await createKey('other-partner')).key;
});
afterAll(async () => {
  await sg?.stop();
});

describe('partner API keys', () => {
  it('shows the key once and lists the record (hashed, with client and tier) to admins only', async () => {
    const created = await createKey('sample-partner', 'silver');
    expect(created.key).toMatch(/^cwk_/);
    const list = await sg.gql<{
      apiKeys: Array<{ id: string; client: string; tier: string; prefix: string }>;
    }>('{ apiKeys { id client tier prefix lastUsedAt revokedAt } }', {}, admin);
    const row = list.data!.apiKeys.find((k) => k.id === created.apiKey.id);
    expect(row).toMatchObject({ client: 'sample-partner', tier: 'silver', prefix: created.key.slice(0, 8) });
    expect(JSON.stringify(list)).not.toContain(created.key);
    const client = await signUpAs(sg, 'MANAGER');
    const denied = await sg.gql('{ apiKeys { id } }', {}, client.token);
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const bad = await sg.gql(
      `mutation { createApiKey(input: { name: "x", client: "../web", tier: "gold" }) { key } }`,
      {},
      admin,
    );
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.client' });
  });

  it('keeps the gateway-only key verdict out of the public API', async () => {
    const r = await sg.gql(`{ apiKeyVerdict(key: "${sampleKey}") { client } }`, {}, admin);
    // A validation error: 200 for a legacy `application/json` client, per GraphQL over HTTP; never data.
    expect(r.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(r.data).toBeUndefined();
  });

  it('refuses an unknown key with 401 API_KEY_INVALID, as JSON', async () => {
    const r = await send(sg.gatewayUrl, { id: sha256(SERVICES) }, { 'x-api-key': `cwk_${'x'.repeat(43)}` });
    expect(r.status).toBe(401);
    expect(r.errors?.[0]?.extensions?.code).toBe('API_KEY_INVALID');
  });

  it('refuses a revoked key with 401 within API_KEY_CACHE_TTL_MS of the revocation', async () => {
    const { key, apiKey } = await createKey('sample-partner');
    expect((await send(sg.gatewayUrl, { id: sha256(SERVICES) }, { 'x-api-key': key })).status).toBe(200);
    const revoked = await sg.gql<{ revokeApiKey: { revokedAt: string } }>(
      `mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }`,
      { id: apiKey.id },
      admin,
    );
    expect(revoked.data?.revokeApiKey.revokedAt).toBeTruthy();
    const started = Date.now();
    let last: GraphQLResult;
    do {
      last = await send(sg.gatewayUrl, { id: sha256(SERVICES) }, { 'x-api-key': key });
      if (last.status === 401) break;
      await new Promise((r) => setTimeout(r, 25));
    } while (Date.now() - started < 5000);
    expect(last.status).toBe(401);
    expect(last.errors?.[0]?.extensions?.code).toBe('API_KEY_INVALID');
    expect(Date.now() - started).toBeLessThan(API_KEY_CACHE_TTL_MS + 500);
  });
});

describe('trusted documents per client', () => {
  it('refuses a partner key running an operation that is not in its manifest (PERSISTED_QUERY_NOT_IN_LIST)', async () => {
    const before = await metric(sg.gatewayUrl, 'gateway_safelist_rejections_total', {
      client: 'sample-partner',
    });
    const r = await send(sg.gatewayUrl, { query: '{ services { id } }' }, { 'x-api-key': sampleKey });
    expect(r.status).toBe(403);
    expect(r.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_IN_LIST');
    expect(r.data).toBeUndefined();
    expect(
      await metric(sg.gatewayUrl, 'gateway_safelist_rejections_total', { client: 'sample-partner' }),
    ).toBe(before + 1);
  });

  it('runs a partner operation sent by its manifest id', async () => {
    const r = await send(sg.gatewayUrl, { id: sha256(SERVICES) }, { 'x-api-key': sampleKey });
    expect(r.status).toBe(200);
    expect(r.errors).toBeUndefined();
    expect(Array.isArray((r.data as { services: unknown[] }).services)).toBe(true);
  });

  it("refuses a partner sending another partner's operation id", async () => {
    const r = await send(sg.gatewayUrl, { id: sha256(OTHER.body) }, { 'x-api-key': sampleKey });
    expect(r.status).toBe(403);
    expect(r.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_IN_LIST');
    const own = await send(sg.gatewayUrl, { id: sha256(OTHER.body) }, { 'x-api-key': otherKey });
    expect(own.status).toBe(200);
    expect(own.errors).toBeUndefined();
  });

  it('lets no partner register a document through APQ', async () => {
    const query = `query Smuggled { services { id name } me { id } }`;
    const r = await send(sg.gatewayUrl, { query, id: sha256(query) }, { 'x-api-key': sampleKey });
    expect(r.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_IN_LIST');
    // Nothing was stored: the same hash is still unknown to APQ.
    const miss = await send(sg.gatewayUrl, { id: sha256(query) });
    expect(miss.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
  });

  it("runs an audit client's unknown operation and counts it; refuses it for an enforce client", async () => {
    const labels = { client: 'web', operation: 'NotInWebManifest' };
    const before = await metric(sg.gatewayUrl, 'gateway_safelist_audit_total', labels);
    const query = 'query NotInWebManifest { services { id name } }';
    const r = await send(sg.gatewayUrl, { query }, { 'apollographql-client-name': 'web' });
    expect(r.status).toBe(200);
    expect(r.errors).toBeUndefined();
    expect(await metric(sg.gatewayUrl, 'gateway_safelist_audit_total', labels)).toBe(before + 1);
    // Its own manifest's operation is not counted.
    await send(sg.gatewayUrl, { query: WEB.body }, { 'apollographql-client-name': 'web' });
    expect(
      await metric(sg.gatewayUrl, 'gateway_safelist_audit_total', {
        client: 'web',
        operation: 'WebServices',
      }),
    ).toBe(0);
    const ios = await send(sg.gatewayUrl, { query }, { 'apollographql-client-name': 'ios' });
    expect(ios.status).toBe(403);
    expect(ios.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_IN_LIST');
    expect(
      (await send(sg.gatewayUrl, { id: sha256(WEB.body) }, { 'apollographql-client-name': 'ios' })).status,
    ).toBe(200);
  });

  it('reloads a changed manifest without a restart', async () => {
    const added = {
      name: 'AddedLater',
      type: 'query' as const,
      body: 'query AddedLater { services { name } }',
    };
    expect((await send(sg.gatewayUrl, { id: sha256(added.body) }, { 'x-api-key': otherKey })).status).toBe(
      403,
    );
    writeFileSync(join(dir, 'other-partner.json'), manifest(OTHER, added));
    const started = Date.now();
    let status = 0;
    while (Date.now() - started < 5000) {
      status = (await send(sg.gatewayUrl, { id: sha256(added.body) }, { 'x-api-key': otherKey })).status;
      if (status === 200) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe(200);
  });
});

describe('a second gateway replica (default API_KEY_CACHE_TTL_MS, same Redis namespace)', () => {
  let second: GatewayReplica;
  let secondUrl: string;
  beforeAll(async () => {
    second = await startGatewayReplica(sg, { PERSISTED_QUERIES_DIR: dir });
    secondUrl = second.url;
  });
  afterAll(async () => {
    await second?.stop();
  });

  it('serves a document registered through one gateway as a hit on another sharing Redis', async () => {
    const query = `query ApqShared { services { id durationMinutes } } # ${Date.now()}`;
    const id = sha256(query);
    const miss = await send(secondUrl, { id });
    expect(miss.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    const registered = await send(sg.gatewayUrl, { query, id });
    expect(registered.errors).toBeUndefined();
    expect(await metric(sg.gatewayUrl, 'gateway_apq_total', { result: 'registered' })).toBeGreaterThanOrEqual(
      1,
    );
    const hitsBefore = await metric(secondUrl, 'gateway_apq_total', { result: 'hit' });
    const hit = await send(secondUrl, { id });
    expect(hit.status).toBe(200);
    expect(hit.errors).toBeUndefined();
    expect(hit.data).toEqual(registered.data);
    expect(await metric(secondUrl, 'gateway_apq_total', { result: 'hit' })).toBe(hitsBefore + 1);
    expect(await metric(secondUrl, 'gateway_apq_total', { result: 'miss' })).toBeGreaterThanOrEqual(1);
  });

  it('refuses a revoked key at once on another replica, long before its cache TTL (the announcement)', async () => {
    const { key, apiKey } = await createKey('sample-partner');
    const ok = await send(secondUrl, { id: sha256(SERVICES) }, { 'x-api-key': key });
    expect(ok.status).toBe(200);
    await sg.gql(`mutation($id: ID!) { revokeApiKey(id: $id) { id } }`, { id: apiKey.id }, admin);
    const started = Date.now();
    let status = 0;
    while (Date.now() - started < 10_000) {
      status = (await send(secondUrl, { id: sha256(SERVICES) }, { 'x-api-key': key })).status;
      if (status === 401) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(status).toBe(401);
    // The second replica caches verdicts for the default 5 s: only the announcement explains this.
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
