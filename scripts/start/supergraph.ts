/**
 * The whole supergraph in one process, wired the one way `pnpm start` and the end-to-end tests both use:
 * every subgraph on its own port, told where its peers answer, then the gateway in front of them.
 * What differs between the two (ports, keys, databases, loggers, what runs in the background) is the
 * caller's, through `settings` and `logger`.
 */
import { createAuthSubgraph, loadAuthConfig, type AuthSubgraph } from '@carwash/auth';
import { createBookingSubgraph, loadBookingConfig, type BookingSubgraph } from '@carwash/booking';
import { createGateway, loadGatewayConfig, type Gateway } from '@carwash/gateway';
import { createLocationSubgraph, loadLocationConfig, type LocationSubgraph } from '@carwash/location';
import { createPaymentSubgraph, loadPaymentConfig, type PaymentSubgraph } from '@carwash/payment';
import type { Logger } from '@carwash/subgraph-kit';
import type { Feature } from './config.js';

export type Service = Feature | 'gateway';
type Settings = Record<string, string | undefined>;

/** A service's config: each names its own port and host `<SERVICE>_PORT` and `<SERVICE>_HOST`. */
type ListensOn<N extends Service> = Record<`${Uppercase<N>}_PORT`, number> &
  Record<`${Uppercase<N>}_HOST`, string>;

interface Listener {
  listen(port: number, host?: string): Promise<{ url: string }>;
  stop(): Promise<void>;
}

/**
 * The subgraphs each feature calls (its settings name each one's URL `<PEER>_GRAPHQL_URL`); a feature
 * starts after its peers.
 */
const PEERS: Record<Feature, readonly Feature[]> = {
  auth: [],
  location: ['auth'],
  booking: ['auth', 'location'],
  payment: ['booking'],
};

/** The gateway's settings naming where each subgraph answers (`SUBGRAPH_<NAME>_URL`, as its config reads them). */
export function subgraphUrlSettings(urls: Partial<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(urls).flatMap(([name, url]) => (url ? [[`SUBGRAPH_${name.toUpperCase()}_URL`, url]] : [])),
  );
}

/** Where auth publishes the keys user tokens are verified with, given auth's GraphQL URL. */
export function jwksUrlOf(authUrl: string): string {
  return new URL('/.well-known/jwks.json', authUrl).href;
}

/** The settings that tell `service` where the services it calls answer, once those are listening. */
function peerSettings(service: Service, urls: Partial<Record<Service, string>>): Settings {
  if (service === 'auth') return {};
  const jwks = jwksUrlOf(urls.auth!);
  if (service === 'gateway') {
    const { auth, booking, location, payment } = urls;
    return { JWKS_URL: jwks, ...subgraphUrlSettings({ auth, booking, location, payment }) };
  }
  return {
    AUTH_JWKS_URL: jwks,
    ...Object.fromEntries(PEERS[service].map((peer) => [`${peer.toUpperCase()}_GRAPHQL_URL`, urls[peer]])),
  };
}

export interface InProcessOptions {
  /**
   * A service's settings. `peers` holds the URLs of the services it calls, as its settings name them:
   * place them among the others so that what should win does (an environment below them, a test's
   * override above).
   */
  settings(service: Service, peers: Settings): Settings;
  logger(service: Service): Logger;
  /** Told of each service as it is built, so that the caller can stop those built if a later one fails. */
  built?(service: Service, stop: () => Promise<void>): void;
}

export interface InProcessSupergraph {
  auth: AuthSubgraph;
  booking: BookingSubgraph;
  location: LocationSubgraph;
  payment: PaymentSubgraph;
  gateway: Gateway;
  /** Each service's GraphQL URL. */
  urls: Record<Service, string>;
}

/**
 * Builds every subgraph (its peers first) and then the gateway, each listening on the port and host of
 * its settings (`<SERVICE>_PORT`, `<SERVICE>_HOST`; port 0 for a free one).
 */
export async function startInProcess({
  settings,
  logger,
  built = () => undefined,
}: InProcessOptions): Promise<InProcessSupergraph> {
  const urls: Partial<Record<Service, string>> = {};
  /** Loads `service`'s config (its peers' URLs included), builds it and listens where its config says. */
  async function start<N extends Service, C extends ListensOn<N>, S extends Listener>(
    service: N,
    load: (env: Settings) => C,
    create: (config: C, log: Logger) => Promise<S>,
  ): Promise<S> {
    const config = load(settings(service, peerSettings(service, urls)));
    const server = await create(config, logger(service));
    built(service, () => server.stop());
    const prefix = service.toUpperCase() as Uppercase<N>;
    urls[service] = (await server.listen(config[`${prefix}_PORT`], config[`${prefix}_HOST`])).url;
    return server;
  }

  const auth = await start('auth', loadAuthConfig, createAuthSubgraph);
  const location = await start('location', loadLocationConfig, createLocationSubgraph);
  const booking = await start('booking', loadBookingConfig, createBookingSubgraph);
  const payment = await start('payment', loadPaymentConfig, createPaymentSubgraph);
  const gateway = await start('gateway', loadGatewayConfig, createGateway);
  return { auth, booking, location, payment, gateway, urls: urls as Record<Service, string> };
}
