import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { AppError, isErrorCode } from '@carwash/errors';
import { HEADER } from '@carwash/service-trust';
import { CLIENT_NAME_HEADER, injectTraceContext, type Logger } from '@carwash/subgraph-kit';
import { GraphQLError } from 'graphql';
import type { GatewayContext } from '../server.js';
import {
  causeCodeOf,
  failureReasonOf,
  type SubgraphClient,
  type SubgraphFailureReason,
} from './subgraph-fetch.js';
import type { SubgraphHealth } from './subgraph-health.js';

type ProcessOptions = GraphQLDataSourceProcessOptions<GatewayContext>;
type ProcessResult = Awaited<ReturnType<RemoteGraphQLDataSource<GatewayContext>['process']>>;
type FetchResponse = Parameters<RemoteGraphQLDataSource['errorFromResponse']>[0];

/** Trust problems between our own services: an operator's to fix, not a client's to see. */
const INTERNAL_CODES = new Set([
  'INTERNAL_SERVER_ERROR',
  'SERVICE_CREDENTIAL_MISSING',
  'SERVICE_CREDENTIAL_INVALID',
  'SERVICE_CREDENTIAL_EXPIRED',
  'SERVICE_CREDENTIAL_REPLAYED',
  'SERVICE_ACCESS_DENIED',
]);
/** Statuses a proxy or a draining server gives when the subgraph behind is not there. */
const UNAVAILABLE_STATUSES = new Set([502, 503, 504]);

export interface SubgraphSourceOptions {
  client: SubgraphClient;
  logger: Logger;
  /** Told of every fetch's outcome (passive health, beside `/ready`'s own probes). */
  health?: SubgraphHealth;
}

/**
 * Apollo Gateway's data source for one subgraph. It forwards the caller's identity, request id, client
 * name and W3C trace context (the signed fetch then signs the exact bytes), and turns a failed fetch
 * into one coded error for that subgraph's part — `SUBGRAPH_TIMEOUT` or `SUBGRAPH_UNAVAILABLE` with
 * `extensions.subgraph` — so the query plan's other fetches still fill the rest of the response.
 *
 * Apollo Gateway pushes what `process` throws into the response's errors and goes on with the plan
 * (`executeQueryPlan`), which is what gives partial data; a subgraph's own coded errors pass through.
 */
export class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  readonly #client: SubgraphClient;
  readonly #logger: Logger;
  readonly #health: SubgraphHealth | undefined;

  constructor({ client, logger, health }: SubgraphSourceOptions) {
    // Apollo's fetcher type is node-fetch's; a WHATWG fetch fits it.
    super({ url: client.url, fetcher: client.fetch as never });
    this.#client = client;
    this.#logger = logger;
    this.#health = health;
  }

  override willSendRequest({ request, context }: ProcessOptions): void {
    const headers = request.http?.headers;
    if (!headers || !context) return;
    if (context.authorization) headers.set(HEADER.authorization, context.authorization);
    if (context.requestId) headers.set(HEADER.requestId, context.requestId);
    if (context.clientIp) headers.set(HEADER.clientIp, context.clientIp);
    if (context.client) headers.set(CLIENT_NAME_HEADER, context.client.name);
    injectTraceContext(headers);
  }

  override async process(options: ProcessOptions): Promise<ProcessResult> {
    const started = performance.now();
    try {
      const result = await super.process(options);
      this.#health?.report(this.#client.name, { ok: true, latencyMs: performance.now() - started });
      return result;
    } catch (error) {
      throw this.#failed(error, options, performance.now() - started);
    }
  }

  /** A subgraph answered non-2xx: keep its own coded error, else say it is unavailable or mask it. */
  override async errorFromResponse(response: FetchResponse): Promise<GraphQLError> {
    const body: unknown = await this.parseBody(response).catch(() => undefined);
    const first = (body as { errors?: Array<{ message?: unknown; extensions?: Record<string, unknown> }> })
      ?.errors?.[0];
    const code = first?.extensions?.code;
    if (isErrorCode(code) && !INTERNAL_CODES.has(code)) {
      return new GraphQLError(typeof first?.message === 'string' ? first.message : code, {
        extensions: { ...first?.extensions, subgraph: this.#client.name },
      });
    }
    if (UNAVAILABLE_STATUSES.has(response.status)) return this.#coded('SUBGRAPH_UNAVAILABLE');
    return new GraphQLError(`Subgraph ${this.#client.name} answered HTTP ${response.status}`, {
      extensions: { status: response.status, subgraphCode: typeof code === 'string' ? code : undefined },
    });
  }

  #failed(error: unknown, options: ProcessOptions, elapsedMs: number): unknown {
    const subgraph = this.#client.name;
    const networkReason = failureReasonOf(error);
    const coded = error instanceof GraphQLError ? error.extensions.code : undefined;
    const reason: SubgraphFailureReason =
      networkReason ??
      (coded === 'SUBGRAPH_UNAVAILABLE'
        ? 'unreachable'
        : error instanceof GraphQLError
          ? 'http'
          : 'bad_response');
    const out =
      networkReason === 'timeout'
        ? this.#coded('SUBGRAPH_TIMEOUT', error)
        : networkReason === 'unreachable'
          ? this.#coded('SUBGRAPH_UNAVAILABLE', error)
          : error;
    // A subgraph that answers, even with an error, is up; one that times out or is unreachable is not.
    const down = reason === 'timeout' || reason === 'unreachable';
    this.#health?.report(subgraph, down ? { ok: false, error: reason } : { ok: true, latencyMs: elapsedMs });
    this.#logger.warn(
      {
        subgraph,
        reason,
        cause: causeCodeOf(error),
        elapsedMs: Math.round(elapsedMs),
        timeoutMs: this.#client.transport.timeoutMs,
        requestId: options.context?.requestId,
      },
      'subgraph request failed',
    );
    return out;
  }

  #coded(code: 'SUBGRAPH_TIMEOUT' | 'SUBGRAPH_UNAVAILABLE', cause?: unknown): AppError {
    return new AppError(code, { extensions: { subgraph: this.#client.name }, cause });
  }
}
