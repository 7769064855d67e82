import { createLogger } from '@carwash/subgraph-kit';
import { describe, expect, it, vi } from 'vitest';
import { SharedFetches, sharingKey } from '../src/edge/shared-fetches.js';
import type { SubgraphClient, SubgraphReply, SubgraphRequest } from '../src/edge/subgraph-fetch.js';
import { SubgraphDataSource } from '../src/edge/subgraph-source.js';

const BODY = '{"query":"{ me { id } }","variables":{}}';
const request = (headers: Record<string, string>, body = BODY): SubgraphRequest => ({ body, headers });
const alice = { authorization: 'Bearer alice', 'x-carwash-client-ip': '10.0.0.1' };

describe(sharingKey.name, () => {
  it('is the same for requests that differ only in request id and trace context', () => {
    const a = sharingKey('auth', request({ ...alice, 'x-request-id': 'r1', traceparent: '00-aa-01-01' }));
    const b = sharingKey('auth', request({ ...alice, 'x-request-id': 'r2', traceparent: '00-bb-02-01' }));
    expect(a).toBeDefined();
    expect(a).toBe(b);
  });

  it('differs with the token, the client address, the client name, the body or the subgraph', () => {
    const base = sharingKey('auth', request(alice));
    const others = [
      sharingKey('auth', request({ ...alice, authorization: 'Bearer bob' })),
      sharingKey('auth', request({ 'x-carwash-client-ip': '10.0.0.1' })),
      sharingKey('auth', request({ ...alice, 'x-carwash-client-ip': '10.0.0.2' })),
      sharingKey('auth', request({ ...alice, 'apollographql-client-name': 'web' })),
      sharingKey('auth', request(alice, '{"query":"{ me { email } }","variables":{}}')),
      sharingKey('booking', request(alice)),
    ];
    for (const other of others) expect(other).not.toBe(base);
    expect(new Set(others).size).toBe(others.length);
  });

  it('refuses to share a request carrying a header it does not know', () => {
    expect(
      sharingKey('auth', request({ ...alice, 'apollo-federation-include-trace': 'ftv1' })),
    ).toBeUndefined();
  });
});

/** A subgraph client whose answers the test releases; it counts what was sent. */
function heldClient() {
  const sent: SubgraphRequest[] = [];
  const waiting: Array<(reply: SubgraphReply) => void> = [];
  const client = {
    name: 'auth',
    url: 'http://auth.test/graphql',
    transport: { timeoutMs: 1000, maxConnections: 1, keepAliveMs: 1000 },
    fetch: () => Promise.reject(new Error('not used')),
    send: (req: SubgraphRequest) => {
      sent.push(req);
      return new Promise<SubgraphReply>((resolve) => waiting.push(resolve));
    },
    close: async () => {},
  } satisfies SubgraphClient;
  const answer = (data: unknown) =>
    waiting.splice(0).forEach((resolve) =>
      resolve({
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ data }),
      }),
    );
  return { client, sent, answer };
}

const context = (requestId: string, authorization = 'Bearer alice') => ({
  requestId,
  viewer: null,
  authorization,
  clientIp: '10.0.0.1',
  client: { kind: 'anonymous' as const, name: 'anonymous', tier: 'default' },
});

/** What Apollo Gateway passes for one fetch of an incoming `operation` (`query` or `mutation`). */
function fetchOf(operation: 'query' | 'mutation', requestId: string, headers?: Record<string, string>) {
  return {
    kind: 'incoming operation',
    request: {
      query: `${operation} Op__auth__0 { me { id } }`,
      variables: {},
      operationName: 'Op__auth__0',
      ...(headers ? { http: { method: 'POST', url: '', headers: new Headers(headers) } } : {}),
    },
    incomingRequestContext: { operation: { operation } },
    context: context(requestId),
  } as never;
}

describe('SubgraphDataSource with shared fetches', () => {
  const logger = createLogger('test', 'silent');

  it('sends identical concurrent query fetches once, and gives each caller its own parsed copy', async () => {
    const { client, sent, answer } = heldClient();
    let shared = 0;
    const source = new SubgraphDataSource({ client, logger, shared: new SharedFetches(() => shared++) });
    const pending = [source.process(fetchOf('query', 'r1')), source.process(fetchOf('query', 'r2'))];
    answer({ me: { id: 'u1' } });
    const [first, second] = await Promise.all(pending);
    expect(sent).toHaveLength(1);
    expect(shared).toBe(1);
    expect(first).toEqual({ data: { me: { id: 'u1' } } });
    expect(second).toEqual(first);
    // Apollo Gateway merges into what it receives: the two must not be one object.
    expect(second!.data).not.toBe(first!.data);
  });

  it('parses a shared answer once and gives every caller but the last a deep copy, "__proto__" kept as data', async () => {
    const { client, sent, answer } = heldClient();
    const source = new SubgraphDataSource({ client, logger, shared: new SharedFetches() });
    const pending = ['r1', 'r2', 'r3'].map((id) => source.process(fetchOf('query', id)));
    const parse = vi.spyOn(JSON, 'parse');
    try {
      // An alias may be named __proto__: JSON.parse makes it an own property, and so must the copies.
      answer(JSON.parse('{"me":{"id":"u1","__proto__":{"tags":["a"]}}}'));
      const results = (await Promise.all(pending)) as Array<{ data: { me: Record<string, unknown> } }>;
      const bodies = parse.mock.calls.filter(
        ([text]) => typeof text === 'string' && text.startsWith('{"data"'),
      );
      expect(bodies).toHaveLength(1);
      expect(sent).toHaveLength(1);
      for (const { data } of results) {
        expect(Object.getPrototypeOf(data.me)).toBe(Object.prototype);
        expect(Object.keys(data.me)).toEqual(['id', '__proto__']);
        expect(data.me['__proto__']).toEqual({ tags: ['a'] });
      }
      // Apollo Gateway merges into what it receives: no object may be reachable from two answers.
      (results[0]!.data.me['__proto__'] as { tags: string[] }).tags.push('changed');
      results[1]!.data.me.id = 'changed';
      expect(results[2]!.data.me).toEqual({ id: 'u1', ['__proto__']: { tags: ['a'] } });
      expect(results[1]!.data.me['__proto__']).toEqual({ tags: ['a'] });
      expect(new Set(results.map((r) => r.data.me)).size).toBe(3);
    } finally {
      parse.mockRestore();
    }
  });

  it('sends every fetch of a mutation’s plan, even a query-shaped one, and fetches that carry other headers', async () => {
    const { client, sent, answer } = heldClient();
    let shared = 0;
    const source = new SubgraphDataSource({ client, logger, shared: new SharedFetches(() => shared++) });
    const pending = [
      source.process(fetchOf('mutation', 'r1')),
      source.process(fetchOf('mutation', 'r2')),
      source.process(fetchOf('query', 'r3', { 'apollo-federation-include-trace': 'ftv1' })),
      source.process(fetchOf('query', 'r4', { 'apollo-federation-include-trace': 'ftv1' })),
    ];
    answer({ me: { id: 'u1' } });
    await Promise.all(pending);
    expect(sent).toHaveLength(4);
    expect(shared).toBe(0);
  });

  it('sends a query again once the identical one has been answered (only in-flight fetches are shared)', async () => {
    const { client, sent, answer } = heldClient();
    const source = new SubgraphDataSource({ client, logger, shared: new SharedFetches() });
    const first = source.process(fetchOf('query', 'r1'));
    answer({ me: { id: 'u1' } });
    await first;
    const second = source.process(fetchOf('query', 'r2'));
    answer({ me: { id: 'u1' } });
    await second;
    expect(sent).toHaveLength(2);
  });

  it('without SharedFetches (SUBGRAPH_DEDUPE=off) sends every fetch', async () => {
    const { client, sent, answer } = heldClient();
    const source = new SubgraphDataSource({ client, logger });
    const pending = [source.process(fetchOf('query', 'r1')), source.process(fetchOf('query', 'r2'))];
    answer({ me: { id: 'u1' } });
    await Promise.all(pending);
    expect(sent).toHaveLength(2);
  });
});
