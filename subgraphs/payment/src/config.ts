import { DEV_SERVICE_KEYS, eventBusSettings, loadConfig, revocationSettings, requireProductionSecrets, setting, z } from '@carwash/config';

/** The only reader of `process.env` in the payment feature. */
export function loadPaymentConfig(env: Record<string, string | undefined> = process.env) {
  const config = loadConfig(
    'payment',
    {
      PAYMENT_PORT: setting.port(4003),
      PAYMENT_HOST: z.string().default('127.0.0.1'),
      PAYMENT_DATABASE_URL: setting.postgresUrl().default('postgresql://postgres@127.0.0.1:5432/carwash_payment'),
      PAYMENT_DATABASE_POOL_SIZE: setting.int(10, 1, 200),
      SERVICE_HMAC_KEYS: setting.hmacKeys().prefault(DEV_SERVICE_KEYS),
      AUTH_JWKS_URL: setting.url().default('http://127.0.0.1:4001/.well-known/jwks.json'),
      /** Prices and owners of bookings, asked at payment time (never taken from the client). */
      BOOKING_GRAPHQL_URL: setting.url().default('http://127.0.0.1:4002/graphql'),
      /** `sandbox` is the offline provider with test cards; real providers plug in behind the same interface. */
      PAYMENT_PROVIDER: z.enum(['sandbox']).default('sandbox'),
      PAYMENT_SANDBOX_LATENCY_MS: setting.int(30, 0, 10_000),
      /** Cancellations by the customer this long before the start are refunded in full (keep it ≥ BOOKING_CANCEL_CUTOFF_MINUTES)… */
      PAYMENT_CANCEL_CUTOFF_MINUTES: setting.int(1440, 0, 10_080),
      /** …later ones keep this share of the charge as a fee. */
      PAYMENT_LATE_CANCEL_FEE_PERCENT: setting.int(20, 0, 100),
      ...eventBusSettings(),
      ...revocationSettings(),
      MAX_REQUEST_BYTES: setting.int(16 * 1024 * 1024, 1024),
      LOG_LEVEL: setting.logLevel(),
    },
    env,
  );
  requireProductionSecrets('payment', { SERVICE_HMAC_KEYS: env.SERVICE_HMAC_KEYS });
  return config;
}

export type PaymentConfig = ReturnType<typeof loadPaymentConfig>;
