import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/**
 * The gateway's Prometheus metrics, served at `GET /metrics`. One registry per gateway instance, not
 * prom-client's global one: tests run several gateways in one process. Label values are bounded: `client` is a
 * manifest/app name, `operation` an operation name (or `anonymous`), `code` a catalogue code.
 */
export function createGatewayMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Counter<L>({ name, help, labelNames, registers: [registry] });
  const histogram = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    buckets: number[],
  ) => new Histogram<L>({ name, help, labelNames, buckets, registers: [registry] });
  const metrics = {
    registry,
    requests: counter(
      'gateway_requests_total',
      'GraphQL requests answered, by operation name, client and outcome (ok or error)',
      ['operation', 'client', 'outcome'],
    ),
    requestDuration: histogram(
      'gateway_request_duration_seconds',
      'Time from the start of GraphQL processing (body read, caller identified) to the response, by operation name and client',
      ['operation', 'client'],
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    ),
    subgraphFetchDuration: histogram(
      'gateway_subgraph_fetch_duration_seconds',
      'Time of each fetch to a subgraph, by subgraph',
      ['subgraph'],
      [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    ),
    subgraphErrors: counter(
      'gateway_subgraph_errors_total',
      'Subgraph fetches that failed (timeout, unreachable, HTTP error), by subgraph and reason',
      ['subgraph', 'reason'],
    ),
    subgraphFetchesShared: counter(
      'gateway_subgraph_fetches_shared_total',
      'Subgraph fetches not sent because an identical query was in flight (SUBGRAPH_DEDUPE), by subgraph',
      ['subgraph'],
    ),
    responseCache: counter(
      'gateway_response_cache_total',
      'Public answers kept by the response cache, by result (hit, miss, stored, skipped: evicted while computed; evicted: dropped by a tag)',
      ['result'],
    ),
    errors: counter('gateway_errors_total', 'Errors returned to clients, by catalogue code', ['code']),
    rateLimited: counter(
      'gateway_rate_limited_total',
      'Requests refused with 429, by client and the bucket that refused (key, user, address)',
      ['client', 'bucket'],
    ),
    apq: counter(
      'gateway_apq_total',
      'Automatic persisted query lookups, by result (hit, miss, registered)',
      ['result'],
    ),
    safelistRejections: counter(
      'gateway_safelist_rejections_total',
      'Operations refused because they are not in the client manifest (enforce mode, partners)',
      ['client'],
    ),
    safelistAudit: counter(
      'gateway_safelist_audit_total',
      'Operations run although not in the client manifest (audit mode), by client and operation name',
      ['client', 'operation'],
    ),
  };
  return metrics;
}

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;
