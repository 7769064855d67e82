import { pino, type DestinationStream, type Logger } from 'pino';
import { activeTraceIds } from './tracing.js';

export type { Logger };

/**
 * Paths never written, wherever a caller puts them: credentials in headers and in arguments (a log line
 * never carries variables, but an error's context might).
 */
const REDACT = [
  'req.headers.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'authorization',
  'password',
  '*.password',
  '*.newPassword',
  '*.currentPassword',
  'accessToken',
  '*.accessToken',
  'refreshToken',
  '*.refreshToken',
  '*.token',
  'variables',
  '*.variables',
];

/**
 * JSON logs on stdout (or `destination`); `level` comes from the service's config (LOG_LEVEL). Every
 * line written while a request is served carries its `traceId` and `spanId`.
 */
export function createLogger(service: string, level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service },
      redact: { paths: REDACT, censor: '[redacted]' },
      mixin: () => activeTraceIds(),
    },
    destination,
  );
}
