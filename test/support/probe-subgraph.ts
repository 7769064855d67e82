import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { composeSupergraph } from '@carwash/compose';
import { parse } from 'graphql';

/**
 * A third-party-style subgraph for gateway tests: it references `User` by id (as booking will) and has
 * a deliberately slow field. It does not check service credentials — the gateway must serve any subgraph.
 */
export const PROBE_SDL = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type User @key(fields: "id", resolvable: false) { id: ID! }
  type Query {
    userRefs(ids: [ID!]!): [User!]!
    slow(ms: Int!): String!
  }
`;

export async function startProbe(): Promise<{ url: string; stop: () => Promise<void> }> {
  const server = new ApolloServer({
    schema: buildSubgraphSchema({
      typeDefs: parse(PROBE_SDL),
      resolvers: {
        Query: {
          userRefs: (_: unknown, { ids }: { ids: string[] }) => ids.map((id) => ({ __typename: 'User', id })),
          slow: async (_: unknown, { ms }: { ms: number }) => {
            await new Promise((r) => setTimeout(r, ms));
            return `slept ${ms} ms`;
          },
        },
      },
    }),
  });
  const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
  return { url, stop: () => server.stop() };
}

/** Composes the given subgraphs (auth's SDL is read from its folder) into a supergraph SDL. */
export function compose(subgraphs: Array<{ name: string; url: string; sdl?: string }>): string {
  const authSdl = readFileSync(new URL('../../subgraphs/auth/src/schema.graphql', import.meta.url), 'utf8');
  const result = composeSupergraph(
    subgraphs.map((s) => ({
      name: s.name,
      url: s.url,
      sdl: s.sdl ?? (s.name === 'auth' ? authSdl : PROBE_SDL),
    })),
  );
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join('\n'));
  return result.supergraphSdl;
}

export type { AddressInfo };
