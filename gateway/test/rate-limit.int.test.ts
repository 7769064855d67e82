import type { GraphQLRequestContextDidResolveOperation } from '@apollo/server';
import { buildSchema, GraphQLError, parse, type OperationDefinitionNode } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EdgeClient } from '../src/edge/client.js';
import { BoundedLabels } from '../src/edge/labels.js';
import { createGatewayMetrics } from '../src/edge/metrics.js';
import { parseFieldCosts, parseRateTiers } from '../src/edge/rate-limit-settings.js';
import {
  createRateLimiter,
  rateLimitPlugin,
  type RateLimitedContext,
  type RateLimiter,
} from '../src/edge/rate-limit.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const TIERS = parseRateTiers('default:10/60,partner-gold:100/60');
const COSTS = parseFieldCosts('Mutation.signUp:50');
const SCHEMA = buildSchema(`type Query { ping: String } type Mutation { signUp: String }`);

const partner = (apiKeyId: string, tier = 'partner-gold'): EdgeClient => ({
  kind: 'partner',
  name: 'acme',
  apiKeyId,
  tier,
});

let replicaA: RateLimiter;
let replicaB: RateLimiter;
let run = 0;
const uniqueKey = () => `key-${process.pid}-${Date.now().toString(36)}-${++run}`;

beforeAll(async () => {
  // Two gateway replicas' limiters: two Redis connections, one namespace.
  const namespace = `int-${process.pid}-${Date.now().toString(36)}`;
  replicaA = await createRateLimiter(TIERS, { kind: 'redis', url: REDIS_URL, namespace });
  replicaB = await createRateLimiter(TIERS, { kind: 'redis', url: REDIS_URL, namespace });
});
afterAll(async () => {
  await replicaA?.close();
  await replicaB?.close();
});

/** Runs the plugin's didResolveOperation for `source` as `client`; returns the error it throws, if any. */
async function charge(
  limiter: RateLimiter,
  client: EdgeClient,
  source: string,
  metrics = createGatewayMetrics(),
): Promise<GraphQLError | undefined> {
  const plugin = rateLimitPlugin(limiter, COSTS, metrics, new BoundedLabels(10));
  const document = parse(source);
  const operation = document.definitions[0] as OperationDefinitionNode;
  const contextValue: RateLimitedContext = { client, viewer: null, clientIp: '203.0.113.9' };
  const listener = await plugin.requestDidStart!({ contextValue } as never);
  try {
    await listener!.didResolveOperation!({
      operation,
      document,
      schema: SCHEMA,
      contextValue,
    } as unknown as GraphQLRequestContextDidResolveOperation<RateLimitedContext>);
    return undefined;
  } catch (err) {
    return err as GraphQLError;
  }
}

describe('rate limits per API key, on the Redis every replica shares', () => {
  it("shares a partner key's bucket between replicas, at the key's tier, and refuses with 429 + Retry-After", async () => {
    const key = uniqueKey();
    // 100 points (partner-gold), not the default 10: the key's tier applies.
    expect(await charge(replicaA, partner(key), 'mutation { a: signUp }')).toBeUndefined();
    expect(await charge(replicaB, partner(key), 'mutation { b: signUp }')).toBeUndefined();
    const metrics = createGatewayMetrics();
    const refused = await charge(replicaA, partner(key), '{ ping }', metrics);
    expect(refused?.extensions.code).toBe('RATE_LIMITED');
    const http = refused?.extensions.http as { status: number; headers: Map<string, string> };
    expect(http.status).toBe(429);
    const retryAfter = Number(http.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused?.extensions.retryAfterSeconds).toBe(retryAfter);
    expect((await metrics.rateLimited.get()).values).toEqual([
      { labels: { client: 'acme', bucket: 'key' }, value: 1 },
    ]);
    expect((await charge(replicaB, partner(key), '{ ping }'))?.extensions.code).toBe('RATE_LIMITED');
  });

  it("keeps two keys of one partner apart, and another key's exhaustion costs this one nothing", async () => {
    const [spent, fresh] = [uniqueKey(), uniqueKey()];
    expect(await charge(replicaA, partner(spent), 'mutation { a: signUp b: signUp }')).toBeUndefined();
    expect((await charge(replicaB, partner(spent), '{ ping }'))?.extensions.code).toBe('RATE_LIMITED');
    expect(await charge(replicaB, partner(fresh), '{ ping }')).toBeUndefined();
  });

  it('gives a key of a tier that is not configured the default budget', async () => {
    const key = uniqueKey();
    const error = await charge(replicaA, partner(key, 'platinum'), 'mutation { signUp }');
    expect(error?.extensions.code).toBe('RATE_LIMITED');
  });
});
