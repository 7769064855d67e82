import { PeerClient } from '@carwash/subgraph-kit';
import type { ServiceCredential } from '@carwash/service-trust';
import DataLoader from 'dataloader';

export interface PeerUser {
  id: string;
  role: 'CLIENT' | 'WASHER' | 'MANAGER' | 'ADMIN';
  deleted: boolean;
}

export interface PeerSite {
  id: string;
  active: boolean;
  bays: number;
  timeZone: string;
  openingWindows: Array<{ start: string; end: string }>;
}

export interface PeerShift {
  site: { id: string };
  startsAt: string;
  endsAt: string;
  endedAt: string | null;
}

const USERS = `query BookingUserCheck($r: [_Any!]!) { _entities(representations: $r) { ... on User { id role deleted } } }`;
const SITES = `query BookingSiteCheck($r: [_Any!]!, $from: DateTime!, $to: DateTime!) {
  _entities(representations: $r) { ... on WashSite { id active bays timeZone openingWindows(from: $from, to: $to) { start end } } }
}`;
const SHIFTS = `query BookingShiftCheck($r: [_Any!]!) {
  _entities(representations: $r) { ... on User { id assignments { site { id } startsAt endsAt endedAt } } }
}`;

/**
 * The other features' APIs as booking needs them at write time, each call signed as `booking`.
 * User checks are batched per request through a DataLoader.
 */
export class Peers {
  private readonly auth: PeerClient;
  private readonly location: PeerClient;

  constructor(authUrl: string, locationUrl: string, credential: ServiceCredential) {
    this.auth = new PeerClient('auth', authUrl, credential);
    this.location = new PeerClient('location', locationUrl, credential);
  }

  userLoader(requestId?: string): DataLoader<string, PeerUser | null> {
    return new DataLoader(async (ids) => {
      const data = await this.auth.query<{ _entities: Array<PeerUser | null> }>(
        USERS,
        { r: ids.map((id) => ({ __typename: 'User', id })) },
        requestId,
      );
      return data._entities;
    });
  }

  /** The site with its opening windows over [from, to). Null when location does not know it. */
  async site(id: string, from: Date, to: Date, requestId?: string): Promise<PeerSite | null> {
    const data = await this.location.query<{ _entities: Array<PeerSite | null> }>(
      SITES,
      { r: [{ __typename: 'WashSite', id }], from: from.toISOString(), to: to.toISOString() },
      requestId,
    );
    return data._entities[0] ?? null;
  }

  async shifts(userId: string, requestId?: string): Promise<PeerShift[]> {
    const data = await this.location.query<{ _entities: Array<{ assignments: PeerShift[] } | null> }>(
      SHIFTS,
      { r: [{ __typename: 'User', id: userId }] },
      requestId,
    );
    return data._entities[0]?.assignments ?? [];
  }
}
