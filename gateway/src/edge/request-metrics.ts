import type { ApolloServerPlugin } from '@apollo/server';
import { isErrorCode } from '@carwash/errors';
import type { EdgeClient } from './client.js';
import { failureReasonOf } from './subgraph-fetch.js';
import { BoundedLabels } from './labels.js';
import type { GatewayMetrics } from './metrics.js';

/** Distinct operation names and client names one gateway instance labels before it says `other`. */
export const MAX_OPERATION_LABELS = 500;
export const MAX_CLIENT_LABELS = 200;

/** The label values of one gateway instance: bounded, whoever sends the names. */
export interface EdgeLabels {
  operation: BoundedLabels;
  client: BoundedLabels;
}

export function createEdgeLabels(): EdgeLabels {
  return {
    operation: new BoundedLabels(MAX_OPERATION_LABELS),
    client: new BoundedLabels(MAX_CLIENT_LABELS),
  };
}

/** Label of a request whose context could not be built (a refused token): nobody is identified yet. */
const UNIDENTIFIED = 'unidentified';

/**
 * Requests, latency and errors by catalogue code, for every GraphQL request the server processes:
 * - `operation` is the operation's name once one is chosen, `anonymous` for an unnamed one, `none` when
 *   the request failed before (parse or validation errors);
 * - `outcome` is `error` when the response carries any error (partial data included), else `ok`;
 * - latency runs from the start of GraphQL processing (body read, caller identified) to the response.
 * A request refused while its context is built (401 on a bad token) or before GraphQL runs (400) has no
 * operation or client yet: it is counted with `unidentified` labels, its error by code.
 */
export function requestMetricsPlugin(
  metrics: Pick<GatewayMetrics, 'requests' | 'requestDuration' | 'errors'>,
  labels: EdgeLabels,
): ApolloServerPlugin<{ client: EdgeClient }> {
  const countErrors = (errors: ReadonlyArray<unknown>) => {
    for (const e of errors) {
      const code = (e as { extensions?: Record<string, unknown> } | null)?.extensions?.code;
      metrics.errors.inc({ code: isErrorCode(code) ? code : 'INTERNAL_SERVER_ERROR' });
    }
  };
  return {
    async contextCreationDidFail({ error }) {
      metrics.requests.inc({ operation: 'none', client: UNIDENTIFIED, outcome: 'error' });
      countErrors([error]);
    },
    // Refused before GraphQL runs (no query, a CSRF-suspect request, a bad method): a 400 all the same.
    async invalidRequestWasReceived({ error }) {
      metrics.requests.inc({ operation: 'none', client: UNIDENTIFIED, outcome: 'error' });
      countErrors([error]);
    },
    async requestDidStart({ contextValue }) {
      const started = performance.now();
      return {
        async willSendResponse({ response, operation, operationName }) {
          const errors = response.body.kind === 'single' ? (response.body.singleResult.errors ?? []) : [];
          const operationLabel = labels.operation.of(
            operation ? (operationName ?? operation.name?.value ?? 'anonymous') : 'none',
          );
          const clientLabel = labels.client.of(contextValue.client.name);
          metrics.requests.inc({
            operation: operationLabel,
            client: clientLabel,
            outcome: errors.length ? 'error' : 'ok',
          });
          metrics.requestDuration.observe(
            { operation: operationLabel, client: clientLabel },
            (performance.now() - started) / 1000,
          );
          countErrors(errors);
        },
      };
    },
  };
}

/** Why a subgraph fetch failed, as a bounded label. */
/** `timeout` or `unreachable` as the subgraph client classifies it; anything else thrown counts as unreachable. */
function failureReason(err: unknown): string {
  return failureReasonOf(err) ?? 'unreachable';
}

/**
 * Wraps a subgraph client's `fetch` or `send`: each call's time (to response headers for `fetch`, to
 * the last byte for `send`), by subgraph, and failures by reason (`timeout`, `unreachable`, `http_4xx`,
 * `http_5xx`). Whatever else wraps the call (signing, timeouts) stays as it is: this only observes.
 */
export function measured<A extends unknown[], R extends { status: number }>(
  metrics: Pick<GatewayMetrics, 'subgraphFetchDuration' | 'subgraphErrors'>,
  subgraph: string,
  call: (...args: A) => Promise<R>,
): (...args: A) => Promise<R> {
  return async (...args) => {
    const stop = metrics.subgraphFetchDuration.startTimer({ subgraph });
    try {
      const res = await call(...args);
      stop();
      if (res.status < 200 || res.status > 299)
        metrics.subgraphErrors.inc({ subgraph, reason: `http_${Math.floor(res.status / 100)}xx` });
      return res;
    } catch (err) {
      stop();
      metrics.subgraphErrors.inc({ subgraph, reason: failureReason(err) });
      throw err;
    }
  };
}
