import { HEADER } from '@carwash/service-trust';
import { CLIENT_NAME_HEADER } from '@carwash/subgraph-kit';
import { copyJson } from './json-copy.js';
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

/** One request's answer, shared or not: the reply, and its JSON body, parsed once for all who share it. */
export interface SharedReply {
  reply: SubgraphReply;
  /** The reply's body parsed (throws as JSON.parse does): an object this request alone holds. */
  json(): unknown;
}

/** One fetch in flight and everyone waiting for it. */
interface Flight {
  sent: Promise<SubgraphReply>;
  /** The requests waiting for it (the sender included); final once it is answered. */
  waiting: number;
  /** How many have taken their body. */
  taken: number;
  /** The body parsed by the first to take it, copied for the others and handed over to the last. */
  parsed?: unknown;
}

/**
 * Identical subgraph requests in flight at the same time, sent once: a request that finds an identical
 * one (same subgraph, body and identity, see {@link sharingKey}) waiting for its answer waits for that
 * answer too, instead of sending its own. Only for queries (the data source decides): a mutation, and
 * every fetch of a mutation's plan, always goes alone, so a write is never skipped and a read after a
 * write never gets an answer that left before it. Apollo Gateway merges into the body it gets, so no
 * object is shared between requests: the body is parsed once and every request but the last gets a deep
 * copy of it (a quarter of the cost of parsing it again), the last the parsed one, which nobody copies
 * from any more.
 */
export class SharedFetches {
  readonly #inflight = new Map<string, Flight>();

  constructor(
    /** Called each time a request joins one in flight instead of sending its own. */
    private readonly onShared: () => void = () => {},
  ) {}

  /** `send()`'s answer, or that of an identical request already in flight under `key`. */
  async run(key: string, send: () => Promise<SubgraphReply>): Promise<SharedReply> {
    let flight = this.#inflight.get(key);
    if (flight) {
      this.onShared();
      flight.waiting++;
    } else {
      const sent = send();
      const started: Flight = { sent, waiting: 1, taken: 0 };
      this.#inflight.set(key, started);
      // Registered before anyone awaits `sent`: nobody joins once its waiters start taking their bodies.
      const forget = () => {
        if (this.#inflight.get(key) === started) this.#inflight.delete(key);
      };
      sent.then(forget, forget);
      flight = started;
    }
    const reply = await flight.sent;
    const shared = flight;
    return { reply, json: () => take(shared, reply) };
  }

  /** Requests in flight now (for tests). */
  get size(): number {
    return this.#inflight.size;
  }
}

/** This request's body of a shared reply: parsed by the first, copied for all but the last. */
function take(flight: Flight, reply: SubgraphReply): unknown {
  flight.parsed ??= JSON.parse(reply.body);
  flight.taken++;
  if (flight.taken >= flight.waiting) {
    const last = flight.parsed;
    flight.parsed = undefined;
    return last;
  }
  return copyJson(flight.parsed);
}
