// The README's GraphQL examples and the example frontend's operations are what a frontend team copies
// first: each must stay valid against the API schema that `pnpm compose` writes (schema/api.graphql).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSchema, parse, validate, type GraphQLSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { MyBookings } from '../../examples/frontend/src/operations.js';

const root = join(import.meta.dirname, '..', '..');
const apiSchema: GraphQLSchema = buildSchema(readFileSync(join(root, 'schema/api.graphql'), 'utf8'));

/**
 * Every operation in the README's ```graphql blocks: one per line (an indented line continues the one
 * above), `#` comments and type sketches skipped.
 */
function readmeOperations(): string[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const lines: string[] = [];
  // A block inside a list item is indented as a whole: `indent` is its fence's indentation.
  for (const [, indent, body] of readme.matchAll(/^( *)```graphql\n([\s\S]*?)```/gm)) {
    let first = true;
    for (const line of body!.split('\n').map((l) => l.slice(indent!.length))) {
      if (/^\s/.test(line) && !first) lines[lines.length - 1] += ` ${line.trim()}`;
      else lines.push(line.trim());
      first = false;
    }
  }
  return lines.filter((line) => /^(\{|query\b|mutation\b)/.test(line));
}

/** Validation messages for one document; an empty list means it is valid. */
function problems(document: string): string[] {
  return validate(apiSchema, parse(document)).map((e) => e.message);
}

describe('README operations', () => {
  const operations = readmeOperations();

  it('finds the examples for every audience', () => {
    expect(operations.length).toBeGreaterThanOrEqual(10);
    expect(operations.some((o) => o.includes('createApiKey'))).toBe(true);
    expect(operations.some((o) => o.includes('payForBooking'))).toBe(true);
  });

  it.each(operations.map((o) => [o.slice(0, 70), o]))(
    'is valid against the API schema: %s',
    (_, document) => {
      expect(problems(document)).toEqual([]);
    },
  );

  it('refuses what the API schema does not have (the check can fail)', () => {
    expect(problems('{ me { email bookings { nodes { bay secretNotes } } } }')).toEqual([
      expect.stringContaining('secretNotes'),
    ]);
    // @inaccessible: composed into the supergraph, absent from the API schema.
    expect(problems('{ apiKeyVerdict(key: "cwk_x") { client } }')).not.toEqual([]);
  });
});

describe('examples/frontend operations', () => {
  it('MyBookings is valid against the API schema', () => {
    expect(validate(apiSchema, MyBookings).map((e) => e.message)).toEqual([]);
  });
});
