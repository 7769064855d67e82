import { loadFeatureConfig, peerGraphqlUrl, setting, z } from '@carwash/config';

const SECOND_MS = 1_000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
const DAY_MINUTES = 24 * 60;
const WEEK_MINUTES = 7 * DAY_MINUTES;
/** The sweep runs at most this often, so a tiny setting cannot hammer the database. */
const MIN_SWEEP_INTERVAL_MS = 50;

/** The only reader of `process.env` in the payment feature (the settings every feature shares come from `loadFeatureConfig`). */
export function loadPaymentConfig(env: Record<string, string | undefined> = process.env) {
  return loadFeatureConfig(
    'payment',
    {
      settings: {
        /** Prices and owners of bookings, asked at payment time (never taken from the client). */
        BOOKING_GRAPHQL_URL: peerGraphqlUrl('booking'),
        /** `sandbox` is the offline provider with test cards; real providers plug in behind the same interface. */
        PAYMENT_PROVIDER: z.enum(['sandbox']).default('sandbox'),
        PAYMENT_SANDBOX_LATENCY_MS: setting.int(30, 0, 10 * SECOND_MS),
        /**
         * Optional file where the sandbox keeps its ledger of charges and refunds, so it stays idempotent
         * per key across restarts (as a real provider is); unset keeps the ledger in memory.
         */
        PAYMENT_SANDBOX_LEDGER_PATH: z.string().min(1, 'must be a file path').optional(),
        /** A PENDING charge or refund untouched this long was left by a dead process: the sweep resumes it. */
        PAYMENT_RESUME_STALE_AFTER_MS: setting.int(15 * SECOND_MS, 0, DAY_MS),
        /** How often the sweep looks for stale PENDING charges and refunds. */
        PAYMENT_RESUME_SWEEP_INTERVAL_MS: setting.int(30 * SECOND_MS, MIN_SWEEP_INTERVAL_MS, HOUR_MS),
        /** Cancellations by the customer this long before the start are refunded in full (keep it ≥ BOOKING_CANCEL_CUTOFF_MINUTES)… */
        PAYMENT_CANCEL_CUTOFF_MINUTES: setting.int(DAY_MINUTES, 0, WEEK_MINUTES),
        /** …later ones keep this share of the charge as a fee. */
        PAYMENT_LATE_CANCEL_FEE_PERCENT: setting.int(20, 0, 100),
      },
    },
    env,
  );
}

export type PaymentConfig = ReturnType<typeof loadPaymentConfig>;
