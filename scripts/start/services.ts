import { createAuthSubgraph, loadAuthConfig, type AuthSubgraph } from '@carwash/auth';
import { createBookingSubgraph, loadBookingConfig, type BookingSubgraph } from '@carwash/booking';
import { generateServiceKeys } from '@carwash/config';
import { createGateway, loadGatewayConfig, type Gateway } from '@carwash/gateway';
import { createLocationSubgraph, loadLocationConfig, type LocationSubgraph } from '@carwash/location';
import { createPaymentSubgraph, loadPaymentConfig, type PaymentSubgraph } from '@carwash/payment';
import { createLogger } from '@carwash/subgraph-kit';
import type { Feature } from './config.js';

/**
 * The relay's idle pause on an embedded database: its default (50 ms) polls 8 partitions 20 times a second,
 * half a core at rest across four PGlites. Half a second is still well under a human's wait for a payment to confirm a booking.
 */
const EMBEDDED_OUTBOX_POLL_MS = '500';

/** As booking's main.ts: the sweep that records the lapsed holds no write has expired yet. */
const HOLD_SWEEP_INTERVAL_MS = 30_000;

export interface Services {
  auth: AuthSubgraph;
  booking: BookingSubgraph;
  location: LocationSubgraph;
  payment: PaymentSubgraph;
  gateway: Gateway;
  urls: Record<Feature | 'gateway', string>;
  /** Stops the gateway, then every subgraph (in-flight requests finish, pools close). */
  stop(): Promise<void>;
}

export interface ServiceOptions {
  env: Record<string, string | undefined>;
  databaseUrls: Record<Feature, string>;
  /** Features on an embedded (one-session) database: their pools get one connection. */
  embedded: readonly Feature[];
  eventBus: 'redis' | 'memory';
}

/**
 * Every subgraph and the gateway in this one process, each on its own port as in production, calling
 * each other over HTTP with their own signed service credentials. One process because the in-memory
 * event bus (no Redis in the zero-setup run) connects only the features of one process.
 */
export async function startServices({
  env,
  databaseUrls,
  embedded,
  eventBus,
}: ServiceOptions): Promise<Services> {
  const keys = generateServiceKeys(['gateway', 'auth', 'booking', 'location', 'payment'], 'start');
  const base = { ...env, EVENT_BUS: eventBus };
  const db = (f: Feature) => ({
    [`${f.toUpperCase()}_DATABASE_URL`]: databaseUrls[f],
    ...(embedded.includes(f)
      ? {
          [`${f.toUpperCase()}_DATABASE_POOL_SIZE`]: '1',
          OUTBOX_POLL_MS: env.OUTBOX_POLL_MS ?? EMBEDDED_OUTBOX_POLL_MS,
        }
      : {}),
  });
  const log = (name: string) => createLogger(name, env.LOG_LEVEL ?? 'warn');
  const started: Array<{ name: string; stop(): Promise<void> }> = [];
  const stop = async () => {
    for (const s of started.reverse()) {
      const t = performance.now();
      await s.stop();
      console.error(`[start] stopped ${s.name} in ${Math.round(performance.now() - t)} ms`);
    }
  };
  try {
    const authConfig = loadAuthConfig({ ...base, ...keys.envFor('auth'), ...db('auth') });
    const auth = await createAuthSubgraph(authConfig, log('auth'));
    started.push({ name: 'auth', stop: () => auth.stop() });
    const { url: authUrl, port: authPort } = await auth.listen(authConfig.AUTH_PORT, authConfig.AUTH_HOST);
    const jwks = `http://${authConfig.AUTH_HOST}:${authPort}/.well-known/jwks.json`;
    const peers = { AUTH_JWKS_URL: jwks, AUTH_GRAPHQL_URL: authUrl };

    const locationConfig = loadLocationConfig({
      ...base,
      ...peers,
      ...keys.envFor('location'),
      ...db('location'),
    });
    const location = await createLocationSubgraph(locationConfig, log('location'));
    started.push({ name: 'location', stop: () => location.stop() });
    const { url: locationUrl } = await location.listen(
      locationConfig.LOCATION_PORT,
      locationConfig.LOCATION_HOST,
    );

    const bookingConfig = loadBookingConfig({
      ...base,
      ...peers,
      LOCATION_GRAPHQL_URL: locationUrl,
      ...keys.envFor('booking'),
      ...db('booking'),
    });
    const booking = await createBookingSubgraph(bookingConfig, log('booking'));
    started.push({ name: 'booking', stop: () => booking.stop() });
    const { url: bookingUrl } = await booking.listen(bookingConfig.BOOKING_PORT, bookingConfig.BOOKING_HOST);

    const paymentConfig = loadPaymentConfig({
      ...base,
      ...peers,
      BOOKING_GRAPHQL_URL: bookingUrl,
      ...keys.envFor('payment'),
      ...db('payment'),
    });
    const payment = await createPaymentSubgraph(paymentConfig, log('payment'));
    started.push({ name: 'payment', stop: () => payment.stop() });
    const { url: paymentUrl } = await payment.listen(paymentConfig.PAYMENT_PORT, paymentConfig.PAYMENT_HOST);

    for (const s of [auth, location, booking, payment]) {
      s.relay.start();
      await s.startConsumers();
    }
    const stopSweeper = payment.startSweeper();
    const sweep = setInterval(() => {
      booking.service.expireLapsedHolds().catch(() => undefined);
    }, HOLD_SWEEP_INTERVAL_MS);
    sweep.unref();
    started.splice(0, 0, {
      name: 'sweepers',
      stop: async () => {
        clearInterval(sweep);
        stopSweeper();
      },
    });

    const gatewayConfig = loadGatewayConfig({
      ...base,
      ...keys.envFor('gateway'),
      JWKS_URL: jwks,
      SUBGRAPH_AUTH_URL: authUrl,
      SUBGRAPH_LOCATION_URL: locationUrl,
      SUBGRAPH_BOOKING_URL: bookingUrl,
      SUBGRAPH_PAYMENT_URL: paymentUrl,
    });
    const gateway = await createGateway(gatewayConfig, log('gateway'));
    started.push({ name: 'gateway', stop: () => gateway.stop() });
    const { url: gatewayUrl } = await gateway.listen(gatewayConfig.GATEWAY_PORT, gatewayConfig.GATEWAY_HOST);
    return {
      auth,
      booking,
      location,
      payment,
      gateway,
      urls: {
        auth: authUrl,
        location: locationUrl,
        booking: bookingUrl,
        payment: paymentUrl,
        gateway: gatewayUrl,
      },
      stop,
    };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}
