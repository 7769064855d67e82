import { HEADER, signedFetch, signRequest } from '@carwash/service-trust';
import { Agent, fetch as undiciFetch } from 'undici';

type Fetch = typeof fetch;

/** How the gateway talks to one subgraph: its deadline and its connection pool. */
export interface SubgraphTransport {
  /** Deadline of one subgraph request, from sending to the last byte of the body (queueing for a connection included). */
  timeoutMs: number;
  /** Most connections open to the subgraph at once; further requests wait for one (within their deadline). */
  maxConnections: number;
  /** How long an idle connection stays open for reuse; keep it below the subgraph server's keep-alive timeout. */
  keepAliveMs: number;
}

/** A GraphQL POST to a subgraph: the exact body bytes and the request's headers (lower-case names). */
export interface SubgraphRequest {
  body: string;
  headers: Record<string, string>;
}

/** A subgraph's answer, its body read in full. */
export interface SubgraphReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One subgraph's client: a signed fetch over the subgraph's own bounded keep-alive pool, with a deadline. */
export interface SubgraphClient {
  name: string;
  url: string;
  transport: SubgraphTransport;
  /** Signs each request for this subgraph only, so a signature cannot be replayed to another. */
  fetch: Fetch;
  /**
   * The query plan's path: the same signing, pool and deadline as `fetch`, over undici's `request`
   * instead of its WHATWG `fetch` (no Request/Response/stream objects per call: a third of the
   * gateway's CPU per operation went there, see test/bench/results/tuning-gateway.md).
   */
  send(request: SubgraphRequest): Promise<SubgraphReply>;
  close(): Promise<void>;
}

/** Longest a subgraph may hold an idle connection open by its own `Keep-Alive` hint. */
const KEEPALIVE_CEILING_MS = 60_000;

/**
 * A pool of its own per subgraph (undici `Agent`, `connections`-bounded, keep-alive): a slow or frozen
 * subgraph exhausts only its own connections, never another's, and never the process's sockets.
 * undici's own `fetch` drives it, since Node 20's bundled fetch is an older undici than this `Agent`.
 */
export function createSubgraphClient(
  endpoint: { name: string; url: string },
  transport: SubgraphTransport,
  signing: Parameters<typeof signedFetch>[0],
): SubgraphClient {
  const pool = new Agent({
    connections: transport.maxConnections,
    keepAliveTimeout: transport.keepAliveMs,
    keepAliveMaxTimeout: Math.max(transport.keepAliveMs, KEEPALIVE_CEILING_MS),
    // Backstops of the per-request deadline below, at the socket level.
    headersTimeout: transport.timeoutMs,
    bodyTimeout: transport.timeoutMs,
    connect: { timeout: transport.timeoutMs },
  });
  const audience = endpoint.name.toLowerCase();
  const url = new URL(endpoint.url);
  const path = url.pathname + url.search;
  return {
    ...endpoint,
    transport,
    fetch: signedFetch(signing, audience, withDeadline(pool, transport.timeoutMs)),
    async send({ body, headers }) {
      const signed = signRequest(signing, audience, {
        method: 'POST',
        path,
        body,
        authorization: headers[HEADER.authorization],
        clientIp: headers[HEADER.clientIp],
        requestId: headers[HEADER.requestId],
      });
      const res = await pool.request({
        origin: url.origin,
        path,
        method: 'POST',
        headers: { ...headers, ...signed },
        body,
        // The whole exchange, body included, as for `fetch` below.
        signal: AbortSignal.timeout(transport.timeoutMs),
      });
      return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
    },
    close: () => pool.destroy(),
  };
}

/**
 * `fetch` over `pool` whose whole exchange, body included, is aborted after `timeoutMs` (a caller's own
 * signal still applies). A subgraph that accepts the connection and never answers — frozen, deadlocked,
 * swapping — then costs a bounded wait, not undici's 300-second default.
 */
function withDeadline(pool: Agent, timeoutMs: number): Fetch {
  return (input, init = {}) => {
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, deadline]) : deadline;
    // undici's and the DOM lib's fetch types differ only nominally (the same WHATWG shapes).
    return undiciFetch(
      input as never,
      { ...init, signal, dispatcher: pool } as never,
    ) as unknown as Promise<Response>;
  };
}

/** Why a subgraph request failed, as counted and logged. */
export type SubgraphFailureReason = 'timeout' | 'unreachable' | 'http' | 'bad_response';

/** System error codes of a connection that failed or broke (ECONNREFUSED, ECONNRESET, EPIPE, ENOTFOUND, …). */
const SOCKET_ERROR = /^E[A-Z]+$/;
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/** Classifies what a subgraph fetch threw: a deadline, a network failure, or something else. */
export function failureReasonOf(error: unknown): SubgraphFailureReason | undefined {
  const err = error as { name?: string; code?: string; cause?: { code?: string; name?: string } } | null;
  if (!err) return undefined;
  if (
    err.name === 'TimeoutError' ||
    TIMEOUT_CODES.has(err.code ?? '') ||
    TIMEOUT_CODES.has(err.cause?.code ?? '')
  )
    return 'timeout';
  if (err.cause?.name === 'TimeoutError') return 'timeout';
  // undici: `TypeError: fetch failed` with the socket error as its cause (ECONNREFUSED, ECONNRESET, …).
  if (err.name === 'TypeError' && err.cause) return 'unreachable';
  // undici's `request`: the socket error itself.
  if (err.code && SOCKET_ERROR.test(err.code)) return 'unreachable';
  if (err.name === 'AbortError' || err.code?.startsWith('UND_ERR_')) return 'unreachable';
  return undefined;
}

/** The network error code under a failure (ECONNREFUSED, UND_ERR_SOCKET, …), for the log line only. */
export function causeCodeOf(error: unknown): string | undefined {
  const err = error as { code?: string; cause?: { code?: string } } | null;
  return err?.cause?.code ?? err?.code;
}
