import { AppError } from '@carwash/errors';
import { HEADER, signedFetch, type ServiceCredential } from '@carwash/service-trust';

/** How long a peer has to answer before the call counts as failed. */
const DEFAULT_PEER_TIMEOUT_MS = 5000;

export interface PeerCallOptions {
  requestId?: string | undefined;
  /**
   * The end user's `Authorization` header, for a call made on the user's behalf: the peer then checks
   * it as that user (its per-user rules, and our allow-list there). Omitted, we call on our own authority.
   */
  authorization?: string | undefined;
}

/**
 * Another feature's GraphQL API, called with our own signed service credential, for that feature only
 * (the signature names it) — how one feature checks another's data at write time (never by reading
 * its tables). The peer lets us read only the fields its allow-list grants us. Failures surface as
 * SERVICE_UNAVAILABLE.
 */
export class PeerClient {
  private readonly fetch: typeof fetch;

  constructor(
    /** The peer subgraph's name, e.g. `auth`: the audience of every signature. */
    private readonly peer: string,
    private readonly url: string,
    credential: ServiceCredential,
    private readonly timeoutMs = DEFAULT_PEER_TIMEOUT_MS,
  ) {
    this.fetch = signedFetch(credential, peer);
  }

  async query<T>(
    query: string,
    variables: Record<string, unknown>,
    options: string | PeerCallOptions = {},
  ): Promise<T> {
    const { requestId, authorization } =
      typeof options === 'string' ? { requestId: options, authorization: undefined } : options;
    let res: Response;
    try {
      res = await this.fetch(this.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(requestId ? { [HEADER.requestId]: requestId } : {}),
          ...(authorization ? { [HEADER.authorization]: authorization } : {}),
        },
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new AppError('SERVICE_UNAVAILABLE', {
        message: `The ${this.peer} service did not answer.`,
        cause: err,
      });
    }
    const body = (await res.json().catch(() => ({}))) as { data?: T; errors?: unknown[] };
    if (!res.ok || !body.data || body.errors?.length) {
      throw new AppError('SERVICE_UNAVAILABLE', {
        message: `The ${this.peer} service could not answer.`,
        cause: new Error(JSON.stringify(body.errors ?? res.status).slice(0, 500)),
      });
    }
    return body.data;
  }
}
