import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { ApolloServerPlugin } from '@apollo/server';
import { setting, z } from '@carwash/config';
import { AppError } from '@carwash/errors';
import type { Logger } from '@carwash/subgraph-kit';
import type { Request } from 'express';
import { ApiKeyResolver, edgeClientOf } from './api-keys.js';
import { createApqCache } from './apq-cache.js';
import type { EdgeClient } from './client.js';
import { ManifestStore } from './manifests.js';
import type { GatewayMetrics } from './metrics.js';

/**
 * What a client may run, besides the operations of its manifest:
 *  - `enforce`: nothing else (PERSISTED_QUERY_NOT_IN_LIST); APQ cannot register for it. Partners always.
 *  - `audit`: anything, but an operation not in its manifest is logged and counted (`gateway_safelist_audit_total`),
 *    to roll safelisting out gradually;
 *  - `off`: anything.
 */
export type SafelistMode = 'enforce' | 'audit' | 'off';
const MODES = ['enforce', 'audit', 'off'] as const;

const DEFAULT_PERSISTED_QUERIES_DIR = fileURLToPath(
  new URL('../../../schema/persisted-queries', import.meta.url),
);

/** The persisted-query settings, spread into the gateway's config (read there, and only there). */
export function persistedQuerySettings() {
  return {
    /** The trusted-document manifests, `<client>.json` each; reloaded on change. */
    PERSISTED_QUERIES_DIR: z.string().default(DEFAULT_PERSISTED_QUERIES_DIR),
    /** First-party clients' modes by `apollographql-client-name`: `web:audit,ios:enforce`. */
    SAFELIST_CLIENTS: safelistClients().prefault(''),
    /** The mode of first-party clients not named in SAFELIST_CLIENTS, and of anonymous callers. */
    SAFELIST_DEFAULT_MODE: z.enum(MODES).default('off'),
    /** APQ: a document larger than this is run but never stored. */
    APQ_MAX_DOCUMENT_BYTES: setting.int(32 * 1024, 256, 1024 * 1024),
    /** APQ: bytes of documents the store holds at most (oldest registrations evicted first). */
    APQ_MAX_TOTAL_BYTES: setting.int(64 * 1024 * 1024, 64 * 1024, 4 * 1024 * 1024 * 1024),
    /** APQ: how long a registered document lives. */
    APQ_TTL_SECONDS: setting.int(3600, 1, 30 * 86_400),
    /** How long a partner key's verdict is reused: the bound on how long a revoked key keeps working. */
    API_KEY_CACHE_TTL_MS: setting.int(5000, 0, 30_000),
  };
}

function safelistClients() {
  return z.string().transform((raw, ctx): ReadonlyMap<string, SafelistMode> => {
    const modes = new Map<string, SafelistMode>();
    for (const entry of raw
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean)) {
      const [name = '', mode = ''] = entry.split(':').map((p) => p.trim());
      if (!/^[a-z0-9][a-z0-9._-]{0,62}$/i.test(name) || !(MODES as readonly string[]).includes(mode)) {
        ctx.addIssue({
          code: 'custom',
          message: `expected client:mode pairs (mode enforce, audit or off), e.g. web:audit,ios:enforce; not understood: ${entry}`,
        });
        return z.NEVER;
      }
      modes.set(name.toLowerCase(), mode as SafelistMode);
    }
    return modes;
  });
}

export interface SafelistPolicy {
  clients: ReadonlyMap<string, SafelistMode>;
  defaultMode: SafelistMode;
}

/** Partners may run only their manifest; first-party apps have their own mode; everyone else the default. */
export function modeOf(client: EdgeClient, policy: SafelistPolicy): SafelistMode {
  if (client.kind === 'partner') return 'enforce';
  if (client.kind === 'first-party') return policy.clients.get(client.name) ?? policy.defaultMode;
  return policy.defaultMode;
}

/** A bounded metrics label for an operation name a client chose. */
function operationLabel(name: string | null | undefined): string {
  if (!name) return 'anonymous';
  return /^[_A-Za-z][_0-9A-Za-z]{0,63}$/.test(name) ? name : 'invalid';
}

/** What a refused request runs as until `didResolveOperation` refuses it (never executed). */
const REFUSED_PLACEHOLDER = '{ __typename }';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

interface PersistedQueryExtension {
  sha256Hash?: unknown;
}

/**
 * Trusted documents and per-client safelisting, as an Apollo Server plugin.
 *
 * In `requestDidStart`, before Apollo's APQ handling: an id (`extensions.persistedQuery.sha256Hash`) found in
 * the caller's own manifest becomes that operation's body, and the extension is removed, so a trusted
 * document never reads or writes the APQ store. For an `enforce` caller (every partner) anything else — a
 * full query not in its manifest, another client's id, an APQ registration — is refused here with
 * PERSISTED_QUERY_NOT_IN_LIST (403): its document is never parsed, stored or sent to a subgraph. For an `audit`
 * caller, an operation not in its manifest runs and is logged and counted once resolved.
 * APQ hits, misses and registrations are counted too.
 */
export function persistedQueriesPlugin(options: {
  manifests: ManifestStore;
  policy: SafelistPolicy;
  metrics: GatewayMetrics;
  logger: Logger;
}): ApolloServerPlugin<{ client: EdgeClient }> {
  const { manifests, policy, metrics, logger } = options;
  return {
    async requestDidStart({ request, contextValue }) {
      const client = contextValue.client;
      const mode = modeOf(client, policy);
      const manifest = manifests.get(client.name);
      // Any header value may name a first-party app: only configured names become metric label values.
      const label =
        client.kind === 'partner' || policy.clients.has(client.name) || manifest ? client.name : 'unlisted';
      const extension = request.extensions?.persistedQuery as PersistedQueryExtension | undefined;
      const id = typeof extension?.sha256Hash === 'string' ? extension.sha256Hash : undefined;
      let trusted = false;
      if (request.query === undefined && id !== undefined) {
        const operation = manifest?.operations.get(id);
        if (operation) {
          request.query = operation.body;
          trusted = true;
        }
      } else if (typeof request.query === 'string' && manifest?.operations.has(sha256(request.query))) {
        trusted = true;
      }
      const refused = !trusted && mode === 'enforce';
      if (refused) {
        // Apollo answers an error thrown here with a 500; `didResolveOperation` is where a plugin may refuse.
        // The client's document is dropped unparsed for a placeholder that reaches that hook, and nothing
        // of it is registered in APQ.
        request.query = REFUSED_PLACEHOLDER;
        request.operationName = undefined;
        request.variables = {};
      }
      if (trusted || refused) delete request.extensions?.persistedQuery;
      return {
        async didResolveSource(ctx) {
          if (ctx.metrics.persistedQueryHit) metrics.apq.inc({ result: 'hit' });
          else if (ctx.metrics.persistedQueryRegister) metrics.apq.inc({ result: 'registered' });
        },
        async didEncounterErrors(ctx) {
          if (ctx.errors.some((e) => e.extensions?.code === 'PERSISTED_QUERY_NOT_FOUND'))
            metrics.apq.inc({ result: 'miss' });
        },
        async didResolveOperation(ctx) {
          if (refused) {
            metrics.safelistRejections.inc({ client: label });
            throw new AppError('PERSISTED_QUERY_NOT_IN_LIST', { httpStatus: true });
          }
          if (mode !== 'audit' || trusted || manifest?.operations.has(ctx.queryHash)) return;
          const operation = operationLabel(ctx.operationName);
          metrics.safelistAudit.inc({ client: label, operation });
          logger.warn(
            { client: client.name, operation, queryHash: ctx.queryHash },
            'operation not in the client manifest (audit mode: run anyway)',
          );
        },
      };
    },
  };
}

/** The settings `createPersistedQueries` reads (from `loadGatewayConfig`). */
export type PersistedQuerySettings = {
  [K in keyof ReturnType<typeof persistedQuerySettings>]: z.output<
    ReturnType<typeof persistedQuerySettings>[K]
  >;
} & { EVENT_BUS: 'redis' | 'memory'; REDIS_URL: string; EVENTS_NAMESPACE: string };

/**
 * The persisted-query edge, wired: manifests (watched), the APQ store (Redis, or memory with EVENT_BUS=memory),
 * the API-key resolver (asking the auth subgraph at `authUrl`, if the supergraph has one) and the plugin.
 */
export function createPersistedQueries(
  settings: PersistedQuerySettings,
  deps: { authUrl: string | undefined; authFetch: typeof fetch; metrics: GatewayMetrics; logger: Logger },
) {
  const manifests = new ManifestStore(settings.PERSISTED_QUERIES_DIR, deps.logger);
  manifests.watch();
  const apq = createApqCache(settings, {
    maxDocumentBytes: settings.APQ_MAX_DOCUMENT_BYTES,
    maxTotalBytes: settings.APQ_MAX_TOTAL_BYTES,
    ttlSeconds: settings.APQ_TTL_SECONDS,
  });
  const keys = deps.authUrl
    ? new ApiKeyResolver(deps.authUrl, deps.authFetch, settings.API_KEY_CACHE_TTL_MS, deps.logger)
    : undefined;
  if (settings.EVENT_BUS === 'redis')
    keys?.listenForRevocations(settings.REDIS_URL, settings.EVENTS_NAMESPACE);
  return {
    manifests,
    /** Apollo Server's `persistedQueries` option. */
    apq: { cache: apq.cache, ttl: settings.APQ_TTL_SECONDS },
    plugin: persistedQueriesPlugin({
      manifests,
      policy: { clients: settings.SAFELIST_CLIENTS, defaultMode: settings.SAFELIST_DEFAULT_MODE },
      metrics: deps.metrics,
      logger: deps.logger,
    }),
    clientOf: (req: Pick<Request, 'header'>) => edgeClientOf(req, keys),
    close: async () => {
      manifests.close();
      keys?.close();
      await apq.close();
    },
  };
}
