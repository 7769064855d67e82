import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { composeSupergraph } from '@carwash/compose';
import { createGateway, loadGatewayConfig, type Gateway } from '@carwash/gateway';
import { createLogger } from '@carwash/subgraph-kit';
import { parse } from 'graphql';
import { testServiceKeys } from './supergraph.js';

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

/** Composes `subgraphs` (as {@link compose}) into a supergraph file of its own in a fresh temp folder. */
export function writeSupergraphFile(tag: string, subgraphs: Parameters<typeof compose>[0]): string {
  const path = join(mkdtempSync(join(tmpdir(), `carwash-${tag}-`)), `${tag}-${randomUUID()}.graphql`);
  writeFileSync(path, compose(subgraphs));
  return path;
}

/**
 * A gateway (not yet listening) in this process over just the given subgraphs, as the edge tests want
 * it: a supergraph file of its own, the test service keys, no JWKS (every caller anonymous), a Redis
 * namespace of its own (its rate-limit counters are not shared with other tests' anonymous callers on
 * 127.0.0.1, which share the default tier's budget otherwise) and quiet logs (TEST_LOG_LEVEL to hear
 * it); `env` adds or overrides settings.
 */
export async function gatewayOver(
  tag: string,
  subgraphs: Parameters<typeof compose>[0],
  env: Record<string, string> = {},
): Promise<Gateway> {
  const quiet = process.env.TEST_LOG_LEVEL ?? 'silent';
  return createGateway(
    loadGatewayConfig({
      ...process.env,
      ...testServiceKeys().envFor('gateway'),
      SUPERGRAPH_PATH: writeSupergraphFile(tag, subgraphs),
      JWKS_URL: 'none',
      LOG_LEVEL: quiet,
      EVENTS_NAMESPACE: `test-${tag}-${randomUUID().slice(0, 8)}`,
      ...env,
    }),
    createLogger('gateway', quiet),
  );
}

/** Apollo Servers of subgraphs behind an in-process gateway (gatewayOver), all listening on free ports. */
export interface ServersBehindGateway {
  gateway: Gateway;
  /** The gateway's GraphQL endpoint. */
  url: string;
  /** Stops the gateway, then every subgraph server. */
  stop(): Promise<void>;
}

/** Starts each subgraph's Apollo Server on a free port and a gateway over them (`tag` names its supergraph file). */
export async function serversBehindGateway(
  tag: string,
  subgraphs: Array<{ name: string; sdl: string; server: ApolloServer }>,
): Promise<ServersBehindGateway> {
  const started: Array<{ name: string; sdl: string; url: string; server: ApolloServer }> = [];
  const stopServers = async () => {
    for (const { server } of started) await server.stop();
  };
  try {
    for (const s of subgraphs) {
      const { url } = await startStandaloneServer(s.server, { listen: { port: 0, host: '127.0.0.1' } });
      started.push({ ...s, url });
    }
    const gateway = await gatewayOver(
      tag,
      started.map(({ name, url, sdl }) => ({ name, url, sdl })),
    );
    const { url } = await gateway.listen(0);
    return {
      gateway,
      url,
      stop: async () => {
        await gateway.stop();
        await stopServers();
      },
    };
  } catch (err) {
    await stopServers();
    throw err;
  }
}

/** A gateway started as production starts it (`src/main.ts` in its own process), with what it logs. */
export interface GatewayProcess {
  child: ChildProcessByStdio<null, Readable, Readable>;
  port: number;
  /** stdout and stderr so far. */
  output: () => string;
}

/**
 * Starts the gateway's `main.ts` on a random port over the supergraph at `supergraphPath`, with the test
 * service keys, no JWKS and `info` logs; `env` adds or overrides settings.
 */
export function spawnGateway(supergraphPath: string, env: Record<string, string> = {}): GatewayProcess {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: fileURLToPath(new URL('../../gateway', import.meta.url)),
    env: {
      ...process.env,
      ...testServiceKeys().envFor('gateway'),
      SUPERGRAPH_PATH: supergraphPath,
      GATEWAY_PORT: String(port),
      JWKS_URL: 'none',
      LOG_LEVEL: 'info',
      // Its own rate-limit counters, as gatewayOver's.
      EVENTS_NAMESPACE: `test-gateway-${randomUUID().slice(0, 8)}`,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  return { child, port, output: () => output };
}

export type { AddressInfo };
