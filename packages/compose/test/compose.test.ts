import { describe, it, expect } from 'vitest';
import { parse } from 'graphql';
import {
  breakingChanges,
  composeSupergraph,
  renderSupergraphFile,
  SUPERGRAPH_HEADER,
  type SubgraphSource,
} from '../src/index.js';

const link = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])';

function subgraph(name: string, body: string): SubgraphSource {
  return { name, url: `http://${name}.test/graphql`, sdl: `${link}\n${body}` };
}

/** Composes and returns the supergraph SDL, failing the test on composition errors. */
function supergraph(...subgraphs: SubgraphSource[]): string {
  const result = composeSupergraph(subgraphs);
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join('\n'));
  return result.supergraphSdl;
}

const users = subgraph(
  'users',
  `type User @key(fields: "id") { id: ID! name: String! }
   type Query { user(id: ID!): User }`,
);
const bookings = subgraph(
  'bookings',
  `type User @key(fields: "id") { id: ID! bookings: [Booking!]! }
   type Booking { id: ID! }
   type Query { booking(id: ID!): Booking }`,
);

describe(composeSupergraph.name, () => {
  it('composes two subgraphs that share an entity via @key', () => {
    const result = composeSupergraph([users, bookings]);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.supergraphSdl).toContain('join__Graph');
    expect(result.supergraphSdl).toContain('@join__graph(name: "users", url: "http://users.test/graphql")');
    expect(result.supergraphSdl).toMatch(/type User\s[^{]*@join__type\(graph: BOOKINGS, key: "id"\)/);
    expect(result.supergraphSdl).toMatch(/bookings: \[Booking!\]! @join__field\(graph: BOOKINGS\)/);
  });

  it('reports conflicting field types with the subgraph names', () => {
    const other = subgraph(
      'profiles',
      'type User @key(fields: "id") { id: ID! name: Int! } type Query { x: Int }',
    );
    const result = composeSupergraph([users, other]);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const mismatch = result.errors.find((e) => e.code === 'FIELD_TYPE_MISMATCH');
    expect(mismatch?.subgraphs).toEqual(expect.arrayContaining(['users', 'profiles']));
    expect(mismatch?.message).toContain('"User.name"');
  });

  it('reports an invalid subgraph with its name', () => {
    const result = composeSupergraph([users, subgraph('broken', 'type Query { thing: Missing }')]);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.length).toBeGreaterThan(0);
    expect(result.errors.every((e) => e.subgraphs.includes('broken'))).toBe(true);
  });

  it('reports an SDL syntax error with the subgraph name instead of throwing', () => {
    const result = composeSupergraph([users, { name: 'typo', url: 'http://typo.test', sdl: 'type Query {' }]);
    expect(result).toMatchObject({
      ok: false,
      errors: [{ code: 'GRAPHQL_PARSE_FAILED', subgraphs: ['typo'] }],
    });
  });
});

describe(renderSupergraphFile.name, () => {
  it('prefixes the generated header and stays parseable', () => {
    const file = renderSupergraphFile(supergraph(users));
    expect(file.split('\n')[0]).toBe(SUPERGRAPH_HEADER);
    expect(file.endsWith('}\n')).toBe(true);
    expect(() => parse(file)).not.toThrow();
  });
});

describe(breakingChanges.name, () => {
  /** A one-subgraph supergraph whose Query type has the given fields plus `Filter` input. */
  const api = (query: string, filter = 'term: String') =>
    supergraph(subgraph('api', `input Filter { ${filter} } type Query { ${query} }`));
  const base = api('search(filter: Filter, q: String): [String!] title: String!');

  it('reports a removed field as breaking', () => {
    const { breaking } = breakingChanges(base, api('search(filter: Filter, q: String): [String!]'));
    expect(breaking).toEqual([{ type: 'FIELD_REMOVED', description: 'Query.title was removed.' }]);
  });

  it('reports an output field loosened from String! to String as breaking', () => {
    const { breaking } = breakingChanges(
      base,
      api('search(filter: Filter, q: String): [String!] title: String'),
    );
    expect(breaking).toEqual([
      { type: 'FIELD_CHANGED_KIND', description: 'Query.title changed type from String! to String.' },
    ]);
  });

  it('does not report an output field tightened from String to String!', () => {
    const loose = api('search(filter: Filter, q: String): [String!] title: String');
    expect(breakingChanges(loose, base)).toEqual({ breaking: [], dangerous: [] });
  });

  it('reports an argument tightened from String to String! as breaking', () => {
    const { breaking } = breakingChanges(
      base,
      api('search(filter: Filter, q: String!): [String!] title: String!'),
    );
    expect(breaking).toEqual([
      {
        type: 'ARG_CHANGED_KIND',
        description: 'Query.search arg q has changed type from String to String!.',
      },
    ]);
  });

  it('reports an input field tightened from String to String! as breaking', () => {
    const { breaking } = breakingChanges(
      base,
      api('search(filter: Filter, q: String): [String!] title: String!', 'term: String!'),
    );
    expect(breaking).toEqual([
      { type: 'FIELD_CHANGED_KIND', description: 'Filter.term changed type from String to String!.' },
    ]);
  });

  it('reports a new enum value as dangerous, not breaking', () => {
    const enumApi = (values: string) =>
      supergraph(subgraph('api', `enum Role { ${values} } type Query { role: Role }`));
    const { breaking, dangerous } = breakingChanges(enumApi('CLIENT'), enumApi('CLIENT ADMIN'));
    expect(breaking).toEqual([]);
    expect(dangerous.map((c) => c.type)).toEqual(['VALUE_ADDED_TO_ENUM']);
  });

  it('reports nothing for a new output field and type', () => {
    const added = supergraph(
      subgraph(
        'api',
        `input Filter { term: String } type Tag { name: String! }
        type Query { search(filter: Filter, q: String): [String!] title: String! tags: [Tag!]! }`,
      ),
    );
    expect(breakingChanges(base, added)).toEqual({ breaking: [], dangerous: [] });
  });

  it('reports a new optional input field as dangerous only', () => {
    const added = api(
      'search(filter: Filter, q: String): [String!] title: String!',
      'term: String limit: Int',
    );
    expect(breakingChanges(base, added)).toEqual({
      breaking: [],
      dangerous: [
        {
          type: 'OPTIONAL_INPUT_FIELD_ADDED',
          description: 'An optional field limit on input type Filter was added.',
        },
      ],
    });
  });

  it('ignores a field moving between subgraphs', () => {
    const before = supergraph(users, bookings);
    const movedName = supergraph(
      subgraph('users', 'type User @key(fields: "id") { id: ID! } type Query { user(id: ID!): User }'),
      subgraph(
        'bookings',
        `type User @key(fields: "id") { id: ID! name: String! bookings: [Booking!]! }
        type Booking { id: ID! } type Query { booking(id: ID!): Booking }`,
      ),
    );
    expect(breakingChanges(before, movedName)).toEqual({ breaking: [], dangerous: [] });
  });
});
