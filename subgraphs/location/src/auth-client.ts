import { AppError } from '@carwash/errors';
import { signedFetch, type ServiceKey } from '@carwash/service-trust';
import DataLoader from 'dataloader';

export interface AuthUser {
  id: string;
  role: 'CLIENT' | 'WASHER' | 'MANAGER' | 'ADMIN';
  deleted: boolean;
}

const QUERY = `query LocationUserCheck($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on User { id role deleted } }
}`;

/**
 * The auth feature's API as the location feature needs it: who a user is, asked with our signed
 * service credential — never by reading auth's tables. One request per batch of ids.
 */
export class AuthClient {
  private readonly fetch: typeof fetch;

  constructor(
    private readonly url: string,
    key: ServiceKey,
  ) {
    this.fetch = signedFetch('location', key);
  }

  async usersByIds(ids: readonly string[], requestId?: string): Promise<Array<AuthUser | null>> {
    let res: Response;
    try {
      res = await this.fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(requestId ? { 'x-request-id': requestId } : {}) },
        body: JSON.stringify({ query: QUERY, variables: { representations: ids.map((id) => ({ __typename: 'User', id })) } }),
        signal: AbortSignal.timeout(5000),
      });
    } catch (err) {
      throw new AppError('SERVICE_UNAVAILABLE', { message: 'The auth service did not answer.', cause: err });
    }
    const body = (await res.json().catch(() => ({}))) as { data?: { _entities?: Array<AuthUser | null> }; errors?: unknown[] };
    const list = body.data?._entities;
    if (!res.ok || !Array.isArray(list) || list.length !== ids.length) {
      throw new AppError('SERVICE_UNAVAILABLE', { message: 'The auth service could not check the user.', cause: new Error(JSON.stringify(body.errors ?? res.status)) });
    }
    return list;
  }

  /** A per-request loader: all user checks of one request in one call. */
  loader(requestId?: string): DataLoader<string, AuthUser | null> {
    return new DataLoader((ids) => this.usersByIds(ids, requestId), { maxBatchSize: 500 });
  }
}
