import type { GraphQLFormattedError } from 'graphql';
import { isErrorCode } from './catalogue.js';

/** Extensions that may travel to a client next to `code`. Everything else is dropped. */
const SAFE_EXTENSIONS = new Set([
  'code',
  'field',
  'requestId',
  'retryAfterSeconds',
  'limitBytes',
  'from',
  'to',
  /** Which subgraph a `SUBGRAPH_*` error is about (its name, never its address). */
  'subgraph',
]);

export interface MaskOptions {
  requestId?: string;
  /** Called with the original error when it is masked, so it can be logged with the request id. */
  onMasked?: (error: unknown) => void;
}

/**
 * Turns any error into what a client may see: catalogued codes keep their message and safe
 * extensions; everything else (Prisma, SQL, network, bugs) becomes INTERNAL_SERVER_ERROR with
 * only a request id to find it in the logs.
 */
export function maskFormattedError(
  formatted: GraphQLFormattedError,
  original: unknown,
  { requestId, onMasked }: MaskOptions = {},
): GraphQLFormattedError {
  const code = formatted.extensions?.code;
  if (isErrorCode(code) && code !== 'INTERNAL_SERVER_ERROR') {
    const extensions: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(formatted.extensions ?? {}))
      if (SAFE_EXTENSIONS.has(k)) extensions[k] = v;
    if (requestId && !extensions.requestId) extensions.requestId = requestId;
    // Apollo prefixes errors thrown while building the context; the client needs only our message.
    const message = formatted.message.replace(/^Context creation failed: /, '');
    return {
      message,
      ...(formatted.locations ? { locations: formatted.locations } : {}),
      ...(formatted.path ? { path: formatted.path } : {}),
      extensions,
    };
  }
  onMasked?.(original);
  return {
    message: 'Internal server error.',
    ...(formatted.path ? { path: formatted.path } : {}),
    extensions: { code: 'INTERNAL_SERVER_ERROR', ...(requestId ? { requestId } : {}) },
  };
}
