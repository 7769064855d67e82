import { PeerClient } from '@carwash/subgraph-kit';
import type { ServiceCredential } from '@carwash/service-trust';

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

const SITES = `query BookingSiteCheck($r: [_Any!]!, $from: DateTime!, $to: DateTime!) {
  _entities(representations: $r) { ... on WashSite { id active bays timeZone openingWindows(from: $from, to: $to) { start end } } }
}`;
const SHIFTS = `query BookingShiftCheck($r: [_Any!]!) {
  _entities(representations: $r) { ... on User { id assignments { site { id } startsAt endsAt endedAt } } }
}`;

/** The location feature's API as booking needs it at write time (sites, opening windows, shifts), signed as `booking`. */
export class LocationPeer {
  private readonly location: PeerClient;

  constructor(url: string, credential: ServiceCredential) {
    this.location = new PeerClient('location', url, credential);
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
