import { describe, expect, it } from 'vitest';
import { loadGatewayConfig } from '../src/config.js';
import { signUpAs, startSupergraph, testServiceKeys, type Running } from '../../test/support/supergraph.js';
import { CLIENT_HEADERS, startEdge, type Edge } from './support/edge.js';
import { startedForSuite } from '../../test/support/suite.js';

interface Answer {
  status: number;
  ms: number;
  headers: Headers;
  body: { data?: unknown; errors?: Array<{ message: string; extensions?: { code?: string } }> };
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const started = performance.now();
  const res = await fetch(url, {
    method: 'POST',
    headers: { ...CLIENT_HEADERS, ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    ms: performance.now() - started,
    headers: res.headers,
    body: JSON.parse(text),
  };
}

const codes = (a: Answer) => (a.body.errors ?? []).map((e) => e.extensions?.code);

const repeat = (n: number, f: (i: number) => string, sep = ' ') =>
  Array.from({ length: n }, (_, i) => f(i)).join(sep);

/** The bomb families of the issue, each with the code it must be refused with. */
const BOMBS: Array<{ name: string; query: string; code: string }> = [
  {
    name: 'a depth bomb (20 nested fields)',
    query: `{ node(id: "1") { ${'child { '.repeat(20)}id${' }'.repeat(20)} } }`,
    code: 'QUERY_TOO_DEEP',
  },
  {
    name: '2,000 nested inline fragments (a stack overflow before)',
    query: `{ ${'... on Query { '.repeat(2000)}__typename${' }'.repeat(2000)} }`,
    code: 'QUERY_TOO_DEEP',
  },
  {
    name: 'an alias bomb (30 aliases of one field)',
    query: `{ node(id: "1") { ${repeat(30, (i) => `a${i}: name`)} } }`,
    code: 'QUERY_TOO_MANY_ALIASES',
  },
  {
    name: '20 aliased root fields (20 aliased signUp before)',
    query: `{ ${repeat(20, (i) => `s${i}: slow(ms: 1)`)} }`,
    code: 'QUERY_TOO_MANY_ROOT_FIELDS',
  },
  {
    name: 'a cost bomb (pages of pages of pages: 10,000 nodes)',
    query: `{ node(id: "1") { ${'children(first: 10) { '.repeat(4)}id name${' }'.repeat(4)} } }`,
    code: 'QUERY_TOO_COSTLY',
  },
  {
    name: 'fragment doubling (2^30 fields in 1 KB)',
    query: `{ ...F30 } fragment F0 on Query { __typename } ${repeat(30, (i) => `fragment F${i + 1} on Query { ...F${i} ...F${i} }`)}`,
    code: 'QUERY_TOO_LARGE',
  },
  {
    name: 'fragment doubling through fields (OverlappingFieldsCanBeMerged, 5 s before)',
    query: `{ node(id: "1") { ...N25 } } fragment N0 on Node { id } ${repeat(25, (i) => `fragment N${i + 1} on Node { child { ...N${i} } child { ...N${i} } }`)}`,
    code: 'QUERY_TOO_LARGE',
  },
  {
    name: 'a fragment cycle',
    query: `{ ...F0 } ${repeat(50, (i) => `fragment F${i} on Query { ...F${(i + 1) % 50} }`)}`,
    code: 'GRAPHQL_VALIDATION_FAILED',
  },
  {
    name: 'a 5,000-fragment cycle (a stack overflow before)',
    query: `{ ...F0 } ${repeat(5000, (i) => `fragment F${i} on Query { ...F${(i + 1) % 5000} }`)}`,
    code: 'QUERY_TOO_LARGE',
  },
  {
    name: 'a directive bomb',
    query: `{ __typename ${repeat(30, () => '@include(if: true)')} }`,
    code: 'QUERY_TOO_MANY_DIRECTIVES',
  },
  {
    name: 'a token bomb',
    query: `{ ${repeat(4000, () => '__typename')} }`,
    code: 'QUERY_TOO_LARGE',
  },
];

describe('edge limits', () => {
  const edge: Edge = startedForSuite(() => startEdge());

  it('lets a normal query through to the subgraph (the counter sees it)', async () => {
    const before = edge.probe.received;
    const ok = await post(edge.url, { query: '{ node(id: "1") { id child { name } } }' });
    expect(ok.status).toBe(200);
    expect(ok.body.data).toEqual({ node: { id: '1', child: { name: 'node 1.0' } } });
    expect(edge.probe.received).toBe(before + 1);
  });

  for (const bomb of BOMBS) {
    it(`refuses ${bomb.name} with a coded 400 in well under a second, reaching no subgraph`, async () => {
      const before = edge.probe.received;
      const answer = await post(edge.url, { query: bomb.query });
      console.info(
        `${bomb.name}: ${bomb.query.length} bytes → ${answer.status} in ${answer.ms.toFixed(0)} ms`,
      );
      expect(answer.status).toBe(400);
      expect(codes(answer)).toContain(bomb.code);
      // A refusal says which limit, not that the document is malformed.
      expect(JSON.stringify(answer.body)).not.toMatch(/Syntax Error/);
      expect(answer.body.data).toBeUndefined();
      expect(answer.ms).toBeLessThan(1000);
      expect(edge.probe.received).toBe(before);
    });
  }

  it('keeps the 400 of a limit for a client that accepts only legacy application/json', async () => {
    const answer = await post(edge.url, { query: BOMBS[0]!.query }, { accept: 'application/json' });
    expect(answer.status).toBe(400);
    expect(codes(answer)).toContain('QUERY_TOO_DEEP');
  });

  it('refuses batched operations with a coded 400', async () => {
    const before = edge.probe.received;
    const answer = await post(edge.url, [{ query: '{ __typename }' }, { query: '{ slow(ms: 1) }' }]);
    expect(answer.status).toBe(400);
    expect(codes(answer)).toEqual(['OPERATION_NOT_SUPPORTED']);
    expect(edge.probe.received).toBe(before);
  });

  it('refuses a subscription over POST and an operationName that picks nothing, with coded 400s', async () => {
    const sub = await post(edge.url, { query: 'subscription { ticks }' });
    expect([sub.status, codes(sub)]).toEqual([400, ['OPERATION_NOT_SUPPORTED']]);
    for (const operationName of ['Nope', '']) {
      const a = await post(edge.url, {
        query: 'query A { __typename } query B { __typename }',
        operationName,
      });
      expect([a.status, codes(a)]).toEqual([400, ['OPERATION_RESOLUTION_FAILURE']]);
    }
    const unnamed = await post(edge.url, { query: 'query A { __typename } query B { __typename }' });
    expect([unnamed.status, codes(unnamed)]).toEqual([400, ['OPERATION_RESOLUTION_FAILURE']]);
  });

  it('refuses a body over MAX_REQUEST_BYTES with a coded 413 (256 KiB by default)', async () => {
    const answer = await post(edge.url, { query: `{ echo(text: "${'x'.repeat(300 * 1024)}") }` });
    expect([answer.status, codes(answer)]).toEqual([413, ['PAYLOAD_TOO_LARGE']]);
  });
});

describe('introspection and field suggestions', () => {
  it('are on for everybody outside production, `admins` in production', () => {
    const keys = testServiceKeys().envFor('gateway');
    expect(loadGatewayConfig({ ...keys }).INTROSPECTION).toBe('on');
    expect(loadGatewayConfig({ ...keys, NODE_ENV: 'production' }).INTROSPECTION).toBe('admins');
    expect(loadGatewayConfig({ ...keys, NODE_ENV: 'production', INTROSPECTION: 'off' }).INTROSPECTION).toBe(
      'off',
    );
  });

  describe('in `admins` mode', () => {
    const sg: Running = startedForSuite(() => startSupergraph({ gatewayEnv: { INTROSPECTION: 'admins' } }));
    const introspect = '{ __schema { queryType { name } } }';
    const typo = '{ mee { id } }';
    const auth = (token?: string): Record<string, string> =>
      token ? { authorization: `Bearer ${token}` } : {};

    it('refuses introspection to anonymous callers and non-admins with a coded 403', async () => {
      const { token } = await signUpAs(sg, 'CLIENT');
      for (const headers of [auth(), auth(token)]) {
        const answer = await post(sg.gatewayUrl, { query: introspect }, headers);
        expect([answer.status, codes(answer)]).toEqual([403, ['INTROSPECTION_DISABLED']]);
        const type = await post(sg.gatewayUrl, { query: '{ __type(name: "User") { name } }' }, headers);
        expect(codes(type)).toEqual(['INTROSPECTION_DISABLED']);
      }
    });

    it('hides "Did you mean" suggestions from them', async () => {
      const answer = await post(sg.gatewayUrl, { query: typo });
      expect(codes(answer)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
      expect(answer.body.errors![0]!.message).toBe('Cannot query field "mee" on type "Query".');
    });

    it('lets a signed-in admin introspect and see suggestions (Sandbox after logging in)', async () => {
      const { token } = await signUpAs(sg, 'ADMIN');
      const answer = await post(sg.gatewayUrl, { query: introspect }, auth(token));
      expect(answer.status).toBe(200);
      expect(answer.body.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
      const typoAnswer = await post(sg.gatewayUrl, { query: typo }, auth(token));
      expect(typoAnswer.body.errors![0]!.message).toMatch(/Did you mean "me"\?/);
    });
  });

  it('in `on` mode, anybody may introspect and sees suggestions', async () => {
    const edge = await startEdge({ INTROSPECTION: 'on' });
    try {
      const answer = await post(edge.url, { query: '{ __schema { queryType { name } } }' });
      expect(answer.body.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
      const typo = await post(edge.url, { query: '{ nod(id: "1") { id } }' });
      expect(typo.body.errors![0]!.message).toMatch(/Did you mean "node"\?/);
    } finally {
      await edge.stop();
    }
  });

  it('in `off` mode, nobody may', async () => {
    const edge = await startEdge({ INTROSPECTION: 'off' });
    try {
      const answer = await post(edge.url, { query: '{ __schema { queryType { name } } }' });
      expect(codes(answer)).toEqual(['INTROSPECTION_DISABLED']);
    } finally {
      await edge.stop();
    }
  });
});

describe('CORS', () => {
  const APP = 'https://app.example.test';
  const preflight = (url: string, origin: string) =>
    fetch(url, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,authorization',
      },
    });

  it('answers only the allowed origins, with credentials, and never a wildcard', async () => {
    const edge = await startEdge({ CORS_ORIGINS: `${APP}, http://localhost:3000` });
    try {
      const ok = await preflight(edge.url, APP);
      expect(ok.status).toBe(204);
      expect(ok.headers.get('access-control-allow-origin')).toBe(APP);
      expect(ok.headers.get('access-control-allow-credentials')).toBe('true');
      expect(ok.headers.get('access-control-allow-headers')).toMatch(/authorization/);
      const evil = await preflight(edge.url, 'https://evil.example.test');
      expect(evil.headers.get('access-control-allow-origin')).toBeNull();
      const res = await fetch(edge.url, {
        method: 'POST',
        headers: { ...CLIENT_HEADERS, origin: APP },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      expect(res.headers.get('access-control-allow-origin')).toBe(APP);
      expect(res.headers.get('vary')).toMatch(/origin/i);
    } finally {
      await edge.stop();
    }
  });

  it('sends no CORS headers by default, and `*` allows any origin without credentials', async () => {
    const none = await startEdge();
    const any = await startEdge({ CORS_ORIGINS: '*' });
    try {
      const closed = await preflight(none.url, APP);
      expect(closed.headers.get('access-control-allow-origin')).toBeNull();
      expect(closed.status).toBe(405);
      const open = await preflight(any.url, APP);
      expect(open.headers.get('access-control-allow-origin')).toBe('*');
      expect(open.headers.get('access-control-allow-credentials')).toBeNull();
    } finally {
      await none.stop();
      await any.stop();
    }
  });

  it('refuses a wildcard mixed with origins, and anything that is not an origin', () => {
    const keys = testServiceKeys().envFor('gateway');
    expect(() => loadGatewayConfig({ ...keys, CORS_ORIGINS: `*,${APP}` })).toThrow(
      /CORS_ORIGINS.*stand alone/s,
    );
    expect(() => loadGatewayConfig({ ...keys, CORS_ORIGINS: 'app.example.test' })).toThrow(
      /CORS_ORIGINS.*not understood: app\.example\.test/s,
    );
  });
});
