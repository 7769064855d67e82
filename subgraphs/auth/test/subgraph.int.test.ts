import { randomUUID } from 'node:crypto';
import { generateServiceKeys } from '@carwash/config';
import { signRequest, signedFetch } from '@carwash/service-trust';
import { createLogger } from '@carwash/subgraph-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAuthConfig } from '../src/config.js';
import { sqlStatements } from '../src/db.js';
import { createAuthSubgraph, type AuthSubgraph } from '../src/server.js';

const keys = generateServiceKeys();
const config = loadAuthConfig({ ...process.env, ...keys.envFor('auth'), LOG_LEVEL: 'silent' });
const gateway = keys.credentials.gateway!;
const ENTITIES = `query($representations: [_Any!]!) { _entities(representations: $representations) { ... on User { id firstName email } } }`;

let sut: AuthSubgraph;
let url: string;
const signed = signedFetch(gateway, 'auth');

beforeAll(async () => {
  sut = await createAuthSubgraph(config, createLogger('auth', 'silent'));
  url = (await sut.listen(0)).url;
});
afterAll(async () => {
  await sut?.stop();
});

async function post(
  body: unknown,
  options: { sign?: boolean; token?: string; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
    ...options.headers,
  };
  const init = { method: 'POST', headers, body: JSON.stringify(body) };
  const res = options.sign === false ? await fetch(url, init) : await signed(url, init);
  return {
    status: res.status,
    body: (await res.json()) as {
      data?: Record<string, unknown> | null;
      errors?: Array<{ message: string; extensions?: { code?: string } }>;
    },
  };
}

/** Rows made by this test only; ids returned in creation order. */
async function createUsers(n: number): Promise<string[]> {
  const tag = randomUUID().slice(0, 8);
  const rows = Array.from({ length: n }, (_, i) => ({
    id: randomUUID(),
    email: `ref.${tag}.${i}@example.test`,
    emailNormalized: `ref.${tag}.${i}@example.test`,
    firstName: `User${i}`,
    lastName: tag,
  }));
  await sut.db.user.createMany({ data: rows });
  return rows.map((r) => r.id);
}

async function tokenFor(userId: string, role: 'CLIENT' | 'ADMIN' = 'CLIENT') {
  return (await sut.issuer.accessToken({ userId, role, sessionId: randomUUID() })).token;
}

describe('service trust on the auth subgraph', () => {
  const representations = [{ __typename: 'User', id: randomUUID() }];

  /** POSTs `body` with the signature `headers` as they are, returning the status and the first error code. */
  async function postSigned(headers: Record<string, string>, body: string) {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
    const answer = (await res.json()) as { errors?: Array<{ extensions: { code: string } }> };
    return { status: res.status, code: answer.errors?.[0]?.extensions.code };
  }

  it('refuses a direct _entities call without the gateway credential (401 SERVICE_CREDENTIAL_MISSING)', async () => {
    const res = await post({ query: ENTITIES, variables: { representations } }, { sign: false });
    expect(res.status).toBe(401);
    expect(res.body.errors?.[0]?.extensions?.code).toBe('SERVICE_CREDENTIAL_MISSING');
    expect(res.body.data).toBeUndefined();
  });

  it('refuses a request signed with the wrong secret (401 SERVICE_CREDENTIAL_INVALID)', async () => {
    const body = JSON.stringify({ query: ENTITIES, variables: { representations } });
    const forged = signRequest(
      { service: 'gateway', key: { id: gateway.key.id, secret: 'x'.repeat(40) } },
      'auth',
      { method: 'POST', path: '/graphql', body },
    );
    expect(await postSigned(forged, body)).toEqual({ status: 401, code: 'SERVICE_CREDENTIAL_INVALID' });
  });

  it('refuses a correctly signed request whose body was swapped', async () => {
    const signedBody = JSON.stringify({ query: '{ __typename }' });
    const headers = signRequest(gateway, 'auth', { method: 'POST', path: '/graphql', body: signedBody });
    const swapped = JSON.stringify({ query: ENTITIES, variables: { representations } });
    expect((await postSigned(headers, swapped)).status).toBe(401);
  });

  it('refuses an expired credential (401 SERVICE_CREDENTIAL_EXPIRED)', async () => {
    const body = JSON.stringify({ query: '{ __typename }' });
    const stale = signRequest(
      gateway,
      'auth',
      { method: 'POST', path: '/graphql', body },
      { now: Date.now() - 5 * 60_000 },
    );
    expect(await postSigned(stale, body)).toEqual({ status: 401, code: 'SERVICE_CREDENTIAL_EXPIRED' });
  });

  it('answers a signed request', async () => {
    const res = await post({ query: '{ _service { sdl } }' });
    expect(res.status).toBe(200);
    expect(String((res.body.data?._service as { sdl: string }).sdl)).toContain('type User');
  });

  it('serves its public keys as JWKS without a credential', async () => {
    const res = await fetch(url.replace('/graphql', '/.well-known/jwks.json'));
    const jwks = (await res.json()) as { keys: Array<Record<string, unknown>> };
    expect(jwks.keys.length).toBeGreaterThan(0);
    expect(jwks.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA' });
    expect(jwks.keys[0]).not.toHaveProperty('d');
  });
});

describe('User references (_entities)', () => {
  it('resolves 200 representations of 100 users with one SQL statement', async () => {
    const ids = await createUsers(100);
    const viewer = await tokenFor(ids[0]!);
    const representations = [...ids, ...ids].map((id) => ({ __typename: 'User', id }));
    const query = `query($representations: [_Any!]!) { _entities(representations: $representations) { ... on User { id firstName } } }`;
    const before = sqlStatements.count;
    const res = await post({ query, variables: { representations } }, { token: viewer });
    const statements = sqlStatements.count - before;
    expect(res.body.errors).toBeUndefined();
    const entities = res.body.data!._entities as Array<{ id: string; firstName: string }>;
    expect(entities).toHaveLength(200);
    expect(entities.map((e) => e.id)).toEqual([...ids, ...ids]);
    expect(entities[5]!.firstName).toBe('User5');
    expect(statements).toBe(1);
  });

  it('returns null for an unknown or malformed id without failing the batch', async () => {
    const [id] = await createUsers(1);
    const res = await post(
      {
        query: `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id } } }`,
        variables: {
          r: [
            { __typename: 'User', id },
            { __typename: 'User', id: randomUUID() },
            { __typename: 'User', id: 'not-a-uuid' },
          ],
        },
      },
      { token: await tokenFor(id!) },
    );
    expect(res.body.data!._entities).toEqual([{ id }, null, null]);
  });

  it('cannot read through _entities what user(id:) could not: no fields for anonymous callers, no foreign email for clients', async () => {
    const [alice, bob] = await createUsers(2);
    const representations = [{ __typename: 'User', id: bob }];
    const anonymous = await post({ query: ENTITIES, variables: { representations } });
    expect(anonymous.body.errors?.map((e) => e.extensions?.code)).toContain('UNAUTHENTICATED');
    expect(JSON.stringify(anonymous.body.data)).not.toContain('@example.test');

    const asAlice = await post(
      { query: ENTITIES, variables: { representations } },
      { token: await tokenFor(alice!) },
    );
    expect(asAlice.body.data!._entities).toEqual([{ id: bob, firstName: 'User1', email: null }]);
    expect(asAlice.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const asAdmin = await post(
      { query: ENTITIES, variables: { representations } },
      { token: await tokenFor(alice!, 'ADMIN') },
    );
    expect(asAdmin.body.errors).toBeUndefined();
    expect((asAdmin.body.data!._entities as Array<{ email: string }>)[0]!.email).toMatch(/@example\.test$/);
  });
});
