import { describe, it, expect } from 'vitest';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import {
  AppError,
  badInput,
  ERROR_CATALOGUE,
  isErrorCode,
  maskFormattedError,
  type ErrorCode,
} from '../src/index.js';

describe(maskFormattedError.name, () => {
  it('keeps a catalogued code with its message, path and safe extensions', () => {
    const formatted: GraphQLFormattedError = {
      message: 'Too many failed attempts; try again later.',
      path: ['logIn'],
      locations: [{ line: 1, column: 3 }],
      extensions: { code: 'AUTH_LOCKED', retryAfterSeconds: 120, field: 'input.email', limitBytes: 1024 },
    };
    expect(maskFormattedError(formatted, undefined)).toEqual({
      message: 'Too many failed attempts; try again later.',
      path: ['logIn'],
      locations: [{ line: 1, column: 3 }],
      extensions: { code: 'AUTH_LOCKED', retryAfterSeconds: 120, field: 'input.email', limitBytes: 1024 },
    });
  });

  it('strips extensions that are not on the safe list from a catalogued error', () => {
    const formatted: GraphQLFormattedError = {
      message: 'Not allowed.',
      extensions: {
        code: 'FORBIDDEN',
        http: { status: 403 },
        stacktrace: ['Error: Not allowed.', '    at resolver (/srv/auth/src/resolvers.ts:12:5)'],
        serviceName: 'auth',
        exception: { sql: 'select * from auth_users' },
      },
    };
    const masked = maskFormattedError(formatted, undefined);
    expect(masked.extensions).toEqual({ code: 'FORBIDDEN' });
    expect(JSON.stringify(masked)).not.toContain('resolvers.ts');
  });

  it('adds the request id to a catalogued error unless one is already there', () => {
    const fresh = maskFormattedError(
      { message: 'Not found.', extensions: { code: 'NOT_FOUND' } },
      undefined,
      { requestId: 'req-1' },
    );
    expect(fresh.extensions).toEqual({ code: 'NOT_FOUND', requestId: 'req-1' });

    const kept = maskFormattedError(
      { message: 'Not found.', extensions: { code: 'NOT_FOUND', requestId: 'upstream' } },
      undefined,
      { requestId: 'req-2' },
    );
    expect(kept.extensions?.requestId).toBe('upstream');
  });

  it('masks an error with an unknown code, hiding its SQL text but keeping the path', () => {
    const original = new Error('relation "auth_users" does not exist');
    const formatted: GraphQLFormattedError = {
      message: 'relation "auth_users" does not exist',
      path: ['me', 'email'],
      extensions: { code: 'P2021', meta: { table: 'auth_users' }, stacktrace: ['at PrismaClient'] },
    };
    const seen: unknown[] = [];
    const masked = maskFormattedError(formatted, original, {
      requestId: 'req-9',
      onMasked: (e) => seen.push(e),
    });
    expect(masked).toEqual({
      message: 'Internal server error.',
      path: ['me', 'email'],
      extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: 'req-9' },
    });
    expect(JSON.stringify(masked)).not.toContain('auth_users');
    expect(seen).toEqual([original]);
  });

  it('masks an error that carries no code at all', () => {
    const masked = maskFormattedError({ message: 'connect ECONNREFUSED 10.0.0.5:5432' }, new Error('boom'));
    expect(masked).toEqual({
      message: 'Internal server error.',
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
  });

  it('masks INTERNAL_SERVER_ERROR even though it is catalogued, replacing its message', () => {
    const formatted: GraphQLFormattedError = {
      message: 'duplicate key value violates unique constraint "auth_users_email_key"',
      extensions: { code: 'INTERNAL_SERVER_ERROR', stacktrace: ['at query'] },
    };
    let masked = false;
    const result = maskFormattedError(formatted, undefined, { onMasked: () => (masked = true) });
    expect(result.message).toBe('Internal server error.');
    expect(result.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
    expect(masked).toBe(true);
  });

  it('does not treat inherited object keys such as "toString" as catalogued codes', () => {
    const masked = maskFormattedError(
      { message: 'secret detail', extensions: { code: 'toString' } },
      undefined,
    );
    expect(masked.message).toBe('Internal server error.');
    expect(masked.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
  });

  it("strips Apollo's 'Context creation failed: ' prefix from a catalogued error", () => {
    const masked = maskFormattedError(
      {
        message: 'Context creation failed: The access token has expired.',
        extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } },
      },
      undefined,
    );
    expect(masked.message).toBe('The access token has expired.');
    expect(masked.extensions).toEqual({ code: 'UNAUTHENTICATED' });
  });

  it('does not call onMasked for a catalogued error', () => {
    let called = 0;
    maskFormattedError(
      { message: 'The input is invalid.', extensions: { code: 'BAD_USER_INPUT' } },
      undefined,
      { onMasked: () => called++ },
    );
    expect(called).toBe(0);
  });
});

describe(AppError.name, () => {
  it('uses the catalogue message and code by default', () => {
    const err = new AppError('NOT_FOUND');
    expect(err).toBeInstanceOf(GraphQLError);
    expect(err.name).toBe('AppError');
    expect(err.code).toBe('NOT_FOUND');
    expect(err.message).toBe(ERROR_CATALOGUE.NOT_FOUND.message);
    expect(err.extensions).toEqual({ code: 'NOT_FOUND' });
  });

  it('carries a custom message, the field and extra extensions', () => {
    const err = new AppError('AUTH_LOCKED', {
      message: 'Locked for a while.',
      field: 'input.email',
      extensions: { retryAfterSeconds: 30 },
    });
    expect(err.message).toBe('Locked for a while.');
    expect(err.extensions).toEqual({ code: 'AUTH_LOCKED', field: 'input.email', retryAfterSeconds: 30 });
  });

  it('sets extensions.http from the catalogue only when httpStatus is true', () => {
    expect(new AppError('UNAUTHENTICATED').extensions.http).toBeUndefined();
    expect(new AppError('UNAUTHENTICATED', { httpStatus: false }).extensions.http).toBeUndefined();
    expect(new AppError('UNAUTHENTICATED', { httpStatus: true }).extensions.http).toEqual({ status: 401 });
    expect(new AppError('PAYLOAD_TOO_LARGE', { httpStatus: true }).extensions.http).toEqual({ status: 413 });
  });

  it('keeps an Error cause as originalError and ignores a non-Error cause', () => {
    const cause = new Error('db down');
    expect(new AppError('SERVICE_UNAVAILABLE', { cause }).originalError).toBe(cause);
    expect(new AppError('SERVICE_UNAVAILABLE', { cause: 'just a string' }).originalError).toBeUndefined();
  });

  it('survives masking with its code, field and message intact', () => {
    const err = badInput('input.password', 'password must be at least 10 characters');
    const masked = maskFormattedError(err.toJSON(), err);
    expect(masked).toEqual({
      message: 'password must be at least 10 characters',
      extensions: { code: 'BAD_USER_INPUT', field: 'input.password' },
    });
  });
});

describe(badInput.name, () => {
  it('creates a BAD_USER_INPUT error naming the field', () => {
    const err = badInput('input.email', 'must be a valid email address');
    expect(err.code).toBe('BAD_USER_INPUT');
    expect(err.message).toBe('must be a valid email address');
    expect(err.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'input.email' });
  });
});

describe('ERROR_CATALOGUE', () => {
  const entries = Object.entries(ERROR_CATALOGUE) as Array<[ErrorCode, (typeof ERROR_CATALOGUE)[ErrorCode]]>;

  it('gives every code an HTTP status and a non-empty message and description', () => {
    expect(entries.length).toBeGreaterThan(0);
    for (const [code, entry] of entries) {
      expect(Number.isInteger(entry.status), code).toBe(true);
      expect(entry.status, code).toBeGreaterThanOrEqual(200);
      expect(entry.status, code).toBeLessThan(600);
      expect(entry.message.trim(), code).not.toBe('');
      expect(entry.description.trim(), code).not.toBe('');
    }
  });

  it('names every code in upper snake case', () => {
    for (const [code] of entries) expect(code).toMatch(/^[A-Z][A-Z0-9_]*$/);
  });
});

describe(isErrorCode.name, () => {
  it('recognises catalogued codes only', () => {
    expect(isErrorCode('BAD_USER_INPUT')).toBe(true);
    expect(isErrorCode('bad_user_input')).toBe(false);
    expect(isErrorCode('constructor')).toBe(false);
    expect(isErrorCode(undefined)).toBe(false);
    expect(isErrorCode(401)).toBe(false);
  });
});
