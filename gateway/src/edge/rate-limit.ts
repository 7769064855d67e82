import { HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import { clientKey } from '@carwash/client-address';
import { AppError } from '@carwash/errors';
import type { Viewer } from '@carwash/service-trust';
import { whenReady } from '@carwash/redis';
import type { Logger } from '@carwash/subgraph-kit';
import {
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLObjectType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { Redis } from 'ioredis';
import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import { DEFAULT_TIER, type EdgeClient } from './client.js';
import type { BoundedLabels } from './labels.js';
import type { GatewayMetrics } from './metrics.js';
import { DEFAULT_FIELD_COST, type FieldCosts, type RateTier, type RateTiers } from './rate-limit-settings.js';

/** Which identity a request is counted against: the most specific one it presents. */
export type BucketKind = 'key' | 'user' | 'address';

export interface Bucket {
  kind: BucketKind;
  /** API key id, user id, or client network (IPv4 address, IPv6 /64). */
  id: string;
  /** Tier name: the API key's; `default` for first-party and anonymous callers. */
  tier: string;
}

/**
 * One bucket per request, the most specific identity it presents:
 * - an API key (a partner): its whole tier is the partner's contract, wherever its servers are;
 * - else a signed-in user: many people behind one office or carrier NAT must not share one budget;
 * - else the client address, an IPv6 client by its /64 (rotating the interface id gains nothing).
 * Accounts cost points to create (`signUp` is expensive and counted per address), so spreading a
 * script over many users is bounded by the address bucket it signed them up from.
 */
export function bucketOf(client: EdgeClient, viewer: Viewer | null, clientIp: string | undefined): Bucket {
  if (client.apiKeyId) return { kind: 'key', id: client.apiKeyId, tier: client.tier };
  if (viewer) return { kind: 'user', id: viewer.userId, tier: client.tier };
  return { kind: 'address', id: clientKey(clientIp), tier: client.tier };
}

/** A cost beyond any tier: caps the arithmetic of a fragment-doubling document. */
const MAX_OPERATION_COST = 1_000_000_000;

/**
 * What an operation costs: the sum over its root fields, each alias counted (20 aliased `signUp` cost
 * 20 × `signUp`), through inline fragments and fragment spreads. Static: `@skip`/`@include` do not make a
 * field free. Each fragment is priced once (memoised), so a fragment-doubling document is priced in linear
 * time; a cycle (refused by validation anyway) counts nothing twice.
 */
export function operationCost(
  operation: OperationDefinitionNode,
  document: DocumentNode,
  rootTypeName: string,
  costs: FieldCosts,
): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions)
    if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const priced = new Map<string, number>();
  const pricing = new Set<string>();
  const costOf = (selectionSet: SelectionSetNode): number => {
    let total = 0;
    for (const s of selectionSet.selections) {
      if (s.kind === Kind.FIELD) total += costs.get(`${rootTypeName}.${s.name.value}`) ?? DEFAULT_FIELD_COST;
      else if (s.kind === Kind.INLINE_FRAGMENT) total += costOf(s.selectionSet);
      else {
        const name = s.name.value;
        let cost = priced.get(name);
        if (cost === undefined) {
          const fragment = fragments.get(name);
          if (!fragment || pricing.has(name)) continue;
          pricing.add(name);
          cost = costOf(fragment.selectionSet);
          pricing.delete(name);
          priced.set(name, cost);
        }
        total += cost;
      }
      if (total >= MAX_OPERATION_COST) return MAX_OPERATION_COST;
    }
    return total;
  };
  return Math.max(1, costOf(operation.selectionSet));
}

/** How long a rate-limit command may take before the instance's own memory limiter decides instead. */
export const RATE_LIMIT_REDIS_TIMEOUT_MS = 200;
/** How long the gateway waits at start for its rate-limit connection before serving on insurance. */
const CONNECT_WAIT_MS = 1000;

export type RateLimitStore =
  { kind: 'redis'; url: string; namespace: string } | { kind: 'memory'; namespace: string };

export interface RateLimitVerdict {
  allowed: boolean;
  /** Whole seconds until the bucket refills (at least 1), when refused. */
  retryAfterSeconds?: number;
  remainingPoints: number;
}

export interface RateLimiter {
  /** Takes `cost` points from `bucket`; refuses when that overdraws it (the points stay taken). */
  consume(bucket: Bucket, cost: number): Promise<RateLimitVerdict>;
  close(): Promise<void>;
}

/**
 * Fixed-window buckets kept by rate-limiter-flexible in the Redis every gateway replica shares
 * (`<namespace>:ratelimit:<tier>:<kind>:<id>`), or in memory in the single-process mode.
 *
 * When Redis is unreachable or slow, each replica counts in its own memory instead (the library's
 * insurance limiter): neither fail-open nor fail-closed. Failing open would lift every limit, sign-up and
 * log-in floods included, exactly while a dependency is down; failing closed would turn a Redis outage
 * into an outage of every anonymous page, which the revocation check deliberately keeps serving. Per
 * replica, a caller then gets at most replicas × its tier until Redis is back, and every refusal is
 * still a 429.
 */
export async function createRateLimiter(
  tiers: RateTiers,
  store: RateLimitStore,
  logger?: Pick<Logger, 'warn'>,
): Promise<RateLimiter> {
  const redis =
    store.kind === 'redis'
      ? new Redis(store.url, {
          // Fail fast, never queue: a request must not wait for a reconnect to be counted.
          enableOfflineQueue: false,
          maxRetriesPerRequest: 0,
          commandTimeout: RATE_LIMIT_REDIS_TIMEOUT_MS,
          retryStrategy: (times) => Math.min(times * 100, 2000),
          connectionName: 'carwash-gateway-ratelimit',
          // Every request's count is one script call: those issued in one turn of the event loop go out
          // in one write (ioredis's auto-pipelining), not a socket write each.
          enableAutoPipelining: true,
        })
      : undefined;
  let warned = false;
  redis?.on('error', (err) => {
    // Reconnection is automatic; the insurance limiter counts meanwhile. Say so once per outage.
    if (!warned) logger?.warn({ err: err.message }, 'rate-limit store unreachable: counting per instance');
    warned = true;
  });
  redis?.on('ready', () => {
    warned = false;
  });
  if (redis) await whenReady(redis, CONNECT_WAIT_MS);

  const limiters = new Map<string, RateLimiterAbstract>();
  const limiterOf = (tierName: string): { limiter: RateLimiterAbstract; tier: RateTier } => {
    // A key whose tier is not configured (a typo when it was created) gets the default, not an outage.
    const name = tiers.has(tierName) ? tierName : DEFAULT_TIER;
    const tier = tiers.get(name)!;
    let limiter = limiters.get(name);
    if (!limiter) {
      const base = {
        points: tier.points,
        duration: tier.windowSeconds,
        keyPrefix: `${store.namespace}:ratelimit:${name}`,
      };
      const memory = new RateLimiterMemory(base);
      limiter = redis
        ? new RateLimiterRedis({
            ...base,
            storeClient: redis,
            rejectIfRedisNotReady: true,
            insuranceLimiter: memory,
            // An overdrawn bucket is remembered locally until its window ends: a flood costs no Redis calls.
            inMemoryBlockOnConsumed: tier.points + 1,
          })
        : memory;
      limiters.set(name, limiter);
    }
    return { limiter, tier };
  };

  return {
    async consume(bucket, cost) {
      const { limiter } = limiterOf(bucket.tier);
      try {
        const res = await limiter.consume(`${bucket.kind}:${bucket.id}`, cost);
        return { allowed: true, remainingPoints: res.remainingPoints };
      } catch (err) {
        if (!(err instanceof RateLimiterRes)) throw err;
        return {
          allowed: false,
          retryAfterSeconds: Math.max(1, Math.ceil(err.msBeforeNext / 1000)),
          remainingPoints: err.remainingPoints,
        };
      }
    },
    async close() {
      redis?.disconnect();
    },
  };
}

/** What the rate-limit plugin needs from the request context. */
export interface RateLimitedContext {
  client: EdgeClient;
  viewer: Viewer | null;
  clientIp: string | undefined;
}

/**
 * Charges every operation its cost once it is parsed, validated and chosen (`didResolveOperation`,
 * before any subgraph is called) and refuses an overdrawn bucket with HTTP 429, `Retry-After` and
 * `RATE_LIMITED`.
 */
export function rateLimitPlugin(
  limiter: RateLimiter,
  costs: FieldCosts,
  metrics: Pick<GatewayMetrics, 'rateLimited'>,
  clientLabels: BoundedLabels,
  logger?: Pick<Logger, 'warn'>,
): ApolloServerPlugin<RateLimitedContext> {
  return {
    async serverWillStart() {
      return {
        // A priced field the schema does not have (misspelt, or removed by a schema change) costs 1 silently.
        schemaDidLoadOrUpdate({ apiSchema }) {
          const unknown = unknownCostFields(costs, apiSchema);
          if (unknown.length)
            logger?.warn({ fields: unknown }, 'RATE_LIMIT_COSTS names root fields the schema does not have');
        },
      };
    },
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, document, schema, contextValue }) {
          // Apollo resolves an operation before this hook, or answers OPERATION_RESOLUTION_FAILURE itself.
          if (!operation) return;
          const root = schema.getRootType(operation.operation);
          const cost = operationCost(operation, document, root?.name ?? '', costs);
          const bucket = bucketOf(contextValue.client, contextValue.viewer, contextValue.clientIp);
          const verdict = await limiter.consume(bucket, cost);
          if (verdict.allowed) return;
          metrics.rateLimited.inc({ client: clientLabels.of(contextValue.client.name), bucket: bucket.kind });
          const retryAfterSeconds = verdict.retryAfterSeconds ?? 1;
          throw new AppError('RATE_LIMITED', {
            extensions: {
              retryAfterSeconds,
              http: { status: 429, headers: new HeaderMap([['retry-after', String(retryAfterSeconds)]]) },
            },
          });
        },
      };
    },
  };
}

/** The entries of the cost table that name no root field of `schema`. */
export function unknownCostFields(costs: FieldCosts, schema: GraphQLSchema): string[] {
  return [...costs.keys()].filter((entry) => {
    const [root, field] = entry.split('.') as [string, string];
    const type = schema.getType(root);
    const rootTypes = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()];
    return !type || !rootTypes.includes(type as never) || !(field in (type as GraphQLObjectType).getFields());
  });
}
