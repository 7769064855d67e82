/**
 * Static subgraphs for gateway benchmarks: `startStaticSubgraphs()` runs the four subgraphs (subgraphs.ts)
 * in a child process on free loopback ports, composes their supergraph into a temporary file, and counts
 * the requests each receives. `WORKLOADS` are the two operations measured on them, and
 * `referenceBody()` the exact response a gateway must send for each, computed without any gateway.
 *
 *   const sg = await startStaticSubgraphs();
 *   // SUPERGRAPH_PATH=sg.supergraphPath node gateway/dist/main.js …
 *   const before = await sg.counts();
 *   …
 *   await sg.close();
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { apiSchema, composeSupergraph, findRepoRoot } from '@carwash/compose';
import { graphql } from 'graphql';
import { stopChild } from '../support.js';
import { graphRoot } from './data.js';
import { SDL, SUBGRAPH_NAMES, type SubgraphName } from './subgraphs.js';

export { SUBGRAPH_NAMES, type SubgraphName } from './subgraphs.js';

export interface Workload {
  name: 'small' | 'nested';
  /** The GraphQL document (one named operation). */
  query: string;
  /** The POST body every client request sends. */
  body: string;
}

/** Two fetches (products, then inventory for the `@requires` fields); a ~500 B response. */
export const SMALL_QUERY = /* GraphQL */ `
  query Small {
    topProducts(first: 5) {
      upc
      name
      price
      weight
      inStock
      shippingEstimate
    }
  }
`;

/**
 * Shaped like The Guild's benchmark query: every subgraph, three levels of entity jumps; a ~95 KB response.
 * Written compactly (no GraphQL tag, so the formatter leaves it so). It passes our gateway's default depth
 * limit (10); folding the repeated author selection into a fragment would not (graphql-armor counts spreads).
 */
export const NESTED_QUERY = `fragment User on User { id username name }
fragment Review on Review { id body }
fragment Product on Product { inStock name price shippingEstimate upc weight }
query Nested {
  users {
    ...User
    reviews { ...Review product { ...Product reviews { ...Review author { ...User reviews { ...Review product { ...Product } } } } } }
  }
  topProducts {
    ...Product
    reviews { ...Review author { ...User reviews { ...Review product { ...Product } } } }
  }
}`;

const workload = (name: Workload['name'], query: string): Workload => ({
  name,
  query,
  body: JSON.stringify({ query }),
});
export const WORKLOADS: readonly Workload[] = [
  workload('small', SMALL_QUERY),
  workload('nested', NESTED_QUERY),
];

export interface StaticSubgraphs {
  /** The composed supergraph (routing URLs = the running subgraphs), in a temporary file. */
  supergraphPath: string;
  supergraphSdl: string;
  /** Subgraph name → its GraphQL URL. */
  urls: Record<SubgraphName, string>;
  /** Requests each subgraph has received since it started. */
  counts(): Promise<Record<SubgraphName, number>>;
  /** Stops the subgraphs and removes the temporary file. */
  close(): Promise<void>;
}

/** The supergraph of the static subgraphs, routed to `urls`. */
export function composeStaticSupergraph(urls: Record<SubgraphName, string>): string {
  const result = composeSupergraph(SUBGRAPH_NAMES.map((name) => ({ name, url: urls[name], sdl: SDL[name] })));
  if (!result.ok) throw new Error(`static supergraph: ${result.errors.map((e) => e.message).join('; ')}`);
  return result.supergraphSdl;
}

export async function startStaticSubgraphs(): Promise<StaticSubgraphs> {
  const child = fork(fileURLToPath(new URL('./serve.ts', import.meta.url)), [], {
    cwd: findRepoRoot(fileURLToPath(import.meta.url)),
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const urls = await new Promise<Record<SubgraphName, string>>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) =>
        reject(new Error(`static subgraphs exited before ready (${signal ?? code})`)),
      );
      child.on('message', (m: { type?: string; urls?: Record<SubgraphName, string> }) => {
        if (m.type === 'ready' && m.urls) resolve(m.urls);
      });
    });
    child.removeAllListeners('exit');
    const supergraphSdl = composeStaticSupergraph(urls);
    const dir = await mkdtemp(join(tmpdir(), 'carwash-bench-static-'));
    const supergraphPath = join(dir, 'supergraph.graphql');
    await writeFile(supergraphPath, supergraphSdl);
    let next = 0;
    return {
      supergraphPath,
      supergraphSdl,
      urls,
      counts: () => askCounts(child, ++next),
      close: async () => {
        await stopChild(child);
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await stopChild(child);
    throw error;
  }
}

function askCounts(child: ChildProcess, id: number): Promise<Record<SubgraphName, number>> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { type?: string; id?: number; counts?: Record<SubgraphName, number> }) => {
      if (m.type !== 'counts' || m.id !== id || !m.counts) return;
      child.off('message', onMessage);
      resolve(m.counts);
    };
    child.on('message', onMessage);
    if (!child.send({ type: 'counts', id })) reject(new Error('static subgraphs are gone'));
  });
}

/**
 * The exact body a correct gateway answers `query` with (`JSON.stringify` of `{ data }`), computed by
 * graphql-js over the API schema with the same rows: no gateway, no subgraph involved.
 */
export async function referenceBody(query: string): Promise<string> {
  const placeholder = Object.fromEntries(SUBGRAPH_NAMES.map((n) => [n, `http://127.0.0.1:9/${n}`])) as Record<
    SubgraphName,
    string
  >;
  const schema = apiSchema(composeStaticSupergraph(placeholder));
  const result = await graphql({
    schema,
    source: query,
    rootValue: graphRoot,
  });
  if (result.errors?.length) throw new Error(`reference: ${result.errors.map((e) => e.message).join('; ')}`);
  return JSON.stringify(result);
}
