import http from 'node:http';
import { ApolloServer, type BaseContext } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { maskFormattedError } from '@carwash/errors';
import {
  createRequestVerifier,
  HEADER,
  type TrustedKey,
  type UserTokenVerifier,
  type Viewer,
} from '@carwash/service-trust';
import express, { type Express, type Request } from 'express';
import type { DocumentNode } from 'graphql';
import { applyMiddleware, type IMiddlewareGenerator } from 'graphql-middleware';
import type { Logger } from 'pino';
import { errorLoggingPlugin, recodeConnectionFailure } from './error-plugin.js';
import { CacheHints, cacheHintsPlugin } from './cache-hints.js';
import { bodyErrors, finalHandlers, lifecycle, requestId, sendError } from './http.js';
import { createNonceStore } from './nonces.js';
import { currentRequestLog, keepingContext, observeRequests, requestLogPlugin } from './request-log.js';
import { serviceAccessMiddleware, type ServiceAccess } from './service-access.js';

/** What every subgraph's context starts from. Features extend it with their loaders and services. */
export interface RequestContext {
  requestId: string;
  /** The end user, verified again here from the forwarded access token; null when anonymous. */
  viewer: Viewer | null;
  /** The signed caller: `gateway` or one of our services. */
  caller: string;
  clientIp: string | undefined;
  log: Logger;
  /** What this request tells the gateway's response cache (public answers, evicted facts). */
  cache: CacheHints;
}

export type ReadinessCheck = () => Promise<void>;

/**
 * The resolver map `buildSubgraphSchema` takes (the package exports no name for it). A feature passes the
 * `Resolvers` type GraphQL Code Generator writes into its `src/__generated__/resolvers-types.ts`, which is
 * bound to the feature's context type there.
 */
export type SubgraphResolvers = NonNullable<SchemaModule['resolvers']>;
type SchemaModule = Exclude<
  Extract<Parameters<typeof buildSubgraphSchema>[0], readonly unknown[]>[number],
  DocumentNode
>;

export interface SubgraphServerOptions<Ctx extends RequestContext> {
  name: string;
  typeDefs: DocumentNode;
  resolvers: SubgraphResolvers;
  /** graphql-shield rules: deny by default, `_service`/`_entities` allowed, entity fields guarded. */
  permissions: IMiddlewareGenerator<unknown, Ctx, unknown>;
  /** Keys accepted from callers, each bound to the one service name it may sign as. */
  trustedKeys: readonly TrustedKey[];
  /** What each sibling service may read here (see `ServiceAccess`); the gateway is checked as the end user. */
  serviceAccess: ServiceAccess;
  /** Where accepted nonces are remembered (Redis, or memory with EVENT_BUS=memory). */
  replayGuard: { EVENT_BUS: 'redis' | 'memory'; REDIS_URL: string; EVENTS_NAMESPACE: string };
  verifyUser: UserTokenVerifier;
  /** Adds the feature's per-request state (DataLoaders, services) to the base context. */
  createContext: (base: RequestContext) => Ctx;
  logger: Logger;
  maxBodyBytes: number;
  /** Dependencies that must answer for GET /ready (database, …). */
  readiness?: Record<string, ReadinessCheck>;
  /** Extra public routes, mounted before the trust check (e.g. the JWKS document). */
  routes?: (app: Express) => void;
}

export interface SubgraphServer {
  app: Express;
  httpServer: http.Server;
  listen(port: number, host?: string): Promise<{ url: string; port: number }>;
  /** Stops accepting connections, lets in-flight requests finish, then resolves. */
  stop(): Promise<void>;
}

/**
 * One Apollo subgraph over Express: a trust gate (signed service credential on every GraphQL request),
 * the end user's identity verified again, shield-guarded schema, coded and masked errors, health routes.
 */
export async function createSubgraphServer<Ctx extends RequestContext>(
  options: SubgraphServerOptions<Ctx>,
): Promise<SubgraphServer> {
  const { name, logger } = options;
  const schema = applyMiddleware(
    buildSubgraphSchema([{ typeDefs: options.typeDefs, resolvers: options.resolvers }]),
    // The allow-list runs first, so a sibling service never reaches a field outside it.
    serviceAccessMiddleware<Ctx>(options.serviceAccess),
    options.permissions,
  );
  const nonces = createNonceStore(name, options.replayGuard);
  const verifyCredential = createRequestVerifier({ trusted: options.trustedKeys, audience: name, nonces });

  const app = express();
  app.disable('x-powered-by');
  // No ETag: Express would hash every answer for a validator the gateway never sends back.
  app.set('etag', false);
  app.set('trust proxy', false);
  const httpServer = http.createServer(app);

  const apollo = new ApolloServer<Ctx>({
    schema,
    // Subgraphs are not for humans: no landing page; the gateway serves Sandbox.
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      ApolloServerPluginLandingPageDisabled(),
      // No federated traces (ftv1): our gateway never asks for them (no usage reporting; spans go to
      // OpenTelemetry), and the plugin builds a trace tree for every request before it looks.
      ApolloServerPluginInlineTraceDisabled(),
      // No cache-control hints either: no type or field here declares one (@cacheControl), so every
      // response's policy is max-age 0, which the gateway reads the same from no Cache-Control header
      // (subgraph-source.ts). The default plugin wraps every resolver (willResolveField) to compute it.
      ApolloServerPluginCacheControlDisabled(),
      errorLoggingPlugin(logger),
      requestLogPlugin(),
      cacheHintsPlugin<Ctx>(),
    ],
    // Signals belong to whoever runs the server (stopOnSignals in main.ts, or pnpm start hosting every
    // service): Apollo's own handler would stop only itself and then re-raise the signal, killing the
    // process before the bus and database pools are closed.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: false,
    formatError: (formatted, error) => maskFormattedError(recodeConnectionFailure(formatted, error), error),
  });
  await apollo.start();

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok', service: name });
  });
  app.get('/ready', async (_req, res) => {
    const checks: Record<string, { ok: boolean; error?: string }> = {};
    await Promise.all(
      Object.entries({ ...options.readiness, nonceStore: () => nonces.ping() }).map(async ([key, check]) => {
        try {
          await check();
          checks[key] = { ok: true };
        } catch (err) {
          checks[key] = { ok: false, error: (err as Error).message.slice(0, 200) };
        }
      }),
    );
    const ready = Object.values(checks).every((c) => c.ok);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unready', service: name, checks });
  });
  options.routes?.(app);

  const readBody = express.raw({ type: () => true, limit: options.maxBodyBytes });
  app.use(
    '/graphql',
    observeRequests({ logger, tracer: name, bindStreams: false }),
    requestId,
    // After the body, the trust gate's access-log record, Apollo, resolvers and the traceparent of peer
    // calls continue in the request's context again: all that binding both streams was needed for.
    keepingContext(readBody),
    bodyErrors(options.maxBodyBytes),
  );
  app.use('/graphql', async (req, res, next) => {
    const raw: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const url = new URL(req.originalUrl, 'http://subgraph');
    let verdict;
    try {
      verdict = await verifyCredential(req.headers, {
        method: req.method,
        path: url.pathname + url.search,
        body: raw,
        authorization: req.header(HEADER.authorization),
        clientIp: req.header(HEADER.clientIp),
        requestId: req.header(HEADER.requestId),
      });
    } catch (err) {
      // No nonce store, no replay protection: refuse rather than accept a request that may be a replay.
      logger.error({ err, requestId: res.locals.requestId }, 'nonce store unavailable; refusing the request');
      return sendError(res, 'SERVICE_UNAVAILABLE', { requestId: res.locals.requestId });
    }
    if (!verdict.ok) {
      logger.warn(
        {
          reason: verdict.reason,
          claimed: req.header(HEADER.service)?.slice(0, 64),
          ip: req.socket.remoteAddress,
          requestId: res.locals.requestId,
        },
        'refused an unsigned, badly signed or replayed request',
      );
      return sendError(res, verdict.reason, { requestId: res.locals.requestId });
    }
    res.locals.caller = verdict.service;
    const record = currentRequestLog();
    if (record) record.caller = verdict.service;
    if (req.method === 'POST') {
      try {
        req.body = raw.length ? JSON.parse(raw.toString('utf8')) : {};
      } catch {
        return sendError(res, 'BAD_REQUEST', {}, 'The request body is not valid JSON.');
      }
    } else {
      req.body = undefined;
    }
    next();
  });
  app.use(
    '/graphql',
    expressMiddleware(apollo, {
      context: async ({ req, res }) => {
        const id = res.locals.requestId as string;
        const log = logger.child({ requestId: id });
        const viewer = await options.verifyUser(req.header(HEADER.authorization));
        return options.createContext({
          requestId: id,
          viewer,
          caller: res.locals.caller as string,
          clientIp: req.header(HEADER.clientIp),
          log,
          cache: new CacheHints(),
        });
      },
    }),
  );
  app.use(...finalHandlers(logger));

  return { app, httpServer, ...lifecycle(httpServer, apollo, [nonces]) };
}

/** Stops the server on SIGTERM/SIGINT after in-flight requests finish; exits non-zero if that hangs. */
export function stopOnSignals(stop: () => Promise<void>, logger: Logger, graceMs = 10_000): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: draining in-flight requests');
    const timer = setTimeout(() => {
      logger.error('shutdown grace period elapsed; exiting');
      process.exit(1);
    }, graceMs);
    timer.unref();
    stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => handler('SIGTERM'));
  process.once('SIGINT', () => handler('SIGINT'));
}

export type { BaseContext, Request };
