import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { AppError, isErrorCode } from '@carwash/errors';
import { HEADER } from '@carwash/service-trust';
import {
  CACHE_EVICT_HEADER,
  CACHE_TAGS_HEADER,
  CLIENT_NAME_HEADER,
  injectTraceContext,
  type Logger,
} from '@carwash/subgraph-kit';
import { GraphQLError } from 'graphql';
import type { GatewayContext } from '../server.js';
import { distinctRepresentations, spreadEntities } from './representations.js';
import type { ResponseCache } from './response-cache.js';
import { sharingKey, type SharedFetches, type SharedReply } from './shared-fetches.js';
import {
  causeCodeOf,
  failureReasonOf,
  type SubgraphClient,
  type SubgraphFailureReason,
  type SubgraphReply,
} from './subgraph-fetch.js';
import type { SubgraphHealth } from './subgraph-health.js';

type ProcessOptions = GraphQLDataSourceProcessOptions<GatewayContext>;
type ProcessResult = Awaited<ReturnType<RemoteGraphQLDataSource<GatewayContext>['process']>>;
type FetchResponse = Parameters<RemoteGraphQLDataSource['errorFromResponse']>[0];
/** Statuses whose response has no body (the WHATWG `Response` refuses one). */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

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
  /** Where identical in-flight queries are shared (`SUBGRAPH_DEDUPE=on`); absent: every fetch goes alone. */
  shared?: SharedFetches | undefined;
  /** Told of the facts a subgraph's answer says its writes changed (`x-cache-evict`). */
  responseCache?: Pick<ResponseCache, 'evict'> | undefined;
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
  readonly #shared: SharedFetches | undefined;
  readonly #responseCache: Pick<ResponseCache, 'evict'> | undefined;

  constructor({ client, logger, health, shared, responseCache }: SubgraphSourceOptions) {
    // Apollo's fetcher type is node-fetch's; a WHATWG fetch fits it (`process` below sends with `client.send`).
    super({ url: client.url, fetcher: client.fetch as never });
    this.#client = client;
    this.#logger = logger;
    this.#health = health;
    this.#shared = shared;
    this.#responseCache = responseCache;
  }

  /**
   * What `RemoteGraphQLDataSource.process` does for a query plan's fetch (headers, one JSON POST, the
   * subgraph's cache policy, `errorFromResponse` for a non-2xx), over the client's `send`, with plain
   * header objects, and sharing an identical query in flight (`SharedFetches`).
   */
  override async process(options: ProcessOptions): Promise<ProcessResult> {
    const started = performance.now();
    try {
      const result = await this.#send(options);
      this.#health?.report(this.#client.name, { ok: true, latencyMs: performance.now() - started });
      return result;
    } catch (error) {
      throw this.#failed(error, options, performance.now() - started);
    }
  }

  async #send(options: ProcessOptions): Promise<ProcessResult> {
    const { request, context } = options;
    if (!request.query) throw new Error('Missing query');
    // The plan's own headers first (e.g. a federated-trace request), then the caller's identity.
    const headers: Record<string, string> = {};
    if (request.http) for (const [name, value] of request.http.headers) headers[name.toLowerCase()] = value;
    headers['content-type'] = 'application/json';
    if (context?.authorization) headers[HEADER.authorization] = context.authorization;
    if (context?.requestId) headers[HEADER.requestId] = context.requestId;
    if (context?.clientIp) headers[HEADER.clientIp] = context.clientIp;
    if (context?.client) headers[CLIENT_NAME_HEADER] = context.client.name;
    injectTraceContext({ set: (name, value) => (headers[name] = value) });
    const { query, operationName, extensions } = request;
    // An entity fetch carries each distinct representation once (edge/representations.ts).
    const distinct = distinctRepresentations(request.variables);
    const variables = distinct?.variables ?? request.variables;
    const outgoing = { body: JSON.stringify({ query, variables, operationName, extensions }), headers };

    const incoming = 'incomingRequestContext' in options ? options.incomingRequestContext : undefined;
    // Only the fetches of a query are shared; a mutation's (its writes and the reads after them) never.
    const key =
      this.#shared && incoming?.operation?.operation === 'query'
        ? sharingKey(this.#client.name, outgoing)
        : undefined;
    const { reply, json } = await (key === undefined
      ? this.#client.send(outgoing).then(alone)
      : this.#shared!.run(key, () => this.#client.send(outgoing)));

    // What its writes changed is dropped before anything else is read: even a failed answer may follow a commit.
    const evicted = header(reply, CACHE_EVICT_HEADER);
    if (evicted) this.#responseCache?.evict(evicted.split(' '));
    if (reply.status < 200 || reply.status > 299) throw await this.errorFromResponse(asResponse(reply));
    const contentType = header(reply, 'content-type') ?? '';
    if (!/^application\/(graphql-response\+)?json/.test(contentType))
      throw new Error(`Expected a JSON response body, got ${contentType || 'no content type'}`);
    const body = json();
    if (!body || typeof body !== 'object' || Array.isArray(body))
      throw new Error('Expected a JSON object as the response body');
    if (distinct) spreadEntities(body as Record<string, unknown>, distinct);
    // As Apollo's data source: the subgraph's Cache-Control restricts the response's cache policy.
    const policy = incoming?.overallCachePolicy as { restrict?(hint: CacheHint): void } | undefined;
    if (this.honorSubgraphCacheControlHeader && policy?.restrict)
      policy.restrict(cacheHintOf(header(reply, 'cache-control')));
    // The facts a public answer came from, for the response cache to keep the whole answer under.
    const tags = header(reply, CACHE_TAGS_HEADER);
    if (tags && context?.cache) for (const tag of tags.split(' ')) context.cache.tags.add(tag);
    return body as ProcessResult;
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

interface CacheHint {
  maxAge: number;
  scope?: 'PRIVATE' | 'PUBLIC';
}

/** A reply nobody shares: its body parsed as it is. */
const alone = (reply: SubgraphReply): SharedReply => ({
  reply,
  json: () => JSON.parse(reply.body) as unknown,
});

function header(reply: SubgraphReply, name: string): string | undefined {
  const value = reply.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The hint a subgraph's `Cache-Control` gives (as Apollo's data source reads it): no max-age is 0. */
function cacheHintOf(cacheControl: string | undefined): CacheHint {
  const hint: CacheHint = { maxAge: 0 };
  for (const part of (cacheControl ?? '').split(',')) {
    const [name = '', value] = part.trim().split('=', 2);
    const directive = name.trim().toLowerCase();
    const argument = value?.trim().replace(/^"|"$/g, '');
    if (directive === 'max-age' && argument && /^[0-9]+$/.test(argument)) hint.maxAge = Number(argument);
    else if (directive === 'private') hint.scope = 'PRIVATE';
    else if (directive === 'public') hint.scope = 'PUBLIC';
  }
  return hint;
}

/** A reply as the WHATWG `Response` that `errorFromResponse` reads (errors only: never on the fast path). */
function asResponse(reply: SubgraphReply): FetchResponse {
  const headers = new Headers();
  for (const [name, value] of Object.entries(reply.headers))
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  const body = NULL_BODY_STATUSES.has(reply.status) ? null : reply.body;
  return new Response(body, { status: reply.status, headers }) as unknown as FetchResponse;
}
