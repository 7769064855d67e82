import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { createGateway, loadGatewayConfig } from '@carwash/gateway';
import { createLogger, startTracing } from '@carwash/subgraph-kit';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.js';
import { spawnGateway, startProbe, writeSupergraphFile } from './support/probe-subgraph.js';
import {
  PASSWORD,
  postGraphQL,
  SUPERGRAPH,
  uniqueEmail,
  type GraphQLResult,
  type Running,
  startSupergraph,
} from './support/supergraph.js';

/** Short, so a frozen subgraph costs the test half a second, not the 10 s default. */
const BOOKING_TIMEOUT_MS = 500;
const ACROSS_TWO_SUBGRAPHS = '{ sites(first: 1) { totalCount } services { id } }';

/** A pino destination that keeps every JSON line, for tests that read what a service logged. */
function logCapture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return {
    stream,
    lines,
    records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

type Across = { sites: { totalCount: number } | null; services: Array<{ id: string }> | null };

let sg: Running;
let proxy: FaultProxy;
const gatewayLog = logCapture();
const authLog = logCapture();
const locationLog = logCapture();
/** Every span this process makes (the first `startTracing` of the process wins: this file's). */
const spans = new InMemorySpanExporter();

beforeAll(async () => {
  startTracing('e2e', {}, { spanProcessors: [new SimpleSpanProcessor(spans)] });
  // The gateway reaches booking through a proxy that can freeze it like SIGSTOP.
  proxy = await startFaultProxy();
  sg = await startSupergraph({
    gatewayEnv: {
      SUBGRAPH_BOOKING_URL: proxy.url,
      SUBGRAPH_BOOKING_TIMEOUT_MS: String(BOOKING_TIMEOUT_MS),
    },
    loggers: {
      gateway: createLogger('gateway', 'debug', gatewayLog.stream),
      auth: createLogger('auth', 'debug', authLog.stream),
      location: createLogger('location', 'info', locationLog.stream),
    },
  });
  proxy.target = Number(new URL(sg.bookingUrl).port);
  // Warm every path once: a cold first fetch (connections, JIT, the database) may exceed the short timeout.
  await eventually(() => sg.gql<Across>(ACROSS_TWO_SUBGRAPHS), full);
});

afterAll(async () => {
  await sg?.stop();
  await proxy?.close();
});

interface ReadyBody {
  status: string;
  degraded: boolean;
  checks: Record<string, { ok: boolean; error?: string }>;
  subgraphs: Record<string, { ok: boolean; error?: string; latencyMs?: number }>;
}

async function ready(): Promise<{ status: number; body: ReadyBody }> {
  const res = await fetch(sg.gatewayUrl.replace('/graphql', '/ready'));
  return { status: res.status, body: (await res.json()) as ReadyBody };
}

/** Polls until `check` holds (the gateway recovers by itself; nothing here restarts it). */
async function eventually<T>(get: () => Promise<T>, check: (v: T) => boolean, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (check(v) || Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const full = (r: GraphQLResult<Across>) =>
  r.errors === undefined && typeof r.data?.sites?.totalCount === 'number' && Array.isArray(r.data.services);

describe('gateway with a subgraph that fails mid-test', () => {
  it('answers a frozen subgraph’s part with SUBGRAPH_TIMEOUT within its timeout, keeps the rest, stays ready, and recovers when it thaws', async () => {
    const before = await sg.gql<Across>(ACROSS_TWO_SUBGRAPHS);
    expect(full(before)).toBe(true);

    proxy.freeze();
    const started = performance.now();
    const frozen = await sg.gql<Across>(ACROSS_TWO_SUBGRAPHS);
    const elapsed = performance.now() - started;

    expect(frozen.status).toBe(200);
    expect(typeof frozen.data?.sites?.totalCount).toBe('number');
    expect(frozen.data?.services).toBeNull();
    expect(frozen.errors).toHaveLength(1);
    expect(frozen.errors![0]!.extensions).toMatchObject({ code: 'SUBGRAPH_TIMEOUT', subgraph: 'booking' });
    expect(frozen.errors![0]!.extensions!.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.stringify(frozen)).not.toMatch(/127\.0\.0\.1|ECONN|Timeout|at \w+ \(/);
    expect(elapsed).toBeGreaterThanOrEqual(BOOKING_TIMEOUT_MS - 50);
    expect(elapsed).toBeLessThan(BOOKING_TIMEOUT_MS + 2_000);

    // Readiness is the gateway's own: still 200, with booking reported down beside it.
    const during = await ready();
    expect(during.status).toBe(200);
    expect(during.body.status).toBe('ready');
    expect(during.body.subgraphs.booking).toMatchObject({ ok: false, error: 'timeout' });
    expect(during.body.subgraphs.location?.ok).toBe(true);
    expect(during.body.degraded).toBe(true);
    expect(during.body.checks.revocations).toEqual({ ok: true });

    proxy.thaw();
    const after = await eventually(() => sg.gql<Across>(ACROSS_TWO_SUBGRAPHS), full);
    expect(full(after)).toBe(true);
    const healed = await eventually(ready, (r) => r.body.subgraphs.booking?.ok === true);
    expect(healed.status).toBe(200);
    expect(healed.body.degraded).toBe(false);
  });

  it('answers a stopped subgraph’s part with SUBGRAPH_UNAVAILABLE, and full data once it listens again on its port', async () => {
    const server = sg.booking.httpServer;
    const port = Number(new URL(sg.bookingUrl).port);
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    try {
      const down = await sg.gql<Across>(ACROSS_TWO_SUBGRAPHS);
      expect(down.status).toBe(200);
      expect(typeof down.data?.sites?.totalCount).toBe('number');
      expect(down.data?.services).toBeNull();
      expect(down.errors?.map((e) => e.extensions?.code)).toEqual(['SUBGRAPH_UNAVAILABLE']);
      expect(down.errors![0]!.extensions!.subgraph).toBe('booking');
      const during = await ready();
      expect(during.status).toBe(200);
      expect(during.body.subgraphs.booking?.ok).toBe(false);
    } finally {
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    }
    const back = await eventually(() => sg.gql<Across>(ACROSS_TWO_SUBGRAPHS), full);
    expect(full(back)).toBe(true);
  });
});

describe('gateway observability', () => {
  it('continues a client’s W3C trace into the subgraphs: its trace id is on the subgraph’s log lines', async () => {
    const traceId = randomBytes(16).toString('hex');
    const traceparent = `00-${traceId}-${randomBytes(8).toString('hex')}-01`;
    const res = await postGraphQL<Across>(
      sg.gatewayUrl,
      'query TraceProbe { sites(first: 1) { totalCount } }',
      undefined,
      undefined,
      { traceparent, 'apollographql-client-name': 'trace-probe-app' },
    );
    expect(res.errors).toBeUndefined();

    const located = await eventually(
      async () => locationLog.records().filter((r) => r.traceId === traceId),
      (rs) => rs.some((r) => r.msg === 'request'),
    );
    const access = located.find((r) => r.msg === 'request')!;
    expect(access).toMatchObject({
      service: 'location',
      status: 200,
      caller: 'gateway',
      client: 'trace-probe-app',
    });
    expect(typeof access.requestId).toBe('string');

    // The gateway's own line for the request: request id, trace id, client, operation, duration, status.
    const edge = gatewayLog.records().find((r) => r.msg === 'request' && r.traceId === traceId);
    expect(edge).toMatchObject({
      service: 'gateway',
      client: 'trace-probe-app',
      operationName: 'TraceProbe',
      status: 200,
      requestId: access.requestId,
    });
    expect(typeof edge!.durationMs).toBe('number');

    // One trace from the edge into the database, each span the child of the one before: the gateway's
    // server span, Apollo Gateway's fetch to location, location's server span, Prisma's query under it.
    const traced = await eventually(
      async () => spans.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId),
      (ss) => ss.some((s) => s.instrumentationScope.name === 'location'),
    );
    const find = (scope: string, name: string) =>
      traced.find((s) => s.instrumentationScope.name === scope && s.name === name);
    const fetchSpan = find('apollo/gateway-js', 'gateway.fetch');
    const locationSpan = find('location', 'POST /graphql');
    expect(find('gateway', 'POST /graphql')).toBeDefined();
    expect(locationSpan?.parentSpanContext?.spanId).toBe(fetchSpan?.spanContext().spanId);
    const operation = traced.find(
      (s) =>
        s.name === 'prisma:client:operation' &&
        s.parentSpanContext?.spanId === locationSpan?.spanContext().spanId,
    );
    expect(operation).toBeDefined();
    expect(
      traced.some(
        (s) =>
          s.name === 'prisma:client:db_query' &&
          s.parentSpanContext?.spanId === operation?.spanContext().spanId,
      ),
    ).toBe(true);
  });

  it('starts a trace when the client sends none, and the subgraph logs the same trace id', async () => {
    const res = await postGraphQL(sg.gatewayUrl, 'query Untraced { sites(first: 1) { totalCount } }');
    expect(res.errors).toBeUndefined();
    const edge = gatewayLog.records().findLast((r) => r.msg === 'request' && r.operationName === 'Untraced');
    expect(edge?.traceId).toMatch(/^[0-9a-f]{32}$/);
    const sub = await eventually(
      async () => locationLog.records().find((r) => r.msg === 'request' && r.traceId === edge!.traceId),
      Boolean,
    );
    expect(sub).toBeDefined();
  });

  it('never writes a password or a token to any log during sign-up, log-in and a failed log-in', async () => {
    const email = uniqueEmail('logs');
    const up = await sg.gql<{ signUp: { accessToken: string; refreshToken: string } }>(
      `mutation($i: SignUpInput!) { signUp(input: $i) { accessToken refreshToken } }`,
      { i: { email, password: PASSWORD, firstName: 'Log', lastName: 'Probe' } },
    );
    const login = await sg.gql<{ logIn: { accessToken: string; refreshToken: string } }>(
      `mutation LogIn($i: LogInInput!) { logIn(input: $i) { accessToken refreshToken } }`,
      { i: { email, password: PASSWORD } },
    );
    const wrong = `Not-${PASSWORD}-${randomUUID().slice(0, 6)}`;
    const failed = await sg.gql(`mutation LogIn($i: LogInInput!) { logIn(input: $i) { accessToken } }`, {
      i: { email, password: wrong },
    });
    expect(failed.errors?.[0]?.extensions?.code).toBe('AUTH_INVALID_CREDENTIALS');
    // Signed in once more with the token, so the Authorization header passes every service too.
    await sg.gql('{ me { id } }', undefined, login.data!.logIn.accessToken);

    const secrets = [
      PASSWORD,
      wrong,
      up.data!.signUp.accessToken,
      up.data!.signUp.refreshToken,
      login.data!.logIn.accessToken,
      login.data!.logIn.refreshToken,
    ];
    const all = [...gatewayLog.lines, ...authLog.lines, ...locationLog.lines].join('\n');
    // The check can fail: the log-in was logged (by operation name) on both the gateway and auth.
    expect(gatewayLog.records().some((r) => r.operationName === 'LogIn')).toBe(true);
    // (The gateway names its fetch to auth after the client's operation: `LogIn__auth__0`.)
    expect(
      authLog.records().some((r) => r.msg === 'request' && String(r.operationName).startsWith('LogIn')),
    ).toBe(true);
    for (const secret of secrets) expect(all).not.toContain(secret);
    // No token fragment either (a JWT's signature part, a refresh token's tail).
    for (const token of secrets.slice(2)) expect(all).not.toContain(token.slice(-24));
  });
});

describe('Sandbox at GET /', () => {
  it('serves Apollo Sandbox to a browser in production, while POST / and /graphql answer GraphQL', async () => {
    const previous = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    const gateway = await createGateway(
      loadGatewayConfig({
        ...process.env,
        ...sg.keys.envFor('gateway'),
        NODE_ENV: 'production',
        SUPERGRAPH_PATH: SUPERGRAPH.pathname,
        SUBGRAPH_AUTH_URL: sg.authUrl,
        SUBGRAPH_LOCATION_URL: sg.locationUrl,
        SUBGRAPH_BOOKING_URL: sg.bookingUrl,
        SUBGRAPH_PAYMENT_URL: sg.paymentUrl,
        JWKS_URL: new URL('/.well-known/jwks.json', sg.authUrl).toString(),
        EVENTS_NAMESPACE: sg.namespace,
      }),
      createLogger('gateway', 'silent'),
    );
    try {
      const { url } = await gateway.listen(0);
      const root = url.replace('/graphql', '/');
      const page = await fetch(root, { headers: { accept: 'text/html' } });
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/text\/html/);
      const html = await page.text();
      expect(html).toContain('embeddable-sandbox');
      // Pointed at this gateway: the page sends its operations to its own URL.
      expect(html).toMatch(/initialEndpoint|window\.location\.href/);
      for (const endpoint of [root, url]) {
        const res = await postGraphQL<{ sites: { totalCount: number } }>(
          endpoint,
          '{ sites(first: 1) { totalCount } }',
        );
        expect(res.status).toBe(200);
        expect(typeof res.data?.sites.totalCount).toBe('number');
      }
    } finally {
      await gateway.stop();
      process.env.NODE_ENV = previous;
    }
  });
});

describe('trace export', () => {
  it('exports the gateway’s spans over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set, flushing them on SIGTERM', async () => {
    // A stand-in collector: keeps what is POSTed to /v1/traces.
    const received: string[] = [];
    const collector = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString('utf8')));
      req.on('end', () => {
        if (req.url === '/v1/traces') received.push(body);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
    const probe = await startProbe();
    const { child, port, output } = spawnGateway(
      writeSupergraphFile('otlp', [{ name: 'probe', url: probe.url }]),
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(collector.address() as AddressInfo).port}`,
      },
    );
    try {
      await eventually(
        async () => output(),
        (o) => o.includes('gateway ready'),
        20_000,
      );
      const traceId = randomBytes(16).toString('hex');
      const res = await postGraphQL(
        `http://127.0.0.1:${port}/graphql`,
        '{ slow(ms: 1) }',
        undefined,
        undefined,
        {
          traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01`,
        },
      );
      expect(res.data).toEqual({ slow: 'slept 1 ms' });
      const exited = new Promise<number | null>((r) => child.once('exit', r));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      const exported = received.join('\n');
      expect(exported).toContain(traceId);
      expect(exported).toContain('gateway.fetch');
      expect(exported).toContain('"service.name"');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await probe.stop();
      await new Promise((r) => collector.close(r));
    }
  });
});
