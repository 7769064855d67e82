import { PeerClient } from '@carwash/subgraph-kit';
import type { ServiceCredential } from '@carwash/service-trust';

export interface PeerBooking {
  id: string;
  status: string;
  startsAt: string;
  holdExpiresAt: string | null;
  customer: { id: string };
  price: { amountCents: number; currency: string };
}

const BOOKINGS = `query PaymentBookingCheck($r: [_Any!]!) {
  _entities(representations: $r) { ... on Booking { id status startsAt holdExpiresAt customer { id } price { amountCents currency } } }
}`;

/** The booking feature's API as payment needs it: the amount to charge comes from there, never from the client. */
export class BookingPeer {
  private readonly peer: PeerClient;

  constructor(url: string, credential: ServiceCredential) {
    this.peer = new PeerClient('booking', url, credential);
  }

  async booking(id: string, requestId?: string): Promise<PeerBooking | null> {
    const data = await this.peer.query<{ _entities: Array<PeerBooking | null> }>(
      BOOKINGS,
      { r: [{ __typename: 'Booking', id }] },
      requestId,
    );
    return data._entities[0] ?? null;
  }
}
