import type { ApolloServerPlugin } from '@apollo/server';
import { ERROR_CATALOGUE, isErrorCode } from '@carwash/errors';
import type { GraphQLFormattedError } from 'graphql';
import type { Logger } from 'pino';
import { isConnectionFailure } from './db.js';

/**
 * What a client is told to wait before retrying after a lost database connection: PostgreSQL answers
 * again within a second after `pg_terminate_backend` or a pool reconnect (the fault drill recovers in
 * well under that), and a restart or failover takes a few — the client backs off from there.
 */
export const CONNECTION_RETRY_AFTER_SECONDS = 1;

/** True when the error is not coded by us (so it would be masked) and is a lost database connection. */
function uncodedConnectionFailure(code: unknown, original: unknown): boolean {
  return (!isErrorCode(code) || code === 'INTERNAL_SERVER_ERROR') && isConnectionFailure(original);
}

/**
 * For `formatError`, before `maskFormattedError`: an uncoded error caused by a lost or refused database
 * connection (`isConnectionFailure`) becomes SERVICE_UNAVAILABLE with the catalogue's message and
 * `retryAfterSeconds`, instead of being masked as INTERNAL_SERVER_ERROR — the request did nothing wrong
 * and a retry can succeed. Nothing of the original error travels (it is logged by `errorLoggingPlugin`).
 * Errors we coded ourselves are left alone.
 */
export function recodeConnectionFailure(
  formatted: GraphQLFormattedError,
  original: unknown,
): GraphQLFormattedError {
  if (!uncodedConnectionFailure(formatted.extensions?.code, original)) return formatted;
  return {
    message: ERROR_CATALOGUE.SERVICE_UNAVAILABLE.message,
    ...(formatted.locations ? { locations: formatted.locations } : {}),
    ...(formatted.path ? { path: formatted.path } : {}),
    extensions: { code: 'SERVICE_UNAVAILABLE', retryAfterSeconds: CONNECTION_RETRY_AFTER_SECONDS },
  };
}

/**
 * Logs every error that will be masked (with the request id and the original stack), and stamps the
 * request id on every error a client receives, so a support ticket can be traced to the logs. A lost
 * database connection (answered SERVICE_UNAVAILABLE by `recodeConnectionFailure`) is logged as a
 * warning of its own. Pair it with `formatError: (f, e) => maskFormattedError(recodeConnectionFailure(f, e), e)`.
 */
export function errorLoggingPlugin(logger: Logger): ApolloServerPlugin<{ requestId: string }> {
  return {
    async requestDidStart({ contextValue }) {
      return {
        async didEncounterErrors({ errors, operationName }) {
          for (const error of errors) {
            const code = error.extensions?.code;
            const fields = {
              err: error.originalError ?? error,
              path: error.path,
              operationName,
              requestId: contextValue.requestId,
            };
            if (uncodedConnectionFailure(code, error))
              logger.warn(fields, 'database connection lost or refused; answered SERVICE_UNAVAILABLE');
            else if (!isErrorCode(code) || code === 'INTERNAL_SERVER_ERROR')
              logger.error(fields, 'masked an unexpected error');
          }
        },
        async willSendResponse({ response }) {
          if (response.body.kind !== 'single' || !response.body.singleResult.errors) return;
          for (const error of response.body.singleResult.errors) {
            (error.extensions as Record<string, unknown> | undefined) ??= {};
            (error.extensions as Record<string, unknown>).requestId ??= contextValue.requestId;
          }
        },
      };
    },
  };
}
