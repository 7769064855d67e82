import { DEV_SERVICE_KEYS, eventBusSettings, loadConfig, revocationSettings, requireProductionSecrets, setting, z } from '@carwash/config';

/** The only reader of `process.env` in the booking feature. */
export function loadBookingConfig(env: Record<string, string | undefined> = process.env) {
  const config = loadConfig(
    'booking',
    {
      BOOKING_PORT: setting.port(4002),
      BOOKING_HOST: z.string().default('127.0.0.1'),
      BOOKING_DATABASE_URL: setting.postgresUrl().default('postgresql://postgres@127.0.0.1:5432/carwash_booking'),
      BOOKING_DATABASE_POOL_SIZE: setting.int(10, 1, 200),
      SERVICE_HMAC_KEYS: setting.hmacKeys().prefault(DEV_SERVICE_KEYS),
      AUTH_JWKS_URL: setting.url().default('http://127.0.0.1:4001/.well-known/jwks.json'),
      /** Customer checks at write time. */
      AUTH_GRAPHQL_URL: setting.url().default('http://127.0.0.1:4001/graphql'),
      /** Opening windows, bays and washer shifts. */
      LOCATION_GRAPHQL_URL: setting.url().default('http://127.0.0.1:4004/graphql'),
      /** How long a HELD booking waits for confirmation (payment) before it lapses. */
      BOOKING_HOLD_TTL_SECONDS: setting.int(600, 10, 86_400),
      /** Clean-up time after each wash during which the bay stays busy. */
      BOOKING_BUFFER_MINUTES: setting.int(10, 0, 240),
      /** Distance between offered start times. */
      BOOKING_SLOT_STEP_MINUTES: setting.int(15, 5, 240),
      /** Clients may cancel up to this long before the start; managers any time. */
      BOOKING_CANCEL_CUTOFF_MINUTES: setting.int(120, 0, 10_080),
      ...eventBusSettings(),
      ...revocationSettings(),
      MAX_REQUEST_BYTES: setting.int(16 * 1024 * 1024, 1024),
      LOG_LEVEL: setting.logLevel(),
    },
    env,
  );
  requireProductionSecrets('booking', { SERVICE_HMAC_KEYS: env.SERVICE_HMAC_KEYS });
  return config;
}

export type BookingConfig = ReturnType<typeof loadBookingConfig>;
