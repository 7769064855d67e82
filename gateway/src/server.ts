import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import {
  ApolloGateway,
  RemoteGraphQLDataSource,
  type GraphQLDataSourceProcessOptions,
} from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { InMemoryLRUCache } from '@apollo/utils.keyvaluecache';
import { expressMiddleware } from '@as-integrations/express5';
import { maskFormattedError } from '@carwash/errors';
import { HEADER, signedFetch, type UserTokenVerifier, type Viewer } from '@carwash/service-trust';
import {
  createAccessTokenVerifier,
  errorLoggingPlugin,
  finalHandlers,
  lifecycle,
  requestId,
  type Logger,
} from '@carwash/subgraph-kit';
import express, { type Express } from 'express';
import type { DocumentNode } from 'graphql';
import type { GatewayConfig } from './config.js';
import { firstPartyClientOf, type EdgeClient } from './edge/client.js';
import { createGatewayMetrics, type GatewayMetrics } from './edge/metrics.js';
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
}

export interface Gateway {
  app: Express;
  httpServer: http.Server;
  subgraphs: SubgraphEndpoint[];
  metrics: GatewayMetrics;
  listen(port: number, host?: string): Promise<{ url: string; port: number }>;
  stop(): Promise<void>;
}

/** Adds the caller's identity and request id; the signed fetch then signs the exact bytes sent. */
class IdentityForwardingDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): void {
    const headers = request.http?.headers;
    if (!headers || !context) return;
    if (context.authorization) headers.set(HEADER.authorization, context.authorization);
    if (context.requestId) headers.set(HEADER.requestId, context.requestId);
    if (context.clientIp) headers.set(HEADER.clientIp, context.clientIp);
  }
}

/**
 * The supergraph edge: Apollo Gateway on a supergraph file (any valid one), signing every subgraph
 * request, verifying access tokens up front, masking errors, with health, readiness and Sandbox.
 */
export async function createGateway(config: GatewayConfig, logger: Logger): Promise<Gateway> {
  const supergraphSdl = readFileSync(config.SUPERGRAPH_PATH, 'utf8');
  const supergraphHash = createHash('sha256').update(supergraphSdl).digest('hex').slice(0, 12);
  const subgraphs = subgraphsOf(supergraphSdl).map((s) => ({
    ...s,
    url: config.subgraphUrls[s.name.toLowerCase()] ?? s.url,
  }));
  // One signed fetch per subgraph: each signature names its target, so it cannot be replayed to another.
  const fetcherFor = (name: string) => signedFetch(config.credentials.signing, name.toLowerCase());

  const gateway = new ApolloGateway({
    supergraphSdl,
    buildService: ({ name, url }) =>
      new IdentityForwardingDataSource({
        url: subgraphs.find((s) => s.name === name)?.url ?? url,
        fetcher: fetcherFor(name) as never,
      }),
    logger,
    // Bounded: a stream of distinct documents must not grow the process (default 30 MiB, approximated).
    experimental_approximateQueryPlanStoreMiB: config.QUERY_PLAN_CACHE_MIB,
  });

  // Signature, expiry and revocation (shared store, short local cache); the subgraphs check all three again.
  const tokens =
    config.JWKS_URL === 'none' ? undefined : createAccessTokenVerifier({ jwksUrl: config.JWKS_URL }, config);
  const verifyUser: UserTokenVerifier = tokens?.verify ?? (async () => null);

  const metrics = createGatewayMetrics();
  const app = express();
  app.disable('x-powered-by');
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
    includeStacktraceInErrorResponses: false,
    documentStore: new InMemoryLRUCache<DocumentNode>({ maxSize: config.DOCUMENT_CACHE_MIB * 2 ** 20 }),
    ...limits.apollo,
    plugins: [
      introspectionPolicy(config.INTROSPECTION),
      operationChecks(),
      graphqlOverHttpStatus(),
      ApolloServerPluginDrainHttpServer({ httpServer }),
      errorLoggingPlugin(logger),
      config.SANDBOX
        ? ApolloServerPluginLandingPageLocalDefault({ embed: true, footer: false, includeCookies: false })
        : ApolloServerPluginLandingPageDisabled(),
    ],
    formatError: (formatted, error) =>
      maskFormattedError(codeClientErrors(limits.recode(formatted, error), error), error),
  });
  await apollo.start();

  let ready = { at: 0, body: undefined as unknown, ok: false };
  async function readiness() {
    if (Date.now() - ready.at < 1000) return ready;
    const checks: Record<string, { ok: boolean; latencyMs?: number; error?: string }> = {};
    await Promise.all(
      subgraphs.map(async (s) => {
        const started = performance.now();
        try {
          const res = await fetcherFor(s.name)(s.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ query: '{ __typename }' }),
            signal: AbortSignal.timeout(config.READY_TIMEOUT_MS),
          });
          const body = (await res.json()) as { data?: { __typename?: string } };
          const ok = res.ok && body.data?.__typename === 'Query';
          checks[s.name] = {
            ok,
            latencyMs: Math.round(performance.now() - started),
            ...(ok ? {} : { error: `HTTP ${res.status}` }),
          };
        } catch (err) {
          checks[s.name] = {
            ok: false,
            error: (err as Error).name === 'TimeoutError' ? 'timeout' : 'unreachable',
          };
        }
      }),
    );
    const ok = Object.values(checks).every((c) => c.ok);
    ready = {
      at: Date.now(),
      ok,
      body: {
        status: ok ? 'ready' : 'unready',
        supergraph: { loaded: true, path: config.SUPERGRAPH_PATH, hash: supergraphHash },
        subgraphs: checks,
      },
    };
    return ready;
  }

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
      return {
        requestId: res.locals.requestId as string,
        viewer,
        authorization,
        clientIp: req.ip,
        client: firstPartyClientOf(req),
      };
    },
  });
  // `/` also answers GraphQL: Sandbox sends its queries to the page's own URL.
  for (const path of ['/graphql', '/']) {
    app.all(
      path,
      requestId,
      corsPolicy(config.CORS_ORIGINS),
      graphqlMethods(metrics),
      express.json({ limit: config.MAX_REQUEST_BYTES }),
      bodyParseErrors(metrics, config.MAX_REQUEST_BYTES),
      limits.guard,
      graphql,
    );
  }
  app.use(...finalHandlers(logger));

  const { listen, stop } = lifecycle(httpServer, apollo);
  return {
    app,
    httpServer,
    subgraphs,
    metrics,
    listen,
    stop: async () => {
      await stop();
      await tokens?.close();
    },
  };
}
