import { createRequire } from 'node:module';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { buildSchema, graphql, parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serversBehindGateway, type ServersBehindGateway } from '../../test/support/probe-subgraph.js';
import { CLIENT_HEADERS } from './support/edge.js';

/**
 * patches/@apollo__gateway@2.14.4.patch changes how Apollo Gateway builds its objects (result shaping
 * and the representations of entity fetches), never what they hold: the gateway's answers must be the
 * bytes graphql-js gives for the same data from one schema, inherited property names included.
 */
const ORDERS_SDL = `#graphql
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type User @key(fields: "id", resolvable: false) { id: ID! }
  type Order { id: ID! total: Int! tags: [String!]! buyer: User seller: User! }
  type Query { orders: [Order!]! }
`;
const USERS_SDL = `#graphql
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type User @key(fields: "id") { id: ID! name: String! address: Address! }
  type Address { city: String! }
`;
/** The same types as one schema, for graphql-js's reference answer. */
const MONOLITH_SDL = `
  type User { id: ID! name: String! address: Address! }
  type Address { city: String! }
  type Order { id: ID! total: Int! tags: [String!]! buyer: User seller: User! }
  type Query { orders: [Order!]! }
`;
/** `gone` is a user the users subgraph no longer resolves: its non-null `name` is missing at the gateway. */
const BUYERS = ['u1', 'u2', 'u1', null, 'u3', 'gone', 'u1'];
const userOf = (id: string) => ({ id, name: `name of ${id}`, address: { city: `city of ${id}` } });
/** What the users subgraph resolves, and the same for graphql-js: `gone` without its fields. */
const resolvedUser = (id: string) => (id === 'gone' ? null : userOf(id));
const referenceUser = (id: string) => resolvedUser(id) ?? { id, name: null, address: null };
const ORDERS = BUYERS.map((buyer, i) => ({
  id: `o${i}`,
  total: 100 * i,
  tags: i % 2 ? ['a', 'b'] : [],
  buyer: buyer && referenceUser(buyer),
  seller: userOf('u2'),
}));

/**
 * Aliases named like Object.prototype's properties (an object that inherited them would read them as
 * values already there), `@skip`/`@include` by variable and literal, repeated and nested entities,
 * inline and named fragments, a missing non-null field nulling its nullable parent (the buyer `gone`).
 */
const QUERY = `query Orders($withBuyer: Boolean!, $skipTags: Boolean!) {
  orders {
    id
    constructor: total
    toString: id
    __proto__: tags
    hasOwnProperty: seller { valueOf: name }
    tags @skip(if: $skipTags)
    total @include(if: false)
    buyer @include(if: $withBuyer) { id name __typename constructor: address { city } }
    seller { id address { city } ...Named }
    ... on Order { total seller { name } }
    ... @include(if: $withBuyer) { buyer { ... on User { address { city } } } }
  }
}
fragment Named on User { name __typename }`;

describe('Apollo Gateway as patched', () => {
  let sg: ServersBehindGateway;
  let url: string;

  beforeAll(async () => {
    const orders = new ApolloServer({
      schema: buildSubgraphSchema({
        typeDefs: parse(ORDERS_SDL),
        resolvers: {
          Query: {
            orders: () =>
              ORDERS.map((o) => ({
                ...o,
                buyer: o.buyer && { __typename: 'User', id: o.buyer.id },
                seller: { __typename: 'User', id: o.seller.id },
              })),
          },
        },
      }),
      plugins: [ApolloServerPluginInlineTraceDisabled()],
    });
    const users = new ApolloServer({
      schema: buildSubgraphSchema({
        typeDefs: parse(USERS_SDL),
        resolvers: {
          User: { __resolveReference: ({ id }: { id: string }) => resolvedUser(id) },
        },
      }),
      plugins: [ApolloServerPluginInlineTraceDisabled()],
    });
    sg = await serversBehindGateway('patched', [
      { name: 'orders', sdl: ORDERS_SDL, server: orders },
      { name: 'users', sdl: USERS_SDL, server: users },
    ]);
    url = sg.url;
  });

  afterAll(() => sg?.stop());

  it.each([
    { withBuyer: true, skipTags: false },
    { withBuyer: false, skipTags: true },
  ])('answers the bytes graphql-js answers for the same data (%o)', async (variables) => {
    const reference = await graphql({
      schema: buildSchema(MONOLITH_SDL),
      source: QUERY,
      rootValue: { orders: ORDERS },
      variableValues: variables,
    });
    const res = await fetch(url, {
      method: 'POST',
      headers: CLIENT_HEADERS,
      body: JSON.stringify({ query: QUERY, variables }),
    });
    expect(res.status).toBe(200);
    // Apollo Gateway reports a value it had to null (graphql-js: an error) under `valueCompletion`.
    const valueCompletion = reference.errors?.map(({ message, path }) => ({
      message,
      path,
      extensions: { code: 'INVALID_GRAPHQL' },
    }));
    expect(valueCompletion?.length ?? 0).toBe(variables.withBuyer ? 1 : 0);
    // Apollo Server writes JSON.stringify of the body and a newline.
    expect(await res.text()).toBe(
      `${JSON.stringify({ data: reference.data, ...(valueCompletion && { extensions: { valueCompletion } }) })}\n`,
    );
  });

  it('builds objects that inherit no property, as Object.create(null) does', () => {
    const require = createRequire(import.meta.url);
    const { responseObject } = require('@apollo/gateway/dist/utilities/responseObject.js') as {
      responseObject: () => Record<string, unknown>;
    };
    const o = responseObject();
    for (const name of ['constructor', 'toString', 'hasOwnProperty', 'valueOf', '__proto__'])
      expect(o[name]).toBeUndefined();
    o['__proto__'] = 'own';
    o['constructor'] = 1;
    expect(Object.keys(o)).toEqual(['__proto__', 'constructor']);
    expect(JSON.stringify(o)).toBe('{"__proto__":"own","constructor":1}');
    expect(Object.getPrototypeOf(Object.getPrototypeOf(o))).toBeNull();
  });
});
