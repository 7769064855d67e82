import { AppError } from '@carwash/errors';
import { GraphQLScalarType, Kind } from 'graphql';

function parseInstant(value: unknown): Date {
  if (typeof value !== 'string' || value.length > 40 || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/.test(value)) {
    throw new AppError('BAD_USER_INPUT', { message: 'DateTime must be an ISO 8601 instant with an offset, e.g. 2026-11-25T14:00:00Z.' });
  }
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new AppError('BAD_USER_INPUT', { message: 'DateTime is not a valid instant.' });
  return d;
}

/** ISO 8601 instants in UTC on the way out; any offset accepted on the way in. */
export const DateTime = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  serialize(value) {
    if (value instanceof Date) return value.toISOString();
    if (typeof value === 'string') return parseInstant(value).toISOString();
    throw new TypeError('DateTime cannot represent a non-date value');
  },
  parseValue: parseInstant,
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) throw new AppError('BAD_USER_INPUT', { message: 'DateTime must be a string.' });
    return parseInstant(ast.value);
  },
});
