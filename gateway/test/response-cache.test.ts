import { ApolloServer } from '@apollo/server';
import { createLogger } from '@carwash/subgraph-kit';
import { describe, expect, it } from 'vitest';
import { createGatewayMetrics } from '../src/edge/metrics.js';
import { ResponseCache, type RequestCacheState } from '../src/edge/response-cache.js';

/**
 * The cache's own rules, over an Apollo Server whose resolver plays the subgraphs' part: it says the
 * answer is public (a cache hint) and names the facts it came from (the tags the gateway collects
 * from the subgraphs' headers).
 */
interface Ctx {
  cache: RequestCacheState;
}
/** What Apollo Server's cache-control plugin adds to a resolver's `info`. */
interface CacheControlInfo {
  cacheControl: { setCacheHint(hint: { maxAge: number; scope: 'PUBLIC' | 'PRIVATE' }): void };
}

function world(options: { maxMiB?: number } = {}) {
  const cache = new ResponseCache({
    maxMiB: options.maxMiB ?? 1,
    metrics: createGatewayMetrics(),
    logger: createLogger('gateway', 'silent'),
  });
  let computed = 0;
  /** Run by the resolver while it computes (e.g. an event arriving meanwhile). */
  let during: (() => void) | undefined;
  let scope: 'PUBLIC' | 'PRIVATE' = 'PUBLIC';
  const server = new ApolloServer<Ctx>({
    typeDefs: `type Query { slots(site: ID!): [Int!]! }`,
    resolvers: {
      Query: {
        slots: (_p, args: { site: string }, ctx, info) => {
          computed++;
          during?.();
          // As a subgraph's `Cache-Control` restricts the gateway's policy (subgraph-source.ts).
          (info as unknown as CacheControlInfo).cacheControl.setCacheHint({ maxAge: 30, scope });
          ctx.cache.tags.add(`site:${args.site}`);
          return [computed];
        },
      },
    },
    plugins: [cache.plugin<Ctx>()!],
  });
  const ask = async (site: string) => {
    const res = await server.executeOperation(
      { query: `query($site: ID!) { slots(site: $site) }`, variables: { site } },
      { contextValue: { cache: cache.begin() } },
    );
    if (res.body.kind !== 'single') throw new Error('expected a single result');
    return (res.body.singleResult.data as { slots: number[] }).slots[0];
  };
  return {
    cache,
    server,
    ask,
    computed: () => computed,
    setDuring: (fn: (() => void) | undefined) => (during = fn),
    setScope: (s: 'PUBLIC' | 'PRIVATE') => (scope = s),
  };
}

describe(ResponseCache.name, () => {
  it('keeps a public answer under its tags and drops it when one of them is evicted', async () => {
    const w = world();
    await w.server.start();
    expect(await w.ask('a')).toBe(1);
    expect(await w.ask('a')).toBe(1);
    expect(await w.ask('b')).toBe(2);
    expect(w.computed()).toBe(2);
    w.cache.evict(['site:a']);
    expect(await w.ask('a')).toBe(3);
    // Only the evicted tag's answer went.
    expect(await w.ask('b')).toBe(2);
    await w.server.stop();
  });

  it('does not keep an answer computed while one of its facts was evicted', async () => {
    const w = world();
    await w.server.start();
    w.setDuring(() => w.cache.evict(['site:a']));
    expect(await w.ask('a')).toBe(1);
    w.setDuring(undefined);
    // Not kept: computed again, and that one is kept.
    expect(await w.ask('a')).toBe(2);
    expect(await w.ask('a')).toBe(2);
    await w.server.stop();
  });

  it('never keeps a private answer', async () => {
    const w = world();
    await w.server.start();
    w.setScope('PRIVATE');
    expect(await w.ask('a')).toBe(1);
    expect(await w.ask('a')).toBe(2);
    await w.server.stop();
  });

  it('is off at 0 MiB: no plugin, evictions do nothing', () => {
    const cache = new ResponseCache({
      maxMiB: 0,
      metrics: createGatewayMetrics(),
      logger: createLogger('gateway', 'silent'),
    });
    expect(cache.enabled).toBe(false);
    expect(cache.plugin()).toBeUndefined();
    expect(() => cache.evict(['site:a'])).not.toThrow();
  });
});
