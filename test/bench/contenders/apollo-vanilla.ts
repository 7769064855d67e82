/**
 * The reference line of the gateway benchmark: `@apollo/gateway` and `@apollo/server` as their docs start
 * them (standalone server, every default), on the supergraph at SUPERGRAPH_PATH, listening on
 * 127.0.0.1:PORT. Nothing of ours: no limits, no signing, no metrics — except that the workspace's
 * @apollo/gateway is patched (patches/@apollo__gateway@2.14.4.patch: result shaping only, same answers).
 */
import { readFileSync } from 'node:fs';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';

const supergraphPath = process.env.SUPERGRAPH_PATH;
const port = Number(process.env.PORT);
if (!supergraphPath || !Number.isInteger(port)) throw new Error('set SUPERGRAPH_PATH and PORT');

process.env.APOLLO_TELEMETRY_DISABLED ??= '1';
const server = new ApolloServer({
  gateway: new ApolloGateway({ supergraphSdl: readFileSync(supergraphPath, 'utf8') }),
});
await startStandaloneServer(server, { listen: { port, host: '127.0.0.1' } });
