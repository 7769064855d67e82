import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateServiceKeys } from '@carwash/config';
import { verifyRequest } from '@carwash/service-trust';
import { afterEach, describe, expect, it } from 'vitest';
import { createSubgraphClient, failureReasonOf, type SubgraphClient } from '../src/edge/subgraph-fetch.js';

const signing = generateServiceKeys(['gateway'], 'fetch-test').credentials.gateway!;

interface Server {
  url: string;
  /** Distinct TCP connections the server accepted. */
  connections: () => number;
  /** Most requests it held open at once. */
  peakInFlight: () => number;
  /** The headers and body of the last request it received. */
  last: () => { headers: http.IncomingHttpHeaders; body: string } | undefined;
  release: () => void;
  close: () => Promise<void>;
}

/** A subgraph stand-in: answers at once, or holds every request until `release()` (`hold`). */
async function startServer({ hold = false, never = false } = {}): Promise<Server> {
  let connections = 0;
  let inFlight = 0;
  let peak = 0;
  const held: Array<() => void> = [];
  let last: { headers: http.IncomingHttpHeaders; body: string } | undefined;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => (last = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8') }));
    inFlight += 1;
    peak = Math.max(peak, inFlight);
    const answer = () => {
      inFlight -= 1;
      res.setHeader('content-type', 'application/json');
      res.end('{"data":{"__typename":"Query"}}');
    };
    req.resume();
    if (never) return;
    if (hold) held.push(answer);
    else req.on('end', answer);
  });
  server.on('connection', () => (connections += 1));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`,
    connections: () => connections,
    peakInFlight: () => peak,
    last: () => last,
    release: () => held.splice(0).forEach((a) => a()),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** One request, its body read (an unread body keeps its connection busy). */
async function post(client: SubgraphClient): Promise<{ status: number; body: string }> {
  const res = await client.fetch(client.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"query":"{ __typename }"}',
  });
  return { status: res.status, body: await res.text() };
}

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

function clientFor(server: Server, transport: Partial<SubgraphClient['transport']> = {}): SubgraphClient {
  const client = createSubgraphClient(
    { name: 'probe', url: server.url },
    { timeoutMs: 2_000, maxConnections: 4, keepAliveMs: 4_000, ...transport },
    signing,
  );
  cleanup.push(() => client.close());
  return client;
}

describe(createSubgraphClient.name, () => {
  it('reuses kept-alive connections: 20 requests in sequence, not 20 handshakes', async () => {
    const server = await startServer();
    cleanup.push(server.close);
    const client = clientFor(server);
    for (let i = 0; i < 20; i++) expect((await post(client)).status).toBe(200);
    // undici may open a second socket while the first is being handed back; never one per request.
    expect(server.connections()).toBeLessThanOrEqual(2);
  });

  it('never opens more connections than its pool allows, however many requests wait', async () => {
    const server = await startServer({ hold: true });
    cleanup.push(server.close);
    const client = clientFor(server, { maxConnections: 2 });
    const requests = Array.from({ length: 8 }, () => post(client));
    // Let the pool open what it may, then answer in rounds until every request is served.
    const done = Promise.all(requests);
    let settled = false;
    void done.then(() => (settled = true));
    while (!settled) {
      await new Promise((r) => setTimeout(r, 20));
      server.release();
    }
    expect((await done).map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(server.connections()).toBeLessThanOrEqual(2);
    expect(server.peakInFlight()).toBeLessThanOrEqual(2);
  });

  it('send: signs for its subgraph, reuses kept-alive connections and reads the whole answer', async () => {
    const server = await startServer();
    cleanup.push(server.close);
    const client = clientFor(server);
    for (let i = 0; i < 20; i++) {
      const reply = await client.send({
        body: '{"query":"{ __typename }"}',
        headers: { 'content-type': 'application/json', 'x-request-id': `r${i}` },
      });
      expect(reply).toMatchObject({ status: 200, body: '{"data":{"__typename":"Query"}}' });
      expect(reply.headers['content-type']).toBe('application/json');
      const received = server.last()!;
      const verdict = verifyRequest(
        received.headers,
        { method: 'POST', path: '/graphql', body: received.body, requestId: `r${i}` },
        { trusted: [{ ...signing.key, service: 'gateway' }], audience: 'probe' },
      );
      expect(verdict).toMatchObject({ ok: true, service: 'gateway' });
    }
    expect(server.connections()).toBeLessThanOrEqual(2);
  });

  /** Either way of calling the subgraph (`fetch` for probes and key checks, `send` for query plans), failing. */
  const calls = [
    ['fetch', (client: SubgraphClient) => post(client)],
    ['send', (client: SubgraphClient) => client.send({ body: '{}', headers: {} })],
  ] as const;

  it.each(calls)(
    '%s: gives up on a subgraph that accepts and never answers at its deadline, as a timeout',
    async (_how, call) => {
      const server = await startServer({ never: true });
      cleanup.push(server.close);
      const client = clientFor(server, { timeoutMs: 200 });
      const started = performance.now();
      const error = await call(client).then(
        () => undefined,
        (e: unknown) => e,
      );
      const elapsed = performance.now() - started;
      expect(failureReasonOf(error)).toBe('timeout');
      expect(elapsed).toBeGreaterThanOrEqual(190);
      expect(elapsed).toBeLessThan(1_500);
    },
  );

  it.each(calls)('%s: reports a subgraph that refuses connections as unreachable', async (_how, call) => {
    const server = await startServer();
    await server.close();
    const client = clientFor(server);
    const error = await call(client).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failureReasonOf(error)).toBe('unreachable');
  });
});
