import { HEADER } from '@carwash/service-trust';
import { CLIENT_NAME_HEADER } from '@carwash/subgraph-kit';
import type { SubgraphReply, SubgraphRequest } from './subgraph-fetch.js';

/**
 * The headers a subgraph's answer may depend on: who the end user is (the token, forwarded verbatim),
 * where they call from, and which client app. A shared fetch needs every one of them equal.
 */
const IDENTITY_HEADERS = [HEADER.authorization, HEADER.clientIp, CLIENT_NAME_HEADER] as const;
/**
 * Headers that differ per request without changing the answer: the request id and trace context
 * (a shared fetch carries the first request's), and the constant content type. A request with any
 * header outside these two lists is never shared: nobody has said whether the answer depends on it.
 */
const PER_REQUEST_HEADERS = new Set<string>([HEADER.requestId, 'traceparent', 'tracestate', 'content-type']);
const KNOWN_HEADERS = new Set<string>([...IDENTITY_HEADERS, ...PER_REQUEST_HEADERS]);

/**
 * What makes two subgraph requests interchangeable, or `undefined` when this one must go alone (an
 * unknown header). The identity part is what the service signature asserts about the caller (end-user
 * token, client address) plus the client name, never the signature, timestamp or nonce: those are made
 * per send, after this, by the one request that goes out.
 */
export function sharingKey(subgraph: string, { body, headers }: SubgraphRequest): string | undefined {
  for (const name in headers) if (!KNOWN_HEADERS.has(name)) return undefined;
  let key = subgraph;
  // `\n` cannot occur in a header value (HTTP forbids it), so the parts cannot run into each other.
  for (const name of IDENTITY_HEADERS) key += `\n${headers[name] ?? ''}`;
  return `${key}\n${body}`;
}

/**
 * Identical subgraph requests in flight at the same time, sent once: a request that finds an identical
 * one (same subgraph, body and identity, see {@link sharingKey}) waiting for its answer waits for that
 * answer too, instead of sending its own. Only for queries (the data source decides): a mutation, and
 * every fetch of a mutation's plan, always goes alone, so a write is never skipped and a read after a
 * write never gets an answer that left before it. Each request parses the shared body itself: Apollo
 * Gateway merges into what it parses, so no object is shared between requests.
 */
export class SharedFetches {
  readonly #inflight = new Map<string, Promise<SubgraphReply>>();

  constructor(
    /** Called each time a request joins one in flight instead of sending its own. */
    private readonly onShared: () => void = () => {},
  ) {}

  /** `send()`'s answer, or that of an identical request already in flight under `key`. */
  run(key: string, send: () => Promise<SubgraphReply>): Promise<SubgraphReply> {
    const inflight = this.#inflight.get(key);
    if (inflight) {
      this.onShared();
      return inflight;
    }
    const sent = send();
    this.#inflight.set(key, sent);
    const forget = () => {
      this.#inflight.delete(key);
    };
    sent.then(forget, forget);
    return sent;
  }

  /** Requests in flight now (for tests). */
  get size(): number {
    return this.#inflight.size;
  }
}
