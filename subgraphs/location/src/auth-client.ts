import { PeerClient } from '@carwash/subgraph-kit';
import type { ServiceCredential } from '@carwash/service-trust';
import DataLoader from 'dataloader';

export interface AuthUser {
  id: string;
  role: 'CLIENT' | 'WASHER' | 'MANAGER' | 'ADMIN';
  deleted: boolean;
}

const QUERY = `query LocationUserCheck($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on User { id role deleted } }
}`;

/** The auth feature's API as the location feature needs it: who a user is, one request per batch. */
export class AuthClient {
  private readonly peer: PeerClient;

  constructor(url: string, credential: ServiceCredential) {
    this.peer = new PeerClient('auth', url, credential);
  }

  async usersByIds(ids: readonly string[], requestId?: string): Promise<Array<AuthUser | null>> {
    const data = await this.peer.query<{ _entities: Array<AuthUser | null> }>(
      QUERY,
      { representations: ids.map((id) => ({ __typename: 'User', id })) },
      requestId,
    );
    return data._entities;
  }

  /** A per-request loader: all user checks of one request in one call. */
  loader(requestId?: string): DataLoader<string, AuthUser | null> {
    return new DataLoader((ids) => this.usersByIds(ids, requestId), { maxBatchSize: 500 });
  }
}
