import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricValue, parseExposition, scrapeMetrics } from './support/metrics.js';
import { postGraphQL, startGatewayReplica, startSupergraph, type Running } from './support/supergraph.js';

let sg: Running;
beforeAll(async () => {
  sg = await startSupergraph();
});
afterAll(async () => {
  await sg?.stop();
});

/** Runs `act`, then returns how much each asked-for series moved on the gateway at `url`. */
async function moved(
  url: string,
  series: Array<[name: string, labels: Record<string, string>]>,
  act: () => Promise<unknown>,
): Promise<number[]> {
  const before = await scrapeMetrics(url);
  await act();
  const after = await scrapeMetrics(url);
  return series.map(([name, labels]) => metricValue(after, name, labels) - metricValue(before, name, labels));
}

const WEB = { 'apollographql-client-name': 'web-app' };

describe('GET /metrics', () => {
  it('serves the Prometheus exposition format with every gateway metric declared', async () => {
    const res = await fetch(new URL('/metrics', sg.gatewayUrl));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    for (const name of [
      'gateway_requests_total',
      'gateway_request_duration_seconds',
      'gateway_subgraph_fetch_duration_seconds',
      'gateway_subgraph_errors_total',
      'gateway_errors_total',
      'gateway_rate_limited_total',
    ])
      expect(text).toContain(`# TYPE ${name} `);
    expect(parseExposition(text).length).toBeGreaterThan(0);
  });

  it('counts a request, its latency and its subgraph fetch by operation name and client', async () => {
    const deltas = await moved(
      sg.gatewayUrl,
      [
        ['gateway_requests_total', { operation: 'MetricsServices', client: 'web-app', outcome: 'ok' }],
        ['gateway_request_duration_seconds_count', { operation: 'MetricsServices', client: 'web-app' }],
        ['gateway_subgraph_fetch_duration_seconds_count', { subgraph: 'booking' }],
      ],
      async () => {
        for (let i = 0; i < 3; i++) {
          const res = await postGraphQL(
            sg.gatewayUrl,
            'query MetricsServices { services { id } }',
            {},
            '',
            WEB,
          );
          expect(res.errors).toBeUndefined();
        }
      },
    );
    expect(deltas).toEqual([3, 3, 3]);
  });

  it('counts errors by catalogue code, refused requests included', async () => {
    const deltas = await moved(
      sg.gatewayUrl,
      [
        ['gateway_errors_total', { code: 'GRAPHQL_VALIDATION_FAILED' }],
        ['gateway_errors_total', { code: 'UNAUTHENTICATED' }],
        ['gateway_requests_total', { operation: 'none', client: 'web-app', outcome: 'error' }],
        ['gateway_requests_total', { client: 'unidentified', outcome: 'error' }],
        ['gateway_errors_total', { code: 'QUERY_TOO_DEEP' }],
      ],
      async () => {
        // A graphql-armor refusal (a validation rule whose code the edge restores) is counted once.
        const deep = await postGraphQL(
          sg.gatewayUrl,
          '{ me { bookings { nodes { customer { bookings { nodes { customer { bookings { nodes { customer { id } } } } } } } } } } }',
          {},
          '',
          WEB,
        );
        expect(deep.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_DEEP');
        const invalid = await postGraphQL(sg.gatewayUrl, 'query Nope { noSuchField }', {}, '', WEB);
        expect(invalid.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
        const badToken = await postGraphQL(sg.gatewayUrl, '{ me { id } }', {}, 'not-a-token');
        expect(badToken.status).toBe(401);
      },
    );
    expect(deltas).toEqual([1, 1, 2, 1, 1]);
  });

  it('counts a subgraph that cannot be reached, by subgraph and reason, beside its fetch time', async () => {
    const cut = await startGatewayReplica(sg, { SUBGRAPH_BOOKING_URL: 'http://127.0.0.1:1/graphql' });
    try {
      const deltas = await moved(
        cut.url,
        [
          ['gateway_subgraph_errors_total', { subgraph: 'booking', reason: 'unreachable' }],
          ['gateway_subgraph_fetch_duration_seconds_count', { subgraph: 'booking' }],
          ['gateway_requests_total', { operation: 'Down', outcome: 'error' }],
        ],
        async () => {
          const res = await postGraphQL(cut.url, 'query Down { services { id } }');
          expect(res.errors?.length).toBeGreaterThan(0);
        },
      );
      expect(deltas).toEqual([1, 1, 1]);
    } finally {
      await cut.stop();
    }
  });
});
