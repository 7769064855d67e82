import { describe, expect, it } from 'vitest';
import { GraphQLError } from 'graphql';
import { AppError } from '@carwash/errors';
import { isConnectionFailure, pgErrorCode } from '../src/db.js';
import { CONNECTION_RETRY_AFTER_SECONDS, recodeConnectionFailure } from '../src/error-plugin.js';

/** The shapes below are the ones pg 8.23, @prisma/adapter-pg 6.19 and Prisma 6.19 threw against a terminated backend here. */
const pgError = (code: string, message: string) =>
  Object.assign(new Error(message), { code, severity: 'FATAL' });

describe(isConnectionFailure.name, () => {
  it('recognises a backend terminated mid-statement, from pg, from the driver adapter and from a Prisma raw query', () => {
    const terminated = pgError('57P01', 'terminating connection due to administrator command');
    expect(isConnectionFailure(terminated)).toBe(true);
    const adapter = Object.assign(new Error(terminated.message), {
      name: 'DriverAdapterError',
      cause: { kind: 'postgres', code: '57P01', originalCode: '57P01' },
    });
    expect(isConnectionFailure(adapter)).toBe(true);
    const prismaRaw = Object.assign(new Error('Raw query failed. Code: `57P01`.'), {
      code: 'P2010',
      meta: {
        driverAdapterError: { name: 'DriverAdapterError', cause: { kind: 'postgres', code: '57P01' } },
      },
    });
    expect(isConnectionFailure(prismaRaw)).toBe(true);
  });

  it('recognises the other shutdown, start-up and connection-exception states', () => {
    for (const code of ['57P02', '57P03', '08000', '08003', '08006', '08001', '53300'])
      expect(isConnectionFailure(pgError(code, 'x')), code).toBe(true);
  });

  it("recognises pg's uncoded errors for a connection it lost or could not open", () => {
    for (const message of [
      'Connection terminated unexpectedly',
      'Client has encountered a connection error and is not queryable',
      'timeout exceeded when trying to connect',
    ])
      expect(isConnectionFailure(new Error(message)), message).toBe(true);
  });

  it('recognises socket errors, Prisma connection codes and adapter kinds, also behind a GraphQLError', () => {
    const reset = Object.assign(new Error('read ECONNRESET'), {
      code: 'ECONNRESET',
      syscall: 'read',
      errno: -104,
    });
    expect(isConnectionFailure(new GraphQLError('x', { originalError: reset }))).toBe(true);
    expect(
      isConnectionFailure(
        new AggregateError([Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })]),
      ),
    ).toBe(true);
    expect(isConnectionFailure(Object.assign(new Error('closed'), { code: 'P1017' }))).toBe(true);
    expect(isConnectionFailure(Object.assign(new Error('x'), { cause: { kind: 'ConnectionClosed' } }))).toBe(
      true,
    );
  });

  it('leaves errors of the request itself alone: constraint violations, deadlocks, bugs', () => {
    expect(isConnectionFailure(pgError('23505', 'duplicate key value violates unique constraint'))).toBe(
      false,
    );
    expect(isConnectionFailure(pgError('40P01', 'deadlock detected'))).toBe(false);
    expect(isConnectionFailure(pgError('57014', 'canceling statement due to statement timeout'))).toBe(false);
    expect(isConnectionFailure(Object.assign(new Error('x'), { code: 'P2002' }))).toBe(false);
    expect(isConnectionFailure(new TypeError("Cannot read properties of undefined (reading 'id')"))).toBe(
      false,
    );
    expect(isConnectionFailure(null)).toBe(false);
  });
});

describe(recodeConnectionFailure.name, () => {
  const terminated = pgError('57P01', 'terminating connection due to administrator command');

  it('turns a masked lost-connection error into SERVICE_UNAVAILABLE with a retry hint and none of its text', () => {
    const formatted = {
      message: terminated.message,
      path: ['site'],
      extensions: { code: 'INTERNAL_SERVER_ERROR', stacktrace: ['at pg'] },
    };
    expect(
      recodeConnectionFailure(formatted, new GraphQLError(terminated.message, { originalError: terminated })),
    ).toEqual({
      message: 'A service is unavailable.',
      path: ['site'],
      extensions: { code: 'SERVICE_UNAVAILABLE', retryAfterSeconds: CONNECTION_RETRY_AFTER_SECONDS },
    });
  });

  it('keeps a code we set ourselves, even when a lost connection caused it', () => {
    const coded = new AppError('BOOKING_SLOT_TAKEN', { cause: terminated });
    const formatted = { message: coded.message, extensions: { code: 'BOOKING_SLOT_TAKEN' } };
    expect(recodeConnectionFailure(formatted, coded)).toBe(formatted);
  });

  it('leaves other unexpected errors to be masked as INTERNAL_SERVER_ERROR', () => {
    const formatted = { message: 'boom', extensions: { code: 'INTERNAL_SERVER_ERROR' } };
    expect(recodeConnectionFailure(formatted, new Error('boom'))).toBe(formatted);
  });
});

describe(pgErrorCode.name, () => {
  it('finds the SQLSTATE at any depth of the causes and passes over Prisma codes on the way', () => {
    expect(pgErrorCode(pgError('23P01', 'conflicting key value violates exclusion constraint'))).toBe(
      '23P01',
    );
    const prismaRaw = Object.assign(new Error('Raw query failed.'), {
      code: 'P2010',
      meta: { driverAdapterError: { cause: { kind: 'postgres', originalCode: '23514' } } },
    });
    expect(pgErrorCode(prismaRaw)).toBe('23514');
    const aggregate = new AggregateError([new Error('first'), pgError('40P01', 'deadlock detected')]);
    expect(pgErrorCode(aggregate)).toBe('40P01');
  });

  it('falls back to a code named in the message, and says nothing for an error without one', () => {
    expect(pgErrorCode(new Error('Transaction failed: 40001 could not serialize access'))).toBe('40001');
    expect(pgErrorCode(new Error('boom'))).toBeUndefined();
    expect(pgErrorCode(Object.assign(new Error('Unique'), { code: 'P2002' }))).toBeUndefined();
  });
});
