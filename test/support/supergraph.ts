import { readFileSync } from 'node:fs';
import { createAuthSubgraph, loadAuthConfig, type AuthSubgraph } from '@carwash/auth';
import { generateServiceKeys, type GeneratedServiceKeys } from '@carwash/config';
import { createBookingSubgraph, loadBookingConfig, type BookingSubgraph } from '@carwash/booking';
import { createGateway, loadGatewayConfig, type Gateway } from '@carwash/gateway';
import { createLocationSubgraph, loadLocationConfig, type LocationSubgraph } from '@carwash/location';
import { createPaymentSubgraph, loadPaymentConfig, type PaymentSubgraph } from '@carwash/payment';
import { createLogger, startTracing, type Logger } from '@carwash/subgraph-kit';
import { exportJWK, generateKeyPair } from 'jose';
import { PASSWORD, UNLIMITED_TEST_TIERS, postGraphQL, uniqueEmail, type GraphQLResult } from './graphql.js';

export { PASSWORD, UNLIMITED_TEST_TIERS, postGraphQL, uniqueEmail, type GraphQLResult };

export const SUPERGRAPH = new URL('../../schema/supergraph.graphql', import.meta.url);

export interface Running {
  auth: AuthSubgraph;
  booking: BookingSubgraph;
  location: LocationSubgraph;
  payment: PaymentSubgraph;
  gateway: Gateway;
  gatewayUrl: string;
  authUrl: string;
  bookingUrl: string;
  locationUrl: string;
  paymentUrl: string;
  /** Prefix of this supergraph's Redis keys (event streams, nonces): a second replica must share it. */
  namespace: string;
  /** This run's service keys (fresh per test process): sign as any service to call a subgraph directly. */
  keys: GeneratedServiceKeys;
  /** POSTs a GraphQL operation to the gateway, as a frontend would. */
  gql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    token?: string,
  ): Promise<GraphQLResult<T>>;
  stop(): Promise<void>;
}

/**
 * One signing key for every supergraph a test file starts, so a token issued by one is accepted by
 * another (as with a real, configured key).
 */
let signingKeys: Promise<string> | undefined;
function sharedSigningKeys(): Promise<string> {
  signingKeys ??= (async () => {
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    return JSON.stringify([{ ...(await exportJWK(privateKey)), kid: `test-${process.pid}` }]);
  })();
  return signingKeys;
}

/** Real per-service keys, generated once per test process: no test relies on the development keys. */
let serviceKeys: GeneratedServiceKeys | undefined;
export function testServiceKeys(): GeneratedServiceKeys {
  serviceKeys ??= generateServiceKeys(undefined, `test-${process.pid}`);
  return serviceKeys;
}

/** Starts the auth subgraph and the gateway (serving the committed supergraph) on free ports. */
export async function startSupergraph(
  options: {
    supergraphPath?: string;
    authEnv?: Record<string, string>;
    bookingEnv?: Record<string, string>;
    paymentEnv?: Record<string, string>;
    gatewayEnv?: Record<string, string>;
    /** Loggers to use instead of the quiet default (e.g. one writing to a stream a test reads). */
    loggers?: Partial<Record<'auth' | 'booking' | 'location' | 'payment' | 'gateway', Logger>>;
  } = {},
): Promise<Running> {
  const quiet = process.env.TEST_LOG_LEVEL ?? 'silent';
  // As each service's main does first: trace ids exist and travel (no exporter in tests).
  startTracing('e2e', {});
  const loggerFor = (service: keyof NonNullable<typeof options.loggers>) =>
    options.loggers?.[service] ?? createLogger(service, quiet);
  // Each supergraph gets its own event streams, so tests never see each other's events.
  const keys = testServiceKeys();
  const namespace = `e2e-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  /** A service's settings: the test keys, quiet logs and this supergraph's event streams, then its own. */
  const envFor = (service: string, settings: Record<string, string | undefined>) => ({
    ...process.env,
    ...keys.envFor(service),
    LOG_LEVEL: quiet,
    EVENTS_NAMESPACE: namespace,
    ...settings,
  });
  const auth = await createAuthSubgraph(
    loadAuthConfig(
      envFor('auth', {
        AUTH_JWT_PRIVATE_KEYS: await sharedSigningKeys(),
        AUTH_LOCKOUT_MAX_FAILURES_PER_IP: '100000',
        ...options.authEnv,
      }),
    ),
    loggerFor('auth'),
  );
  const { url: authUrl, port: authPort } = await auth.listen(0);
  const jwksUrl = `http://127.0.0.1:${authPort}/.well-known/jwks.json`;
  const location = await createLocationSubgraph(
    loadLocationConfig(
      envFor('location', {
        AUTH_JWKS_URL: jwksUrl,
        AUTH_GRAPHQL_URL: authUrl,
      }),
    ),
    loggerFor('location'),
  );
  const { url: locationUrl } = await location.listen(0);
  const booking = await createBookingSubgraph(
    loadBookingConfig(
      envFor('booking', {
        AUTH_JWKS_URL: jwksUrl,
        AUTH_GRAPHQL_URL: authUrl,
        LOCATION_GRAPHQL_URL: locationUrl,
        BOOKING_DATABASE_POOL_SIZE: '20',
        ...options.bookingEnv,
      }),
    ),
    loggerFor('booking'),
  );
  const { url: bookingUrl } = await booking.listen(0);
  const payment = await createPaymentSubgraph(
    loadPaymentConfig(
      envFor('payment', {
        AUTH_JWKS_URL: jwksUrl,
        BOOKING_GRAPHQL_URL: bookingUrl,
        PAYMENT_DATABASE_POOL_SIZE: '20',
        ...options.paymentEnv,
      }),
    ),
    loggerFor('payment'),
  );
  const { url: paymentUrl } = await payment.listen(0);
  const gateway = await createGateway(
    loadGatewayConfig(
      envFor('gateway', {
        SUPERGRAPH_PATH: options.supergraphPath ?? SUPERGRAPH.pathname,
        SUBGRAPH_AUTH_URL: authUrl,
        SUBGRAPH_LOCATION_URL: locationUrl,
        SUBGRAPH_BOOKING_URL: bookingUrl,
        SUBGRAPH_PAYMENT_URL: paymentUrl,
        JWKS_URL: jwksUrl,
        RATE_LIMIT_TIERS: UNLIMITED_TEST_TIERS,
        ...options.gatewayEnv,
      }),
    ),
    loggerFor('gateway'),
  );
  const { url: gatewayUrl } = await gateway.listen(0);
  return {
    auth,
    booking,
    location,
    payment,
    gateway,
    gatewayUrl,
    authUrl,
    bookingUrl,
    locationUrl,
    paymentUrl,
    keys,
    namespace,
    gql: (query, variables, token) => postGraphQL(gatewayUrl, query, variables, token),
    stop: async () => {
      await gateway.stop();
      await payment.stop();
      await booking.stop();
      await location.stop();
      await auth.stop();
    },
  };
}

/**
 * Another gateway instance in front of the same subgraphs, sharing the supergraph's Redis namespace (as a
 * second replica behind a load balancer would). `env` overrides its settings; stop it yourself.
 */
export async function startGatewayReplica(
  sg: Running,
  env: Record<string, string> = {},
): Promise<{ gateway: Gateway; url: string; stop(): Promise<void> }> {
  const quiet = process.env.TEST_LOG_LEVEL ?? 'silent';
  const urls = Object.fromEntries(
    sg.gateway.subgraphs.map((s) => [`SUBGRAPH_${s.name.toUpperCase()}_URL`, s.url]),
  );
  const gateway = await createGateway(
    loadGatewayConfig({
      ...process.env,
      ...sg.keys.envFor('gateway'),
      ...urls,
      LOG_LEVEL: quiet,
      SUPERGRAPH_PATH: SUPERGRAPH.pathname,
      JWKS_URL: new URL('/.well-known/jwks.json', sg.authUrl).href,
      EVENTS_NAMESPACE: sg.namespace,
      RATE_LIMIT_TIERS: UNLIMITED_TEST_TIERS,
      ...env,
    }),
    createLogger('gateway', quiet),
  );
  const { url } = await gateway.listen(0);
  return { gateway, url, stop: () => gateway.stop() };
}

export function readSupergraph(): string {
  return readFileSync(SUPERGRAPH, 'utf8');
}

/**
 * A new user with the given role, signed in: signs up through the gateway, then (test setup only)
 * sets the role directly in the auth database and logs in again for a token that carries it.
 */
export async function signUpAs(
  sg: Running,
  role: 'CLIENT' | 'WASHER' | 'MANAGER' | 'ADMIN',
  firstName = 'Sam',
): Promise<{ id: string; token: string }> {
  const email = uniqueEmail(role.toLowerCase());
  const up = await sg.gql<{ signUp: { user: { id: string } } }>(
    `mutation($i: SignUpInput!) { signUp(input: $i) { user { id } } }`,
    { i: { email, password: PASSWORD, firstName, lastName: role } },
  );
  const id = up.data!.signUp.user.id;
  if (role !== 'CLIENT') await sg.auth.db.user.update({ where: { id }, data: { role } });
  const login = await sg.gql<{ logIn: { accessToken: string } }>(
    `mutation($i: LogInInput!) { logIn(input: $i) { accessToken } }`,
    { i: { email, password: PASSWORD } },
  );
  return { id, token: login.data!.logIn.accessToken };
}
