import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON logs on stdout; `level` comes from the service's config (LOG_LEVEL). */
export function createLogger(service: string, level: string): Logger {
  return pino({
    level,
    base: { service },
    redact: ['req.headers.authorization', '*.password', '*.refreshToken'],
  });
}
