// First: Apollo Gateway must load @apollo/federation-internals' exports as plain properties (see there).
import './federation-exports.js';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControl } from '@apollo/server/plugin/cacheControl';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { InMemoryLRUCache } from '@apollo/utils.keyvaluecache';
import { expressMiddleware } from '@as-integrations/express5';
import { maskFormattedError } from '@carwash/errors';
import { HEADER, type UserTokenVerifier, type Viewer } from '@carwash/service-trust';
import {
  createAccessTokenVerifier,
  errorLoggingPlugin,
  finalHandlers,
  keepingContext,
  lifecycle,
  observeRequests,
  requestId,
  requestLogPlugin,
  type Closable,
  type Logger,
} from '@carwash/subgraph-kit';
import express, { type Express } from 'express';
import type { DocumentNode } from 'graphql';
import type { GatewayConfig } from './config.js';
import type { EdgeClient } from './edge/client.js';
import { createGatewayMetrics, type GatewayMetrics } from './edge/metrics.js';
import { createRateLimiter, rateLimitPlugin } from './edge/rate-limit.js';
import { createEdgeLabels, measured, requestMetricsPlugin } from './edge/request-metrics.js';
import { createPersistedQueries } from './edge/persisted.js';
import { gatewayReadiness } from './edge/readiness.js';
import { admission, OperationGate } from './edge/admission.js';
import { ResponseCache, type RequestCacheState } from './edge/response-cache.js';
import { SharedFetches } from './edge/shared-fetches.js';
import { createSubgraphClient } from './edge/subgraph-fetch.js';
import { createSubgraphHealth } from './edge/subgraph-health.js';
import { SubgraphDataSource } from './edge/subgraph-source.js';
import { corsPolicy } from './edge/cors.js';
import {
  answerClientErrors,
  bodyParseErrors,
  codeClientErrors,
  graphqlMethods,
  graphqlOverHttpStatus,
  operationChecks,
} from './edge/http-errors.js';
import { introspectionPolicy } from './edge/introspection.js';
import { createEdgeLimits } from './edge/limits.js';

export { loadGatewayConfig, type GatewayConfig } from './config.js';
import { subgraphsOf, type SubgraphEndpoint } from './supergraph.js';

export interface GatewayContext {
  requestId: string;
  viewer: Viewer | null;
  /** Forwarded verbatim so each subgraph verifies the end user again. */
  authorization: string | undefined;
  clientIp: string | undefined;
  /** Who is calling (partner key, first-party app, anonymous): the key of every edge policy. */
  client: EdgeClient;
  /** The facts the subgraphs' public answers came from (edge/response-cache.ts). */
  cache: RequestCacheState;
}

export interface Gateway {
  app: Express;
  httpServer: http.Server;
  subgraphs: SubgraphEndpoint[];
  metrics: GatewayMetrics;
  listen(port: number, host?: string): Promise<{ url: string; port: number }>;
  stop(): Promise<void>;
}

/**
 * The supergraph edge: Apollo Gateway on a supergraph file (any valid one), signing every subgraph
 * request, verifying access tokens up front, masking errors, with health, readiness and Sandbox.
 */
export async function createGateway(config: GatewayConfig, logger: Logger): Promise<Gateway> {
  const opened: Closable[] = [];
  try {
    return await assembleGateway(config, logger, opened);
  } catch (error) {
    // A start that fails halfway (a supergraph Apollo refuses, a store that will not start) closes what
    // it had opened, so no Redis connection, bus watch or subgraph pool is left holding the process open.
    await Promise.allSettled(opened.map((resource) => resource.close()));
    throw error;
  }
}

/** `createGateway`'s work; every resource it opens goes into `opened` as soon as it exists. */
async function assembleGateway(config: GatewayConfig, logger: Logger, opened: Closable[]): Promise<Gateway> {
  const own = <T extends Closable | undefined>(resource: T): T => {
    if (resource) opened.push(resource);
    return resource;
  };
  const supergraphSdl = readFileSync(config.SUPERGRAPH_PATH, 'utf8');
  const supergraphHash = createHash('sha256').update(supergraphSdl).digest('hex').slice(0, 12);
  const subgraphs = subgraphsOf(supergraphSdl).map((s) => ({
    ...s,
    url: config.subgraphUrls[s.name.toLowerCase()] ?? s.url,
  }));
  // Per subgraph: its own signed fetch, deadline and bounded keep-alive pool (edge/subgraph-fetch.ts).
  const clients = subgraphs.map((s) =>
    own(
      createSubgraphClient(
        s,
        {
          timeoutMs: config.subgraphTimeoutsMs[s.name.toLowerCase()] ?? config.SUBGRAPH_TIMEOUT_MS,
          maxConnections: config.SUBGRAPH_MAX_CONNECTIONS,
          keepAliveMs: config.SUBGRAPH_KEEPALIVE_MS,
        },
        config.credentials.signing,
      ),
    ),
  );
  const health = createSubgraphHealth(clients, { probeTimeoutMs: config.READY_TIMEOUT_MS });

  const metrics = createGatewayMetrics();
  const labels = createEdgeLabels();
  const busConfig =
    config.EVENT_BUS === 'redis'
      ? ({ kind: 'redis', url: config.REDIS_URL, namespace: config.EVENTS_NAMESPACE } as const)
      : ({ kind: 'memory', namespace: config.EVENTS_NAMESPACE } as const);
  // Public answers (booking's free slots), evicted by the bus's events and by mutations passing through.
  const responseCache = own(
    new ResponseCache({ maxMiB: config.GATEWAY_RESPONSE_CACHE_MIB, metrics, logger }),
  );
  await responseCache.watch(busConfig);
  const cachePlugin = responseCache.plugin<GatewayContext>();
  const rateLimiter = own(await createRateLimiter(config.RATE_LIMIT_TIERS, busConfig, logger));

  const gateway = new ApolloGateway({
    supergraphSdl,
    buildService: ({ name, url }) => {
      const client = clients.find((c) => c.name === name);
      if (!client) throw new Error(`subgraph ${name} (${url}) is not in the supergraph's join__Graph`);
      const subgraph = name.toLowerCase();
      // Fetch time and failures by reason on /metrics; the client's deadline and pool stay as they are.
      const observed = {
        ...client,
        fetch: measured(metrics, subgraph, client.fetch),
        send: measured(metrics, subgraph, client.send),
      };
      // Identical queries in flight share one fetch (edge/shared-fetches.ts), counted on /metrics.
      const shared =
        config.SUBGRAPH_DEDUPE === 'on'
          ? new SharedFetches(() => metrics.subgraphFetchesShared.inc({ subgraph }))
          : undefined;
      return new SubgraphDataSource({ client: observed, logger, health, shared, responseCache });
    },
    logger,
    // Bounded: a stream of distinct documents must not grow the process (default 30 MiB, approximated).
    experimental_approximateQueryPlanStoreMiB: config.QUERY_PLAN_CACHE_MIB,
  });

  // Signature, expiry and revocation (shared store, short local cache); the subgraphs check all three again.
  const tokens = own(
    config.JWKS_URL === 'none' ? undefined : createAccessTokenVerifier({ jwksUrl: config.JWKS_URL }, config),
  );
  const verifyUser: UserTokenVerifier = tokens?.verify ?? (async () => null);

  // Trusted documents, safelisting, APQ and partner API keys (verified with auth under our credential).
  // Key checks ride auth's own client: signed for auth, under its deadline and connection pool.
  const authClient = clients.find((c) => c.name.toLowerCase() === 'auth');
  const persisted = own(
    createPersistedQueries(config, {
      authUrl: authClient?.url,
      authFetch: authClient?.fetch ?? fetch,
      metrics,
      logger,
    }),
  );
  const app = express();
  app.disable('x-powered-by');
  // No ETag: Express would hash every answer (a dashboard's is ~46 KB) for a validator no GraphQL client
  // sends back, and a 304 for a POST answer, or an answer from another user's data, means nothing.
  app.set('etag', false);
  // `req.ip` is then the client as our own proxies saw it: X-Forwarded-For is read only when the peer is trusted.
  app.set('trust proxy', config.TRUSTED_PROXIES);
  const httpServer = http.createServer(app);
  // Edge protection: limits before any subgraph is called, coded JSON for every refusal (README).
  answerClientErrors(httpServer, metrics);
  const limits = createEdgeLimits({
    metrics,
    limits: {
      maxTokens: config.LIMIT_MAX_TOKENS,
      maxDepth: config.LIMIT_MAX_DEPTH,
      maxAliases: config.LIMIT_MAX_ALIASES,
      maxRootFields: config.LIMIT_MAX_ROOT_FIELDS,
      maxDirectives: config.LIMIT_MAX_DIRECTIVES,
      maxCost: config.LIMIT_MAX_COST,
      maxSelections: config.LIMIT_MAX_SELECTIONS,
    },
  });
  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    // Decided per request by `introspectionPolicy` (INTROSPECTION: on, admins, off); Apollo's is global.
    introspection: true,
    persistedQueries: persisted.apq,
    // Signals belong to whoever runs the server (stopOnSignals in main.ts, or pnpm start hosting every
    // service): Apollo's own handler would stop only itself and then re-raise the signal, killing the
    // process before the bus and database pools are closed.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: false,
    documentStore: new InMemoryLRUCache<DocumentNode>({ maxSize: config.DOCUMENT_CACHE_MIB * 2 ** 20 }),
    ...limits.apollo,
    plugins: [
      introspectionPolicy(config.INTROSPECTION),
      operationChecks(),
      graphqlOverHttpStatus(),
      ApolloServerPluginDrainHttpServer({ httpServer }),
      errorLoggingPlugin(logger),
      requestMetricsPlugin(metrics, labels),
      persisted.plugin,
      rateLimitPlugin(rateLimiter, config.RATE_LIMIT_COSTS, metrics, labels.client, logger),
      requestLogPlugin(),
      // Last but for the landing page: a cached answer is given only after every check above.
      ...(cachePlugin ? [cachePlugin] : []),
      // The policy the subgraphs' Cache-Control gives is the response cache's alone: no Cache-Control to
      // clients, whose caches no event would evict.
      ApolloServerPluginCacheControl({ calculateHttpHeaders: false }),
      config.SANDBOX
        ? ApolloServerPluginLandingPageLocalDefault({ embed: true, footer: false, includeCookies: false })
        : ApolloServerPluginLandingPageDisabled(),
    ],
    formatError: (formatted, error) =>
      maskFormattedError(codeClientErrors(limits.recode(formatted, error), error), error),
  });
  await apollo.start();

  const readiness = gatewayReadiness({
    supergraph: { loaded: true, path: config.SUPERGRAPH_PATH, hash: supergraphHash },
    checks: tokens ? { revocations: () => tokens.ping() } : {},
    health,
    timeoutMs: config.READY_TIMEOUT_MS,
  });

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok', service: 'gateway' });
  });
  app.get('/ready', async (_req, res) => {
    const r = await readiness();
    res.status(r.ok ? 200 : 503).json(r.body);
  });
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  const graphql = expressMiddleware(apollo, {
    context: async ({ req, res }) => {
      const authorization = req.header(HEADER.authorization);
      // A token that is present but invalid is refused outright (401 UNAUTHENTICATED), never downgraded to anonymous.
      const viewer = await verifyUser(authorization);
      // An unknown or revoked API key is refused here (401 API_KEY_INVALID), like a bad token.
      const client = await persisted.clientOf(req);
      return {
        requestId: res.locals.requestId as string,
        viewer,
        authorization,
        clientIp: req.ip,
        client,
        cache: responseCache.begin(),
      };
    },
  });
  // One gate for both paths: the bound is the process's.
  const gate = new OperationGate({
    maxOperations: config.GATEWAY_MAX_OPERATIONS,
    maxQueued: config.GATEWAY_MAX_QUEUED,
  });
  // `/` also answers GraphQL: Sandbox sends its queries to the page's own URL.
  for (const path of ['/graphql', '/']) {
    app.all(
      path,
      // Streams unbound (binding wraps every listener of req and res, per request): the body parser's
      // callback re-enters the request's context instead, as in the subgraphs.
      observeRequests({ logger, tracer: 'gateway', bindStreams: false }),
      requestId,
      corsPolicy(config.CORS_ORIGINS),
      graphqlMethods(metrics),
      admission(gate, metrics),
      keepingContext(express.json({ limit: config.MAX_REQUEST_BYTES })),
      bodyParseErrors(metrics, config.MAX_REQUEST_BYTES),
      limits.guard,
      graphql,
    );
  }
  app.use(...finalHandlers(logger));

  return {
    app,
    httpServer,
    subgraphs,
    metrics,
    ...lifecycle(httpServer, apollo, opened),
  };
}
