import { PeerClient, type PeerUser } from '@carwash/subgraph-kit';
import type { ServiceCredential } from '@carwash/service-trust';
import type { EvictedCache } from './evicted-cache.js';
import type { LocationLookup } from './service.js';

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

/**
 * Location's answers through a {@link EvictedCache}: a site with its opening windows, per asked range
 * (callers ask aligned ranges, so that requests of one day share an entry). Shifts are not cached.
 */
export class CachedLocation implements LocationLookup {
  constructor(
    private readonly location: LocationLookup,
    private readonly sites: EvictedCache<PeerSite>,
  ) {}

  site(id: string, from: Date, to: Date, requestId?: string): Promise<PeerSite | null> {
    return this.sites.get(id, `${from.toISOString()}|${to.toISOString()}`, () =>
      this.location.site(id, from, to, requestId),
    );
  }

  shifts(userId: string, requestId?: string): Promise<PeerShift[]> {
    return this.location.shifts(userId, requestId);
  }
}

/** A request's user checks through a {@link EvictedCache} of auth's answers, keyed by the user's id. */
export function cachedUsers(
  loader: { load(id: string): Promise<PeerUser | null> },
  users: EvictedCache<PeerUser>,
): { load(id: string): Promise<PeerUser | null> } {
  return { load: (id) => users.get(id, 'user', () => loader.load(id)) };
}
