import { GraphQLError } from 'graphql';
import { ERROR_CATALOGUE, type ErrorCode } from './catalogue.js';

export interface AppErrorOptions {
  /** Overrides the catalogue's message; must not contain internal detail. */
  message?: string;
  /** The argument or input field at fault, as a dotted path (`input.email`). */
  field?: string;
  /** Extra client-safe extensions (e.g. `retryAfterSeconds`). */
  extensions?: Record<string, unknown>;
  cause?: unknown;
  /**
   * Set the HTTP status of the whole response from the catalogue. Only for errors that end a request
   * before execution (context, trust): a field error must leave the status at 200, or the gateway
   * would see a failed subgraph call instead of a coded error.
   */
  httpStatus?: boolean;
}

/**
 * A client-facing error with a catalogued code. Throw it from services and resolvers; anything else
 * that reaches the error formatter is masked.
 */
export class AppError extends GraphQLError {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, options: AppErrorOptions = {}) {
    const entry = ERROR_CATALOGUE[code];
    super(options.message ?? entry.message, {
      originalError: options.cause instanceof Error ? options.cause : undefined,
      extensions: {
        ...options.extensions,
        code,
        ...(options.field ? { field: options.field } : {}),
        ...(options.httpStatus ? { http: { status: entry.status } } : {}),
      },
    });
    this.name = 'AppError';
    this.code = code;
  }
}

export function badInput(field: string, message: string): AppError {
  return new AppError('BAD_USER_INPUT', { field, message });
}
