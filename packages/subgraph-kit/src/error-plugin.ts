import type { ApolloServerPlugin } from '@apollo/server';
import { isErrorCode } from '@carwash/errors';
import type { Logger } from 'pino';

/**
 * Logs every error that will be masked (with the request id and the original stack), and stamps the
 * request id on every error a client receives, so a support ticket can be traced to the logs.
 * Pair it with `formatError: maskFormattedError`.
 */
export function errorLoggingPlugin(logger: Logger): ApolloServerPlugin<{ requestId: string }> {
  return {
    async requestDidStart({ contextValue }) {
      return {
        async didEncounterErrors({ errors, operationName }) {
          for (const error of errors) {
            const code = error.extensions?.code;
            if (!isErrorCode(code) || code === 'INTERNAL_SERVER_ERROR') {
              logger.error(
                {
                  err: error.originalError ?? error,
                  path: error.path,
                  operationName,
                  requestId: contextValue.requestId,
                },
                'masked an unexpected error',
              );
            }
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
