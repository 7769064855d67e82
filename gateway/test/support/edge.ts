import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import { gatewayOver } from '../../../test/support/probe-subgraph.js';
import type { Gateway } from '../../src/server.js';

/**
 * A subgraph with a recursive type (so depth and cost bombs are valid documents) that counts every
 * GraphQL request it receives: what the gateway refused must never reach it.
 */
export const TREE_SDL = `#graphql
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Node @key(fields: "id") {
    id: ID!
    name: String!
    child: Node
    children(first: Int = 2): [Node!]!
  }
  type Query {
    node(id: ID!): Node
    slow(ms: Int!): String!
    echo(text: String!, list: [[[Int!]]]): String!
  }
  type Mutation {
    rename(id: ID!, name: String!): Node!
  }
  type Subscription {
    ticks: Int!
  }
`;

export interface Probe {
  url: string;
  /** GraphQL requests received so far. */
  readonly received: number;
  stop(): Promise<void>;
}

export async function startTreeSubgraph(): Promise<Probe> {
  let received = 0;
  const node = (id: string) => ({ id, name: `node ${id}` });
  const server = new ApolloServer({
    schema: buildSubgraphSchema({
      typeDefs: parse(TREE_SDL),
      resolvers: {
        Query: {
          node: (_: unknown, { id }: { id: string }) => node(id),
          slow: async (_: unknown, { ms }: { ms: number }) => {
            await new Promise((r) => setTimeout(r, ms));
            return `slept ${ms} ms`;
          },
          echo: (_: unknown, { text }: { text: string }) => text,
        },
        Mutation: {
          rename: (_: unknown, { id, name }: { id: string; name: string }) => ({ id, name }),
        },
        Node: {
          child: ({ id }: { id: string }) => node(`${id}.0`),
          children: ({ id }: { id: string }, { first }: { first: number }) =>
            Array.from({ length: Math.min(first, 10) }, (_, i) => node(`${id}.${i}`)),
        },
      },
    }),
    plugins: [
      {
        requestDidStart: async () => {
          received += 1;
        },
      },
    ],
  });
  const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
  return {
    url,
    get received() {
      return received;
    },
    stop: () => server.stop(),
  };
}

export interface Edge {
  gateway: Gateway;
  /** The gateway's GraphQL endpoint. */
  url: string;
  /** The one subgraph behind it (`TREE_SDL`), counting what reaches it. */
  probe: Probe;
  stop(): Promise<void>;
}

/**
 * A gateway in front of the tree subgraph only (no database, no auth): for edge tests that must see
 * whether a request reached a subgraph at all.
 */
export async function startEdge(env: Record<string, string> = {}): Promise<Edge> {
  const probe = await startTreeSubgraph();
  const gateway = await gatewayOver('edge', [{ name: 'tree', url: probe.url, sdl: TREE_SDL }], env);
  const { url } = await gateway.listen(0);
  return {
    gateway,
    url,
    probe,
    stop: async () => {
      await gateway.stop();
      await probe.stop();
    },
  };
}

/** Headers a non-browser GraphQL client sends (the CSRF-prevention header included). */
export const CLIENT_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/graphql-response+json, application/json',
  'apollo-require-preflight': 'true',
};
