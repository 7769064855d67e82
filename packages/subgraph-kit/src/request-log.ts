import type { ApolloServerPlugin } from '@apollo/server';
import {
  context,
  createContextKey,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';

/** What one request's access-log line says beside its request id, trace id, status and duration. */
export interface RequestLogRecord {
  operationName?: string;
  /** `context.client.name` at the gateway; the forwarded client name in a subgraph. */
  client?: string;
  /** The signed caller (subgraphs: `gateway` or a sibling service). */
  caller?: string;
  /** Catalogue codes of the errors sent, in order. */
  errors?: string[];
}

const RECORD = createContextKey('carwash.requestLog');
/** Apollo Client's header naming the app; the gateway forwards the resolved client name under it. */
export const CLIENT_NAME_HEADER = 'apollographql-client-name';
const LABEL = /^[A-Za-z0-9._-]{1,64}$/;

/** The access-log record of the request being served (undefined outside `observeRequests`). */
export function currentRequestLog(): RequestLogRecord | undefined {
  return context.active().getValue(RECORD) as RequestLogRecord | undefined;
}

export interface ObserveRequestsOptions {
  logger: Logger;
  /** The tracer's name (the service). */
  tracer: string;
  /**
   * Bind the request's and response's stream events to the request's context (default), so that
   * whatever a body parser's callback runs keeps it. `false` for a pipeline that restores the context
   * itself where it needs it (`createSubgraphServer`, after reading the body): binding wraps every
   * listener anyone adds to either stream, per request.
   */
  bindStreams?: boolean;
}

/**
 * Per request: continues the caller's W3C trace (`traceparent`) in a server span, keeps it active for
 * everything the request runs (body parsing, Apollo, resolvers, outgoing fetches), and writes one JSON
 * access-log line when the response is sent: request id, trace id, client, operation name, duration,
 * status and error codes. Never headers, variables or bodies, so no token or password reaches a log.
 */
export function observeRequests({ logger, tracer: name, bindStreams = true }: ObserveRequestsOptions) {
  const tracer = trace.getTracer(name);
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = performance.now();
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const span = tracer.startSpan(
      `${req.method} ${req.baseUrl || req.path}`,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method, 'url.path': req.path } },
      parent,
    );
    const client = req.header(CLIENT_NAME_HEADER);
    const record: RequestLogRecord = client && LABEL.test(client) ? { client } : {};
    const ctx = trace.setSpan(parent, span).setValue(RECORD, record);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      const status = res.statusCode;
      span.setAttribute('http.response.status_code', status);
      if (record.operationName) span.setAttribute('graphql.operation.name', record.operationName);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      context.with(ctx, () =>
        logger.info(
          {
            requestId: res.locals.requestId as string | undefined,
            ...record,
            status,
            durationMs: Math.round((performance.now() - started) * 10) / 10,
            ...(res.writableFinished ? {} : { aborted: true }),
          },
          'request',
        ),
      );
      span.end();
    };
    res.once('finish', finish);
    res.once('close', finish);
    // Stream events (the body arriving) run in the socket's async context; bind them to the request's.
    if (bindStreams) {
      context.bind(ctx, req);
      context.bind(ctx, res);
    }
    context.with(ctx, next);
  };
}

/**
 * `middleware` (a body parser) with its `next` called back in the request's context: the body's last
 * chunk arrives in the socket's, so whatever runs after it (access-log record, Apollo, resolvers, the
 * traceparent of outgoing fetches) continues in the request's again. What `bindStreams: false` needs.
 */
export function keepingContext(
  middleware: (req: Request, res: Response, next: NextFunction) => void,
): (req: Request, res: Response, next: NextFunction) => void {
  return (req, res, next) => {
    const active = context.active();
    middleware(req, res, (err?: unknown) => context.with(active, () => next(err)));
  };
}

/** Fills the access-log record from GraphQL: the operation name, the client (gateway) and error codes. */
export function requestLogPlugin<Ctx extends object>(): ApolloServerPlugin<Ctx> {
  return {
    async requestDidStart({ contextValue }) {
      const record = currentRequestLog();
      const client = (contextValue as { client?: { name?: unknown } }).client?.name;
      if (record && typeof client === 'string') record.client = client;
      return {
        async didResolveOperation({ operationName }) {
          if (record) record.operationName = operationName ?? 'anonymous';
        },
        async willSendResponse({ response }) {
          if (!record || response.body.kind !== 'single') return;
          const codes = (response.body.singleResult.errors ?? []).map((e) =>
            String(e.extensions?.code ?? 'UNKNOWN'),
          );
          if (codes.length) record.errors = codes;
        },
      };
    },
  };
}
