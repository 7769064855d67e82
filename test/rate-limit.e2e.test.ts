import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PASSWORD,
  signUpAs,
  startGatewayReplica,
  startSupergraph,
  uniqueEmail,
  type GraphQLResult,
  type Running,
} from './support/supergraph.js';
import { metricValue, scrapeMetrics } from './support/metrics.js';

/** The tier both rate-limited replicas run with: small, so a test exhausts it in one or two requests. */
const POINTS = 100;
/** A partner tier smaller still: its key runs out after a handful of persisted calls. */
const GOLD_POINTS = 5;
const TIGHT = {
  RATE_LIMIT_TIERS: `default:${POINTS}/60,gold:${GOLD_POINTS}/60`,
  // These tests spend points with many aliased root fields; the edge's document limits (15 aliases and
  // root fields by default, tested in gateway/test/edge-limits) would refuse them before any pricing.
  LIMIT_MAX_ALIASES: '200',
  LIMIT_MAX_ROOT_FIELDS: '200',
};

/** The shipped sample partner manifest's `Services` operation: partners call it by id, 1 point a call. */
const SAMPLE_MANIFEST = JSON.parse(
  readFileSync(new URL('../schema/persisted-queries/sample-partner.json', import.meta.url), 'utf8'),
) as { operations: Array<{ id: string; name: string }> };
const SERVICES_ID = SAMPLE_MANIFEST.operations.find((o) => o.name === 'Services')!.id;

async function byId(url: string, id: string, apiKey: string, from: string): Promise<Answer> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': apiKey, 'x-forwarded-for': from },
    body: JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: id } } }),
  });
  return answer(res);
}

/** A GraphQL answer with the headers these tests read. */
async function answer(res: Response): Promise<Answer> {
  const body = (await res.json()) as Omit<GraphQLResult, 'status'>;
  return {
    status: res.status,
    retryAfter: res.headers.get('retry-after'),
    contentType: res.headers.get('content-type'),
    ...body,
  };
}

interface Answer extends GraphQLResult {
  retryAfter: string | null;
  contentType: string | null;
}

async function post(
  url: string,
  query: string,
  { from, token, variables }: { from?: string; token?: string; variables?: Record<string, unknown> } = {},
): Promise<Answer> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      // The test talks to the gateway over loopback, a trusted proxy by default: this is the client address.
      ...(from ? { 'x-forwarded-for': from } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  return answer(res);
}

/** One operation of `n` aliased root `__typename`s: costs n points (1 each), reaches no subgraph. */
const typenames = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `t${i}: __typename`).join(' ')} }`;

let nextAddress = 1;
/** A documentation-range IPv4 address no other test uses, so each test starts with full buckets. */
const freshAddress = () => `198.51.100.${nextAddress++}`;

function expectRefused(res: Answer): void {
  expect(res.status).toBe(429);
  expect(res.contentType).toMatch(/json/);
  expect(res.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
  const seconds = Number(res.retryAfter);
  expect(Number.isInteger(seconds)).toBe(true);
  expect(seconds).toBeGreaterThanOrEqual(1);
  expect(seconds).toBeLessThanOrEqual(60);
  expect(res.errors?.[0]?.extensions?.retryAfterSeconds).toBe(seconds);
  expect(res.data ?? null).toBeNull();
}

let sg: Running;
let a: Awaited<ReturnType<typeof startGatewayReplica>>;
let b: Awaited<ReturnType<typeof startGatewayReplica>>;
beforeAll(async () => {
  // sg.gateway keeps the unlimited test tier (for sign-ups); a and b are two replicas with a tight one.
  sg = await startSupergraph();
  a = await startGatewayReplica(sg, TIGHT);
  b = await startGatewayReplica(sg, TIGHT);
});
afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await sg?.stop();
});

describe('rate limits shared by every gateway replica', () => {
  it('refuses with 429, Retry-After and RATE_LIMITED once two replicas together used up one address’s points', async () => {
    const from = freshAddress();
    expect((await post(a.url, typenames(60), { from })).status).toBe(200);
    expect((await post(b.url, typenames(40), { from })).status).toBe(200);
    const before = metricValue(await scrapeMetrics(b.url), 'gateway_rate_limited_total', {
      client: 'anonymous',
      bucket: 'address',
    });
    const refused = await post(b.url, '{ __typename }', { from });
    expectRefused(refused);
    expectRefused(await post(a.url, '{ __typename }', { from }));
    const after = metricValue(await scrapeMetrics(b.url), 'gateway_rate_limited_total', {
      client: 'anonymous',
      bucket: 'address',
    });
    expect(after - before).toBe(1);
    // Another address is untouched.
    expect((await post(a.url, '{ __typename }', { from: freshAddress() })).status).toBe(200);
  });

  it('prices aliased sign-ups: 20 in one request are refused whole and reach no subgraph', async () => {
    const from = freshAddress();
    const emails = Array.from({ length: 20 }, () => uniqueEmail('alias-bomb'));
    const bomb = `mutation { ${emails
      .map(
        (email, i) =>
          `s${i}: signUp(input: { email: "${email}", password: "${PASSWORD}", firstName: "A", lastName: "B" }) { user { id } }`,
      )
      .join(' ')} }`;
    expectRefused(await post(a.url, bomb, { from }));
    expect(await sg.auth.db.user.count({ where: { email: { in: emails } } })).toBe(0);
  });

  it('charges each aliased sign-up its full cost (two cost 100 points), then refuses the next plain request', async () => {
    const from = freshAddress();
    const [e1, e2] = [uniqueEmail('alias-pair'), uniqueEmail('alias-pair')];
    const pair = `mutation($a: SignUpInput!, $b: SignUpInput!) { x: signUp(input: $a) { user { id } } y: signUp(input: $b) { user { id } } }`;
    const input = (email: string) => ({ email, password: PASSWORD, firstName: 'Al', lastName: 'Ias' });
    const ok = await post(a.url, pair, { from, variables: { a: input(e1), b: input(e2) } });
    expect(ok.status).toBe(200);
    expect(ok.errors).toBeUndefined();
    expectRefused(await post(b.url, '{ __typename }', { from }));
  });

  it('counts every address of one IPv6 /64 as one client behind a trusted proxy, and another /64 apart', async () => {
    expect((await post(a.url, typenames(POINTS), { from: '2001:db8:77:1::1' })).status).toBe(200);
    // Rotating the interface id (privacy addresses) gains nothing.
    expectRefused(await post(b.url, '{ __typename }', { from: '2001:db8:77:1:ffff:eeee:dddd:cccc' }));
    expect((await post(b.url, '{ __typename }', { from: '2001:db8:77:2::1' })).status).toBe(200);
  });

  it('counts a signed-in user on their own, wherever they connect from, not on their address', async () => {
    const [alice, bob] = [await signUpAs(sg, 'CLIENT', 'Alice'), await signUpAs(sg, 'CLIENT', 'Bob')];
    const from = freshAddress();
    expect((await post(a.url, typenames(POINTS), { from, token: alice.token })).status).toBe(200);
    // Alice is out of points on every replica and from any address …
    expectRefused(await post(b.url, '{ __typename }', { from, token: alice.token }));
    expectRefused(await post(a.url, '{ __typename }', { from: freshAddress(), token: alice.token }));
    // … while Bob behind the same NAT, and anonymous pages from it, are not.
    expect((await post(b.url, '{ me { id } }', { from, token: bob.token })).data).toEqual({
      me: { id: bob.id },
    });
    expect((await post(a.url, '{ __typename }', { from })).status).toBe(200);
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy (no address spoofing)', async () => {
    // Its own namespace: 127.0.0.1's bucket in the shared one holds this file's sign-ups.
    const strict = await startGatewayReplica(sg, {
      ...TIGHT,
      TRUSTED_PROXIES: 'none',
      EVENTS_NAMESPACE: `${sg.namespace}-strict`,
    });
    try {
      // Every request comes from 127.0.0.1; each claims another address, and they still share one bucket.
      expect((await post(strict.url, typenames(POINTS), { from: freshAddress() })).status).toBe(200);
      expectRefused(await post(strict.url, '{ __typename }', { from: freshAddress() }));
    } finally {
      await strict.stop();
    }
  });
});

describe('rate limits per partner API key', () => {
  async function createKey(admin: string): Promise<string> {
    const r = await sg.gql<{ createApiKey: { key: string } }>(
      `mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { key } }`,
      { i: { name: 'rate-limit test', client: 'sample-partner', tier: 'gold' } },
      admin,
    );
    expect(r.errors).toBeUndefined();
    return r.data!.createApiKey.key;
  }

  it('shares one key’s bucket, at the key’s tier, across two replicas, apart from other keys and its address', async () => {
    const admin = (await signUpAs(sg, 'ADMIN')).token;
    const key = await createKey(admin);
    const otherKey = await createKey(admin);
    const from = freshAddress();
    // 3 calls on one replica and 2 on the other use up the gold tier's 5 points.
    for (const url of [a.url, b.url, a.url, b.url, a.url]) {
      const ok = await byId(url, SERVICES_ID, key, from);
      expect(ok.status).toBe(200);
      expect(ok.errors).toBeUndefined();
    }
    const before = metricValue(await scrapeMetrics(a.url), 'gateway_rate_limited_total', {
      client: 'sample-partner',
      bucket: 'key',
    });
    expectRefused(await byId(b.url, SERVICES_ID, key, from));
    expectRefused(await byId(a.url, SERVICES_ID, key, from));
    const after = metricValue(await scrapeMetrics(a.url), 'gateway_rate_limited_total', {
      client: 'sample-partner',
      bucket: 'key',
    });
    expect(after - before).toBe(1);
    // Another key of the same partner and tier has its own bucket; the address itself was not charged.
    expect((await byId(a.url, SERVICES_ID, otherKey, from)).status).toBe(200);
    expect((await post(a.url, typenames(POINTS), { from })).status).toBe(200);
  });
});

describe('when the rate-limit store is unreachable', () => {
  it('keeps serving and keeps limiting, each replica in its own memory, without stalling requests', async () => {
    const cut = await startGatewayReplica(sg, { ...TIGHT, REDIS_URL: 'redis://127.0.0.1:1' });
    try {
      const from = freshAddress();
      const started = Date.now();
      const ok = await post(cut.url, typenames(POINTS), { from });
      expect(ok.status).toBe(200);
      expectRefused(await post(cut.url, '{ __typename }', { from }));
      expect(Date.now() - started).toBeLessThan(1000);
      // Shared Redis counted nothing of it: the healthy replica still has the address's full budget.
      expect((await post(a.url, typenames(POINTS), { from })).status).toBe(200);
    } finally {
      await cut.stop();
    }
  });
});

describe('rate limits in the single-process mode (EVENT_BUS=memory)', () => {
  it('refuses an overdrawn address without any Redis', async () => {
    const solo = await startGatewayReplica(sg, { ...TIGHT, EVENT_BUS: 'memory' });
    try {
      const from = freshAddress();
      expect((await post(solo.url, typenames(POINTS), { from })).status).toBe(200);
      expectRefused(await post(solo.url, '{ __typename }', { from }));
    } finally {
      await solo.stop();
    }
  });
});
