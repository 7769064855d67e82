import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/**
 * The gateway's Prometheus metrics, served at `GET /metrics`. One registry per gateway instance, not
 * prom-client's global one: tests run several gateways in one process. Label values are bounded: `client` is a
 * manifest/app name, `operation` an operation name (or `anonymous`), `code` a catalogue code.
 */
export function createGatewayMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const metrics = {
    registry,
    requests: new Counter({
      name: 'gateway_requests_total',
      help: 'GraphQL requests answered, by operation name, client and outcome (ok or error)',
      labelNames: ['operation', 'client', 'outcome'] as const,
      registers: [registry],
    }),
    requestDuration: new Histogram({
      name: 'gateway_request_duration_seconds',
      help: 'Time from the start of GraphQL processing (body read, caller identified) to the response, by operation name and client',
      labelNames: ['operation', 'client'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    subgraphFetchDuration: new Histogram({
      name: 'gateway_subgraph_fetch_duration_seconds',
      help: 'Time of each fetch to a subgraph, by subgraph',
      labelNames: ['subgraph'] as const,
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    subgraphErrors: new Counter({
      name: 'gateway_subgraph_errors_total',
      help: 'Subgraph fetches that failed (timeout, unreachable, HTTP error), by subgraph and reason',
      labelNames: ['subgraph', 'reason'] as const,
      registers: [registry],
    }),
    subgraphFetchesShared: new Counter({
      name: 'gateway_subgraph_fetches_shared_total',
      help: 'Subgraph fetches not sent because an identical query was in flight (SUBGRAPH_DEDUPE), by subgraph',
      labelNames: ['subgraph'] as const,
      registers: [registry],
    }),
    errors: new Counter({
      name: 'gateway_errors_total',
      help: 'Errors returned to clients, by catalogue code',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: 'gateway_rate_limited_total',
      help: 'Requests refused with 429, by client and the bucket that refused (key, user, address)',
      labelNames: ['client', 'bucket'] as const,
      registers: [registry],
    }),
    apq: new Counter({
      name: 'gateway_apq_total',
      help: 'Automatic persisted query lookups, by result (hit, miss, registered)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    safelistRejections: new Counter({
      name: 'gateway_safelist_rejections_total',
      help: 'Operations refused because they are not in the client manifest (enforce mode, partners)',
      labelNames: ['client'] as const,
      registers: [registry],
    }),
    safelistAudit: new Counter({
      name: 'gateway_safelist_audit_total',
      help: 'Operations run although not in the client manifest (audit mode), by client and operation name',
      labelNames: ['client', 'operation'] as const,
      registers: [registry],
    }),
  };
  return metrics;
}

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;
