/**
 * The static subgraphs' process (started by `startStaticSubgraphs`, index.ts): the four subgraphs on
 * bare `node:http`, each on a free loopback port, counting the requests it receives.
 *
 * To isolate the gateway, a subgraph executes each distinct request body once with graphql-js and then
 * answers it from memory (the data never changes, so the answer is the same bytes): under load the
 * subgraphs cost little more than HTTP and the gateway's own work is what is measured.
 *
 * IPC: sends `{ type: 'ready', urls }` once listening; answers `{ type: 'counts', id }` with
 * `{ type: 'counts', id, counts }` (requests received per subgraph since start).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { execute, parse, validate, type GraphQLSchema } from 'graphql';
import { SUBGRAPH_NAMES, subgraphSchema, type SubgraphName } from './subgraphs.js';

/** Distinct bodies remembered per subgraph; past it, a request is executed every time. */
const MEMO_ENTRIES = 1000;

async function answer(schema: GraphQLSchema, body: string): Promise<string> {
  let request: { query?: unknown; variables?: unknown; operationName?: unknown };
  try {
    request = JSON.parse(body) as typeof request;
  } catch {
    return JSON.stringify({ errors: [{ message: 'body is not JSON' }] });
  }
  if (typeof request.query !== 'string') return JSON.stringify({ errors: [{ message: 'no query' }] });
  const document = parse(request.query);
  const errors = validate(schema, document);
  if (errors.length) return JSON.stringify({ errors });
  const result = await execute({
    schema,
    document,
    variableValues: (request.variables ?? undefined) as Record<string, unknown> | undefined,
    operationName: typeof request.operationName === 'string' ? request.operationName : undefined,
  });
  return JSON.stringify(result);
}

function serve(name: SubgraphName, counts: Record<string, number>): Server {
  const schema = subgraphSchema(name);
  const memo = new Map<string, string>();
  return createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      counts[name]! += 1;
      const body = Buffer.concat(chunks).toString('utf8');
      let out = memo.get(body);
      if (out === undefined) {
        try {
          out = await answer(schema, body);
        } catch (error) {
          out = JSON.stringify({ errors: [{ message: (error as Error).message }] });
        }
        if (memo.size < MEMO_ENTRIES) memo.set(body, out);
      }
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
      res.end(out);
    });
  });
}

const counts: Record<string, number> = Object.fromEntries(SUBGRAPH_NAMES.map((n) => [n, 0]));
const servers = SUBGRAPH_NAMES.map((name) => ({ name, server: serve(name, counts) }));
const urls: Record<string, string> = {};
for (const { name, server } of servers) {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  urls[name] = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
}

process.on('message', (message: { type?: string; id?: number }) => {
  if (message.type === 'counts') process.send?.({ type: 'counts', id: message.id, counts: { ...counts } });
});
// The parent going away (IPC closed) ends this process too: no orphaned servers.
process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'ready', urls });
