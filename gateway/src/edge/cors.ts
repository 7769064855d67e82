import cors from 'cors';
import type { RequestHandler } from 'express';

/** Request headers a browser app may send to the gateway. */
const ALLOWED_HEADERS = [
  'content-type',
  'authorization',
  'apollographql-client-name',
  'apollographql-client-version',
  'apollo-require-preflight',
  'x-apollo-operation-name',
  'x-api-key',
  'x-request-id',
  'traceparent',
  'tracestate',
];

/**
 * CORS from an origin allow-list (`CORS_ORIGINS`). Listed origins are echoed back with credentials
 * allowed; `*` alone allows any origin but never with credentials (browsers refuse the pair, and it
 * would let any site act with a user's cookies); an empty list sends no CORS headers (same origin only).
 */
export function corsPolicy(origins: readonly string[]): RequestHandler {
  const any = origins.includes('*');
  return cors({
    origin: any ? '*' : origins.length ? [...origins] : false,
    credentials: !any && origins.length > 0,
    methods: ['GET', 'POST'],
    allowedHeaders: ALLOWED_HEADERS,
    exposedHeaders: ['x-request-id', 'retry-after'],
    maxAge: 600,
  });
}
