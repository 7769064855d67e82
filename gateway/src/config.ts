import { isIP } from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  ConfigError,
  eventBusSettings,
  loadConfig,
  resolveServiceCredentials,
  revocationSettings,
  serviceCredentialSettings,
  setting,
  tracingSettings,
  z,
} from '@carwash/config';
import { rateLimitSettings } from './edge/rate-limit-settings.js';

import { persistedQuerySettings } from './edge/persisted.js';

const DEFAULT_SUPERGRAPH = fileURLToPath(new URL('../../schema/supergraph.graphql', import.meta.url));

/** The only reader of `process.env` in the gateway. */
export function loadGatewayConfig(env: Record<string, string | undefined> = process.env) {
  const config = loadConfig(
    'gateway',
    {
      GATEWAY_PORT: setting.port(4000),
      GATEWAY_HOST: z.string().default('127.0.0.1'),
      /** Any valid supergraph file, ours or not. */
      SUPERGRAPH_PATH: z.string().default(DEFAULT_SUPERGRAPH),
      ...serviceCredentialSettings(),
      /** Where access tokens' public keys are published; `none` forwards tokens unverified (subgraphs still verify). */
      JWKS_URL: z
        .union([z.literal('none'), setting.url()])
        .default('http://127.0.0.1:4001/.well-known/jwks.json'),
      /**
       * The revocation store: `EVENT_BUS=redis` (default) reads it from `REDIS_URL` under
       * `EVENTS_NAMESPACE`, like every subgraph; `memory` is the single-process mode.
       */
      ...eventBusSettings(),
      ...revocationSettings(),
      /** Trusted documents, per-client safelisting, APQ and partner API keys (edge/persisted.ts). */
      ...persistedQuerySettings(),
      ...edgeProtectionSettings(env),
      /** Apollo Sandbox at `/` (it loads its script from Apollo's CDN). */
      SANDBOX: setting.bool(true),
      /**
       * Who may set `X-Forwarded-For`: a hop count (`1` = the one proxy in front of us), or a comma list of
       * addresses, CIDRs and Express presets (`loopback`, `linklocal`, `uniquelocal`), or `none`. The client
       * address is the nearest one not trusted; a header from an untrusted peer is ignored.
       */
      TRUSTED_PROXIES: trustedProxies().prefault('loopback'),
      /** Rate limits (tiers, root-field costs), counted in the event bus's Redis, see edge/rate-limit-settings.ts. */
      ...rateLimitSettings(),
      READY_TIMEOUT_MS: setting.int(2000, 50, 60_000),
      // Subgraph transport (see edge/subgraph-fetch.ts); SUBGRAPH_<NAME>_TIMEOUT_MS overrides the timeout per subgraph.
      /** Deadline of one subgraph request, body included; past it that subgraph's part is `SUBGRAPH_TIMEOUT`. */
      SUBGRAPH_TIMEOUT_MS: setting.int(10_000, 50, 300_000),
      /** Most connections open to each subgraph at once (its own pool); more requests queue within their deadline. */
      SUBGRAPH_MAX_CONNECTIONS: setting.int(64, 1, 10_000),
      /** Idle keep-alive time of a pooled subgraph connection; below the subgraphs' own (Node: 5 s). */
      SUBGRAPH_KEEPALIVE_MS: setting.int(4_000, 100, 600_000),
      /**
       * `on`: a query's subgraph fetch that is identical (subgraph, body, end-user token, client address and
       * name) to one in flight waits for that one's answer instead of being sent (edge/shared-fetches.ts).
       */
      SUBGRAPH_DEDUPE: z.enum(['on', 'off']).default('on'),
      /**
       * Memory for whole answers that every subgraph involved called public (booking's free slots), each
       * kept for the subgraphs' least max-age and dropped at once when an event or a mutation through
       * this gateway changes a fact it came from (edge/response-cache.ts). 0 turns the cache off.
       */
      GATEWAY_RESPONSE_CACHE_MIB: setting.int(16, 0, 4096),
      /**
       * GraphQL operations this process works on at once (edge/admission.ts); more wait in a FIFO queue
       * of `GATEWAY_MAX_QUEUED`, past which a request gets `503 GATEWAY_BUSY`. Bounds the heap's live set
       * whatever the number of connections (test/bench/results/tuning-gateway.md, "Memory"). 32: above the
       * concurrency the subgraph-bound workloads use (booking bench: 20), where fewer would cap throughput.
       */
      GATEWAY_MAX_OPERATIONS: setting.int(32, 1, 100_000),
      GATEWAY_MAX_QUEUED: setting.int(1024, 0, 1_000_000),
      ...tracingSettings(),
      SHUTDOWN_GRACE_MS: setting.int(10_000, 0, 600_000),
      LOG_LEVEL: setting.logLevel(),
    },
    env,
  );
  // The gateway only signs (as `gateway`, nothing else); it receives no signed calls.
  const credentials = resolveServiceCredentials('gateway', config, { verifies: false, env });
  // Per-subgraph overrides: SUBGRAPH_<NAME>_URL (e.g. SUBGRAPH_AUTH_URL=http://auth:4001/graphql) and
  // SUBGRAPH_<NAME>_TIMEOUT_MS (e.g. SUBGRAPH_BOOKING_TIMEOUT_MS=3000).
  const subgraphUrls: Record<string, string> = {};
  const subgraphTimeoutsMs: Record<string, number> = {};
  const problems: string[] = [];
  const timeout = setting.int(0, 50, 300_000);
  for (const [key, value] of Object.entries(env)) {
    const url = /^SUBGRAPH_([A-Z0-9_]+)_URL$/.exec(key);
    if (url && value) {
      if (!z.url({ protocol: /^https?$/ }).safeParse(value).success)
        problems.push(`${key}: must be an http(s) URL`);
      subgraphUrls[url[1]!.toLowerCase()] = value;
    }
    const ms = /^SUBGRAPH_([A-Z0-9_]+)_TIMEOUT_MS$/.exec(key);
    if (ms && value) {
      const parsed = timeout.safeParse(value);
      if (!parsed.success) problems.push(`${key}: must be a whole number of milliseconds from 50 to 300000`);
      else subgraphTimeoutsMs[ms[1]!.toLowerCase()] = parsed.data;
    }
  }
  if (problems.length) throw new ConfigError('gateway', problems);
  // Apollo's gateway reports anonymous usage telemetry unless told not to.
  process.env.APOLLO_TELEMETRY_DISABLED ??= '1';
  return { ...config, subgraphUrls, subgraphTimeoutsMs, credentials };
}

const PROXY_PRESETS = new Set(['loopback', 'linklocal', 'uniquelocal']);
const MAX_PROXY_HOPS = 32;

/**
 * `TRUSTED_PROXIES` parsed into a value for Express's `trust proxy` setting (proxy-addr does the
 * matching; this only refuses what it would misread, such as a typo silently trusting nobody).
 */
function trustedProxies() {
  return z.string().transform((raw, ctx): number | string[] | false => {
    const value = raw.trim();
    if (value === 'none') return false;
    if (/^\d+$/.test(value)) {
      const hops = Number(value);
      if (hops <= MAX_PROXY_HOPS) return hops;
      ctx.addIssue({ code: 'custom', message: `a hop count must be at most ${MAX_PROXY_HOPS}` });
      return z.NEVER;
    }
    const entries = value
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean);
    const bad = entries.filter((e) => !PROXY_PRESETS.has(e) && !isAddressOrCidr(e));
    if (entries.length === 0 || bad.length) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a hop count, \`none\`, or a comma list of addresses, CIDRs and presets (loopback, linklocal, uniquelocal); not understood: ${bad.join(', ') || '(empty)'}`,
      });
      return z.NEVER;
    }
    return entries;
  });
}

function isAddressOrCidr(entry: string): boolean {
  const [address = '', bits, extra] = entry.split('/');
  const family = isIP(address);
  if (!family || extra !== undefined) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

/**
 * Limits, introspection and CORS at the edge (README "Gateway edge protection"). The limits are refused
 * before any subgraph is called; each is a number a real client stays well under.
 */
function edgeProtectionSettings(env: Record<string, string | undefined>) {
  return {
    /** GraphQL requests are small; 256 KiB leaves room for large variables, not for bombs. */
    MAX_REQUEST_BYTES: setting.int(256 * 1024, 1024, 16 * 1024 * 1024),
    LIMIT_MAX_TOKENS: setting.int(1000, 100),
    LIMIT_MAX_DEPTH: setting.int(10, 2),
    LIMIT_MAX_ALIASES: setting.int(15, 0),
    LIMIT_MAX_ROOT_FIELDS: setting.int(15, 1),
    LIMIT_MAX_DIRECTIVES: setting.int(20, 0),
    LIMIT_MAX_COST: setting.int(5000, 10),
    LIMIT_MAX_SELECTIONS: setting.int(2000, 10),
    /** Bounds of the parsed-document and query-plan caches (approximate MiB each): memory stays flat. */
    DOCUMENT_CACHE_MIB: setting.int(8, 1, 1024),
    QUERY_PLAN_CACHE_MIB: setting.int(8, 1, 1024),
    /**
     * Introspection and "Did you mean" suggestions: `on` (everybody), `admins` (signed-in admins only,
     * so Sandbox works after logging in) or `off`. Default: `admins` when NODE_ENV=production, else `on`.
     */
    INTROSPECTION: z.enum(['on', 'admins', 'off']).default(env.NODE_ENV === 'production' ? 'admins' : 'on'),
    /**
     * Browser origins allowed to call the gateway (comma list of `scheme://host[:port]`); `*` alone allows
     * any origin without credentials; empty (default) sends no CORS headers.
     */
    CORS_ORIGINS: corsOrigins().prefault(''),
  };
}

function corsOrigins() {
  return z.string().transform((raw, ctx): string[] => {
    const origins = raw
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean);
    if (origins.includes('*') && origins.length > 1) {
      ctx.addIssue({ code: 'custom', message: '`*` must stand alone (it never allows credentials)' });
      return z.NEVER;
    }
    const bad = origins.filter((o) => o !== '*' && !isOrigin(o));
    if (bad.length) {
      ctx.addIssue({
        code: 'custom',
        message: `expected origins like https://app.example.com; not understood: ${bad.join(', ')}`,
      });
      return z.NEVER;
    }
    return origins;
  });
}

function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return /^https?:$/.test(url.protocol) && url.origin === value;
  } catch {
    return false;
  }
}

export type GatewayConfig = ReturnType<typeof loadGatewayConfig>;
