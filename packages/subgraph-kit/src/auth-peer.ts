import type { Role, ServiceCredential } from '@carwash/service-trust';
import DataLoader from 'dataloader';
import { PeerClient } from './peer.js';

/** A user as the auth feature shows it to a sibling on its own authority (auth's `serviceAccess`). */
export interface PeerUser {
  id: string;
  role: Role;
  deleted: boolean;
}

const USER_CHECK = `query UserCheck($r: [_Any!]!) {
  _entities(representations: $r) { ... on User { id role deleted } }
}`;

/** Most users one call asks auth about; a larger batch is split into several calls. */
const MAX_USERS_PER_CALL = 500;

/**
 * The auth feature's API as a sibling needs it at write time — "is this user an active client, a
 * washer…" — signed as the calling feature, one call per request's batch. Booking checks a customer
 * before a booking, location a washer before a shift.
 */
export class AuthPeer {
  private readonly peer: PeerClient;

  constructor(url: string, credential: ServiceCredential) {
    this.peer = new PeerClient('auth', url, credential);
  }

  /** The users behind `ids`, in order; null for a user auth does not know. */
  async users(ids: readonly string[], requestId?: string): Promise<Array<PeerUser | null>> {
    const data = await this.peer.query<{ _entities: Array<PeerUser | null> }>(
      USER_CHECK,
      { r: ids.map((id) => ({ __typename: 'User', id })) },
      requestId,
    );
    return data._entities;
  }

  /** A per-request loader: every user check of one request in one call. */
  userLoader(requestId?: string): DataLoader<string, PeerUser | null> {
    return new DataLoader((ids) => this.users(ids, requestId), { maxBatchSize: MAX_USERS_PER_CALL });
  }
}

/** The user exists, is not deleted and, when `roles` are given, has one of them. */
export function isActiveUser(user: PeerUser | null, roles?: readonly Role[]): user is PeerUser {
  return !!user && !user.deleted && (!roles || roles.includes(user.role));
}
