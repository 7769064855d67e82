import { AppError } from '@carwash/errors';
import { HEADER, signedFetch, type ServiceKey } from '@carwash/service-trust';

/**
 * Another feature's GraphQL API, called with our signed service credential — how one feature checks
 * another's data at write time (never by reading its tables). Failures surface as SERVICE_UNAVAILABLE.
 */
export class PeerClient {
  private readonly fetch: typeof fetch;

  constructor(
    private readonly peer: string,
    private readonly url: string,
    caller: string,
    key: ServiceKey,
    private readonly timeoutMs = 5000,
  ) {
    this.fetch = signedFetch(caller, key);
  }

  async query<T>(query: string, variables: Record<string, unknown>, requestId?: string): Promise<T> {
    let res: Response;
    try {
      res = await this.fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(requestId ? { [HEADER.requestId]: requestId } : {}) },
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new AppError('SERVICE_UNAVAILABLE', { message: `The ${this.peer} service did not answer.`, cause: err });
    }
    const body = (await res.json().catch(() => ({}))) as { data?: T; errors?: unknown[] };
    if (!res.ok || !body.data || body.errors?.length) {
      throw new AppError('SERVICE_UNAVAILABLE', { message: `The ${this.peer} service could not answer.`, cause: new Error(JSON.stringify(body.errors ?? res.status).slice(0, 500)) });
    }
    return body.data;
  }
}
