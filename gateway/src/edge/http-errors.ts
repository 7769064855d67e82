import { STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ApolloServerPlugin } from '@apollo/server';
import { ERROR_CATALOGUE, type ErrorCode } from '@carwash/errors';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import Negotiator from 'negotiator';
import type { GatewayMetrics } from './metrics.js';

export const MEDIA = {
  json: 'application/json; charset=utf-8',
  graphqlResponse: 'application/graphql-response+json; charset=utf-8',
} as const;

/**
 * The response type a client gets, as the GraphQL-over-HTTP spec and Apollo Server decide it: the
 * preferred of `application/json` and `application/graphql-response+json`, JSON when `Accept` is absent,
 * `undefined` when it allows neither.
 */
export function negotiateMedia(accept: string | undefined): string | undefined {
  if (!accept) return MEDIA.json;
  return new Negotiator({ headers: { accept } }).mediaType([MEDIA.json, MEDIA.graphqlResponse]);
}

/**
 * Sends a coded GraphQL error from outside Apollo Server (edge middleware): JSON body, the catalogue's
 * status, the negotiated media type, and the code counted in `gateway_errors_total`.
 */
export function sendEdgeError(
  req: Request,
  res: Response,
  metrics: GatewayMetrics,
  code: ErrorCode,
  options: { message?: string; headers?: Record<string, string> } = {},
): void {
  metrics.errors.inc({ code });
  const requestId = res.locals.requestId as string | undefined;
  const body = JSON.stringify({
    errors: [
      {
        message: options.message ?? ERROR_CATALOGUE[code].message,
        extensions: { code, ...(requestId ? { requestId } : {}) },
      },
    ],
  });
  for (const [name, value] of Object.entries(options.headers ?? {})) res.setHeader(name, value);
  res
    .status(ERROR_CATALOGUE[code].status)
    .type(negotiateMedia(req.header('accept')) ?? MEDIA.json)
    .send(body);
}

const GRAPHQL_METHODS = new Set(['GET', 'POST']);

/**
 * GraphQL is served over GET and POST only. Any other method (HEAD, PUT, PROPFIND, …) gets a coded 405
 * with `Allow`; a HEAD response carries the JSON type and length, its body being dropped by HTTP itself.
 */
export function graphqlMethods(metrics: GatewayMetrics): RequestHandler {
  return (req, res, next) => {
    if (GRAPHQL_METHODS.has(req.method)) return next();
    sendEdgeError(req, res, metrics, 'METHOD_NOT_ALLOWED', { headers: { allow: 'GET, POST' } });
  };
}

/** Node's own parser errors, answered on the raw socket (Express never sees these requests). */
const CLIENT_ERRORS: Record<string, ErrorCode> = {
  HPE_HEADER_OVERFLOW: 'REQUEST_HEADER_FIELDS_TOO_LARGE',
  ERR_HTTP_REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
};

/**
 * Replaces Node's bare replies to requests it cannot parse (431 for oversized headers, 400 for an unknown
 * method or garbage, 408 for a slow client), which have no body, with coded JSON ones.
 */
export function answerClientErrors(server: Server, metrics: GatewayMetrics): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
    const code = CLIENT_ERRORS[err.code ?? ''] ?? 'BAD_REQUEST';
    metrics.errors.inc({ code });
    const { status, message } = ERROR_CATALOGUE[code];
    const body = JSON.stringify({ errors: [{ message, extensions: { code } }] });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        `content-type: ${MEDIA.json}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n` +
        body,
    );
  });
}

/** Body-parser failures (size, JSON, encoding) as coded errors instead of Express's HTML page. */
export function bodyParseErrors(metrics: GatewayMetrics, limitBytes: number) {
  return (err: unknown, req: Request, res: Response, next: NextFunction): void => {
    const type = (err as { type?: string } | null)?.type;
    if (type === 'entity.too.large')
      return sendEdgeError(req, res, metrics, 'PAYLOAD_TOO_LARGE', {
        message: `The request body is larger than ${limitBytes} bytes.`,
      });
    if (type === 'encoding.unsupported' || type === 'charset.unsupported')
      return sendEdgeError(req, res, metrics, 'UNSUPPORTED_MEDIA_TYPE', {
        message: 'The request body must be UTF-8 JSON.',
      });
    // Any other body-parser failure (bad JSON, a body that does not inflate, a wrong length) is the client's.
    const status = (err as { status?: unknown } | null)?.status;
    if (typeof type === 'string' || (typeof status === 'number' && status >= 400 && status < 500))
      return sendEdgeError(req, res, metrics, 'BAD_REQUEST', {
        message: 'The request body is not valid JSON.',
      });
    next(err);
  };
}

/**
 * Errors of the document itself (syntax, validation, variable coercion). The GraphQL-over-HTTP spec asks
 * for 200 with these when the client accepts only legacy `application/json` (its clients read the body,
 * not the status), and for 4xx with `application/graphql-response+json`. Edge limits are not among them:
 * those are refusals and keep their 400 whatever the client accepts.
 */
const DOCUMENT_ERROR_CODES = new Set(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT']);

/** Applies the spec's status rules that Apollo Server does not (see `DOCUMENT_ERROR_CODES`). */
export function graphqlOverHttpStatus<T extends object>(): ApolloServerPlugin<T> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ request, response }) {
          const { body, http } = response;
          if (body.kind !== 'single' || body.singleResult.data !== undefined) return;
          const errors = body.singleResult.errors ?? [];
          if (!errors.length || !errors.every((e) => DOCUMENT_ERROR_CODES.has(String(e.extensions?.code))))
            return;
          if (negotiateMedia(request.http?.headers.get('accept')) === MEDIA.json) http.status = 200;
        },
      };
    },
  };
}

/**
 * Refuses what the gateway would otherwise answer with a 500: no operation matching `operationName`
 * (unknown, empty, or several operations and none named) and subscriptions, which plain HTTP cannot carry.
 */
export function operationChecks<T extends object>(): ApolloServerPlugin<T> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, request }) {
          if (!operation) {
            throw coded(
              'OPERATION_RESOLUTION_FAILURE',
              request.operationName
                ? `No operation named "${request.operationName.slice(0, 100)}" in the document.`
                : 'The document has several operations: name one in `operationName`.',
            );
          }
          if (operation.operation === 'subscription')
            throw coded('OPERATION_NOT_SUPPORTED', 'Subscriptions are not supported over HTTP.');
        },
      };
    },
  };
}

/**
 * Apollo Server refuses some requests with an uncoded error and a 4xx status (an unsupported persisted-query
 * version, a hash that does not match its query), which masking would call INTERNAL_SERVER_ERROR: they
 * are the client's mistakes, so they get BAD_REQUEST. For `formatError`, before masking.
 */
export function codeClientErrors(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  if (formatted.extensions?.code !== 'INTERNAL_SERVER_ERROR') return formatted;
  // Duck-typed: Apollo Server (ESM) and graphql-armor (CommonJS) load different copies of GraphQLError.
  const extensions = (error as { extensions?: { code?: unknown; http?: { status?: unknown } } } | null)
    ?.extensions;
  if (!extensions || extensions.code !== undefined) return formatted;
  const status = extensions.http?.status;
  if (typeof status !== 'number' || status < 400 || status >= 500) return formatted;
  return { ...formatted, extensions: { ...formatted.extensions, code: 'BAD_REQUEST' } };
}

/** A catalogued error that also sets the response's HTTP status (Apollo reads `extensions.http`). */
export function coded(code: ErrorCode, message?: string): GraphQLError {
  return new GraphQLError(message ?? ERROR_CATALOGUE[code].message, {
    extensions: { code, http: { status: ERROR_CATALOGUE[code].status } },
  });
}
