import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { generateServiceKeys, type GeneratedServiceKeys } from '@carwash/config';
import { createBookingSubgraph, loadBookingConfig, type BookingSubgraph } from '@carwash/booking';
import { createGateway, loadGatewayConfig, type Gateway } from '@carwash/gateway';
import { createLogger, startTracing, type Logger } from '@carwash/subgraph-kit';
import { exportJWK, generateKeyPair } from 'jose';
import {
  jwksUrlOf,
  startInProcess,
  subgraphUrlSettings,
  type InProcessSupergraph,
  type Service,
} from '../../scripts/start/supergraph.js';
import { PASSWORD, UNLIMITED_TEST_TIERS, postGraphQL, uniqueEmail, type GraphQLResult } from './graphql.js';

export { PASSWORD, UNLIMITED_TEST_TIERS, postGraphQL, uniqueEmail, type GraphQLResult };

export const SUPERGRAPH = new URL('../../schema/supergraph.graphql', import.meta.url);

/** The code of a result's first error, `OK` when there is none: what a test compares across many answers. */
export function errorCode(res: Pick<GraphQLResult, 'errors'>): string {
  return res.errors?.[0]?.extensions?.code ?? 'OK';
}

/**
 * A client IPv4 address no earlier run used: throttles and lockouts count per address, and what a
 * previous run left in the database must not count here.
 */
export function freshClientAddress(): string {
  return `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;
}

export interface Running extends Omit<InProcessSupergraph, 'urls'> {
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

/** How loud the services of a test are: silent unless TEST_LOG_LEVEL says otherwise. */
const QUIET = process.env.TEST_LOG_LEVEL ?? 'silent';

/**
 * A service's settings in a test: this machine's, the test keys of `service`, quiet logs and the
 * supergraph's event streams (`namespace`), then `own` (which may override any of them).
 */
function serviceSettings(
  keys: GeneratedServiceKeys,
  namespace: string,
  service: Service,
  own: Record<string, string | undefined>,
): Record<string, string | undefined> {
  return { ...process.env, ...keys.envFor(service), LOG_LEVEL: QUIET, EVENTS_NAMESPACE: namespace, ...own };
}

/** Starts every subgraph and the gateway (serving the committed supergraph) on free ports. */
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
  // As each service's main does first: trace ids exist and travel (no exporter in tests).
  startTracing('e2e', {});
  const loggerFor = (service: keyof NonNullable<typeof options.loggers>) =>
    options.loggers?.[service] ?? createLogger(service, QUIET);
  // Each supergraph gets its own event streams, so tests never see each other's events.
  const keys = testServiceKeys();
  const namespace = `e2e-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  const own: Record<Service, Record<string, string | undefined>> = {
    auth: {
      AUTH_JWT_PRIVATE_KEYS: await sharedSigningKeys(),
      AUTH_LOCKOUT_MAX_FAILURES_PER_IP: '100000',
      ...options.authEnv,
    },
    location: {},
    booking: { BOOKING_DATABASE_POOL_SIZE: '20', ...options.bookingEnv },
    payment: { PAYMENT_DATABASE_POOL_SIZE: '20', ...options.paymentEnv },
    gateway: {
      SUPERGRAPH_PATH: options.supergraphPath ?? SUPERGRAPH.pathname,
      RATE_LIMIT_TIERS: UNLIMITED_TEST_TIERS,
      ...options.gatewayEnv,
    },
  };
  const { auth, booking, location, payment, gateway, urls } = await startInProcess({
    /**
     * A service's settings: the test keys, a free port, quiet logs and this supergraph's event streams,
     * its peers' URLs, then its own (which may override a peer's, e.g. to put a proxy in between).
     */
    settings: (service, peers) =>
      serviceSettings(keys, namespace, service, {
        [`${service.toUpperCase()}_PORT`]: '0',
        ...peers,
        ...own[service],
      }),
    logger: loggerFor,
  });
  const gatewayUrl = urls.gateway;
  return {
    auth,
    booking,
    location,
    payment,
    gateway,
    gatewayUrl,
    authUrl: urls.auth,
    bookingUrl: urls.booking,
    locationUrl: urls.location,
    paymentUrl: urls.payment,
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

export interface GatewayReplica {
  gateway: Gateway;
  url: string;
  stop(): Promise<void>;
}

/**
 * Another gateway instance in front of the same subgraphs, sharing the supergraph's Redis namespace (as a
 * second replica behind a load balancer would). `env` overrides its settings; stop it yourself.
 */
export async function startGatewayReplica(
  sg: Running,
  env: Record<string, string> = {},
): Promise<GatewayReplica> {
  const gateway = await createGateway(
    loadGatewayConfig(
      serviceSettings(sg.keys, sg.namespace, 'gateway', {
        ...subgraphUrlSettings(Object.fromEntries(sg.gateway.subgraphs.map((s) => [s.name, s.url]))),
        SUPERGRAPH_PATH: SUPERGRAPH.pathname,
        JWKS_URL: jwksUrlOf(sg.authUrl),
        RATE_LIMIT_TIERS: UNLIMITED_TEST_TIERS,
        ...env,
      }),
    ),
    createLogger('gateway', QUIET),
  );
  const { url } = await gateway.listen(0);
  return { gateway, url, stop: () => gateway.stop() };
}

/**
 * Another booking instance beside the supergraph's, on the same databases, peers and Redis namespace (as a
 * second replica of the deployment would be); the gateway does not route to it: call its service
 * directly. `env` overrides its settings; stop it yourself.
 */
export async function startBookingReplica(
  sg: Running,
  env: Record<string, string> = {},
): Promise<BookingSubgraph> {
  const booking = await createBookingSubgraph(
    loadBookingConfig(
      serviceSettings(sg.keys, sg.namespace, 'booking', {
        BOOKING_PORT: '0',
        AUTH_JWKS_URL: jwksUrlOf(sg.authUrl),
        AUTH_GRAPHQL_URL: sg.authUrl,
        LOCATION_GRAPHQL_URL: sg.locationUrl,
        BOOKING_DATABASE_POOL_SIZE: '4',
        ...env,
      }),
    ),
    createLogger('booking', QUIET),
  );
  await booking.listen(0);
  return booking;
}

/**
 * POSTs a GraphQL operation to the gateway as a client at `address`, the address our loopback proxy
 * reports in X-Forwarded-For (none when not given: the client is then the test process itself).
 */
export function gqlFrom<T = Record<string, unknown>>(
  sg: Pick<Running, 'gatewayUrl'>,
  address: string | undefined,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<GraphQLResult<T>> {
  return postGraphQL(sg.gatewayUrl, query, variables, token, address ? { 'x-forwarded-for': address } : {});
}

export function readSupergraph(): string {
  return readFileSync(SUPERGRAPH, 'utf8');
}

/** A user who has just signed up through the gateway, and the session the sign-up answered with. */
export interface SignedUp {
  id: string;
  email: string;
  accessToken: string;
  refreshToken: string;
}

export interface SignUpOptions {
  /** The start of the unique email (`uniqueEmail(tag)`). */
  tag?: string;
  firstName?: string;
  lastName?: string;
  /** The client's address (see gqlFrom): throttles count by it. */
  from?: string;
}

/**
 * Signs a new client up with PASSWORD through the gateway at `sg.gatewayUrl`; fails the test (setup)
 * with the errors if that does not work.
 */
export async function signUp(
  sg: Pick<Running, 'gatewayUrl'>,
  { tag = 'user', firstName = 'Sam', lastName = 'Client', from }: SignUpOptions = {},
): Promise<SignedUp> {
  const email = uniqueEmail(tag);
  const res = await gqlFrom<{ signUp: Omit<SignedUp, 'email' | 'id'> & { user: { id: string } } }>(
    sg,
    from,
    `mutation($i: SignUpInput!) { signUp(input: $i) { accessToken refreshToken user { id } } }`,
    { i: { email, password: PASSWORD, firstName, lastName } },
  );
  if (res.errors?.length || !res.data) throw new Error(`signUp failed: ${JSON.stringify(res.errors)}`);
  const { user, accessToken, refreshToken } = res.data.signUp;
  return { id: user.id, email, accessToken, refreshToken };
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
  const { id, email } = await signUp(sg, { tag: role.toLowerCase(), firstName, lastName: role });
  if (role !== 'CLIENT') await sg.auth.db.user.update({ where: { id }, data: { role } });
  const login = await sg.gql<{ logIn: { accessToken: string } }>(
    `mutation($i: LogInInput!) { logIn(input: $i) { accessToken } }`,
    { i: { email, password: PASSWORD } },
  );
  return { id, token: login.data!.logIn.accessToken };
}
