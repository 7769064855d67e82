import { loadFeatureConfig, peerGraphqlUrl, setting } from '@carwash/config';

/** The only reader of `process.env` in the booking feature (the settings every feature shares come from `loadFeatureConfig`). */
export function loadBookingConfig(env: Record<string, string | undefined> = process.env) {
  return loadFeatureConfig(
    'booking',
    {
      settings: {
        /** Customer checks at write time. */
        AUTH_GRAPHQL_URL: peerGraphqlUrl('auth'),
        /** Opening windows, bays and washer shifts. */
        LOCATION_GRAPHQL_URL: peerGraphqlUrl('location'),
        /** How long a HELD booking waits for confirmation (payment) before it lapses. */
        BOOKING_HOLD_TTL_SECONDS: setting.int(600, 10, 86_400),
        /** Clean-up time after each wash during which the bay stays busy. */
        BOOKING_BUFFER_MINUTES: setting.int(10, 0, 240),
        /** Distance between offered start times. */
        BOOKING_SLOT_STEP_MINUTES: setting.int(15, 5, 240),
        /** Clients may cancel up to this long before the start; managers any time. */
        BOOKING_CANCEL_CUTOFF_MINUTES: setting.int(120, 0, 10_080),
        /**
         * Live (unexpired) HELD bookings one customer may have at once when booking for themselves, so
         * one account cannot hold every bay of a site. Confirmed, cancelled and lapsed holds do not count.
         */
        BOOKING_MAX_LIVE_HOLDS: setting.int(3, 1, 100_000),
        /**
         * How long this process reuses location's answer about a site (its opening windows, bays, whether
         * it is open for bookings) and auth's about a customer. The bus evicts an entry as soon as its
         * owner changes (`location.site.changed` / `.closed`, `auth.user.deleted` / `.tokensRevoked`);
         * this bounds staleness when an event is late or went to another replica. 0 turns the caches off.
         */
        BOOKING_PEER_CACHE_TTL_MS: setting.int(30_000, 0, 300_000),
        /**
         * How long this process reuses the free slots it computed for a site, service and day
         * (availableSlots). Every booking write evicts what it changed: this replica's own as it commits,
         * other replicas' through the bus (`booking.reservation.*`), and a site's changes with
         * `location.site.changed` / `.closed`. This bounds staleness when an event is missed (the bus
         * unreachable for a while). 0 turns the cache off.
         */
        BOOKING_SLOTS_CACHE_TTL_MS: setting.int(30_000, 0, 300_000),
        /**
         * How long this process reuses a catalogue row (a service: duration, price, active) that
         * availableSlots and createBooking read on every request. updateService evicts it on this replica
         * as it commits and on the others through the bus (`booking.service.changed`); this bounds
         * staleness when that event is missed. 0 turns the cache off.
         */
        BOOKING_SERVICE_CACHE_TTL_MS: setting.int(30_000, 0, 300_000),
      },
    },
    env,
  );
}

export type BookingConfig = ReturnType<typeof loadBookingConfig>;
