import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { GraphQLError, parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serversBehindGateway, type ServersBehindGateway } from '../../test/support/probe-subgraph.js';
import { distinctRepresentations, spreadEntities } from '../src/edge/representations.js';
import { CLIENT_HEADERS } from './support/edge.js';

const ORDERS_SDL = `#graphql
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type User @key(fields: "id", resolvable: false) { id: ID! }
  type Order { id: ID! buyer: User seller: User! }
  type Query { orders: [Order!]! }
`;
const USERS_SDL = `#graphql
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type User @key(fields: "id") { id: ID! name: String! address: Address! secret: String }
  type Address { city: String! }
`;
/** Buyers with repeats (u1 three times, the failing u3 twice) and one seller for every order. */
const BUYERS = ['u1', 'u2', 'u1', 'u3', 'u1', 'u3', null];

describe(distinctRepresentations.name, () => {
  it('sends each representation once and spreads the answer and its errors back over every position', () => {
    const reps = [{ id: 'a' }, { id: 'b' }, { id: 'a' }, { id: 'c' }, { id: 'a' }];
    const sent = distinctRepresentations({ other: 1, representations: reps })!;
    expect(sent.variables).toEqual({ other: 1, representations: [{ id: 'a' }, { id: 'b' }, { id: 'c' }] });
    const body: Record<string, unknown> = {
      data: { _entities: [{ id: 'a', n: { x: 1 } }, { id: 'b', n: null }, null] },
      errors: [
        { message: 'c failed', path: ['_entities', 2, 'n'] },
        { message: 'a failed', path: ['_entities', 0] },
        { message: 'whole fetch' },
      ],
    };
    spreadEntities(body, sent);
    const entities = (body.data as { _entities: Array<{ n: object } | null> })._entities;
    expect(entities).toEqual([
      { id: 'a', n: { x: 1 } },
      { id: 'b', n: null },
      { id: 'a', n: { x: 1 } },
      null,
      { id: 'a', n: { x: 1 } },
    ]);
    // Each position its own objects: Apollo Gateway merges into them.
    expect(entities[2]).not.toBe(entities[0]);
    expect(entities[2]!.n).not.toBe(entities[0]!.n);
    expect(body.errors).toEqual([
      { message: 'whole fetch' },
      { message: 'a failed', path: ['_entities', 0] },
      { message: 'a failed', path: ['_entities', 2] },
      { message: 'c failed', path: ['_entities', 3, 'n'] },
      { message: 'a failed', path: ['_entities', 4] },
    ]);
  });

  it('leaves fetches without repeated representations alone', () => {
    expect(distinctRepresentations({ representations: [{ id: 'a' }, { id: 'b' }] })).toBeUndefined();
    expect(distinctRepresentations({ id: 'a' })).toBeUndefined();
    // Values that could run into each other in a careless key stay apart.
    const tricky = [
      { __typename: 'User', id: '1;id:1:2' },
      { __typename: 'User', id: '1', x: '2' },
      { __typename: 'User', id: 1 },
      { __typename: 'User', id: '1' },
      { __typename: 'User', id: { n: 1 } },
      { __typename: 'User', id: '{"n":1}' },
      { __typename: 'Site', id: '1' },
    ];
    expect(distinctRepresentations({ representations: tricky })).toBeUndefined();
    expect(
      distinctRepresentations({ representations: [...tricky, { __typename: 'User', id: { n: 1 } }] })
        ?.positions,
    ).toEqual([0, 1, 2, 3, 4, 5, 6, 4]);
    expect(distinctRepresentations(undefined)).toBeUndefined();
  });
});

describe('the gateway with repeated representations', () => {
  const received: unknown[][] = [];
  let orders: ApolloServer;
  let users: ApolloServer;
  let sg: ServersBehindGateway;
  let url: string;

  beforeAll(async () => {
    orders = new ApolloServer({
      schema: buildSubgraphSchema({
        typeDefs: parse(ORDERS_SDL),
        resolvers: {
          Query: {
            orders: () =>
              BUYERS.map((buyer, i) => ({
                id: `o${i}`,
                buyer: buyer && { __typename: 'User', id: buyer },
                seller: { __typename: 'User', id: 'u2' },
              })),
          },
        },
      }),
    });
    users = new ApolloServer({
      schema: buildSubgraphSchema({
        typeDefs: parse(USERS_SDL),
        resolvers: {
          User: {
            __resolveReference: ({ id }: { id: string }) => ({ id, name: `name of ${id}` }),
            address: ({ id }: { id: string }) => ({ city: `city of ${id}` }),
            secret: ({ id }: { id: string }) => {
              if (id === 'u3')
                throw new GraphQLError('no secret for u3', { extensions: { code: 'FORBIDDEN' } });
              return `secret of ${id}`;
            },
          },
        },
      }),
      plugins: [
        ApolloServerPluginInlineTraceDisabled(),
        {
          requestDidStart: async ({ request }) => {
            const reps = request.variables?.representations;
            if (Array.isArray(reps)) received.push(reps);
          },
        },
      ],
    });
    sg = await serversBehindGateway('reps', [
      { name: 'orders', sdl: ORDERS_SDL, server: orders },
      { name: 'users', sdl: USERS_SDL, server: users },
    ]);
    url = sg.url;
  });

  afterAll(() => sg?.stop());

  it('asks the subgraph for each entity once and answers every position as if it had asked for all', async () => {
    const res = await fetch(url, {
      method: 'POST',
      headers: CLIENT_HEADERS,
      body: JSON.stringify({
        query: '{ orders { id buyer { id name address { city } secret } seller { id name } } }',
      }),
    });
    const body = (await res.json()) as { data: unknown; errors: Array<{ path: unknown[] }> };
    const user = (id: string) => ({ id, name: `name of ${id}`, address: { city: `city of ${id}` } });
    expect(body.data).toEqual({
      orders: BUYERS.map((buyer, i) => ({
        id: `o${i}`,
        buyer: buyer && { ...user(buyer), secret: buyer === 'u3' ? null : `secret of ${buyer}` },
        seller: { id: 'u2', name: 'name of u2' },
      })),
    });
    // The failing field is reported at both of u3's positions, as without the dedupe.
    expect(body.errors.map((e) => e.path)).toEqual([
      ['orders', 3, 'buyer', 'secret'],
      ['orders', 5, 'buyer', 'secret'],
    ]);
    // One fetch for the buyers and one for the sellers (or one for both), each id once per fetch.
    for (const reps of received) {
      const ids = reps.map((r) => (r as { id: string }).id);
      expect(new Set(ids).size).toBe(ids.length);
    }
    expect(received.flat().length).toBeLessThanOrEqual(4);
  });
});
