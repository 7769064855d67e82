import {
  createRevocationChecker,
  createRevocationStore,
  createUserTokenVerifier,
  type RevocationStore,
  type UserTokenVerifier,
  type UserTokenVerifierOptions,
} from '@carwash/service-trust';

/** The settings every token-verifying service reads (`eventBusSettings()` + `revocationSettings()`). */
export interface RevocationSettings {
  EVENT_BUS: 'redis' | 'memory';
  REDIS_URL: string;
  EVENTS_NAMESPACE: string;
  REVOCATION_CACHE_TTL_MS: number;
}

/**
 * The revocation store of this deployment: Redis (shared by every replica), or in-memory in the
 * single-process zero-setup mode — chosen by `EVENT_BUS`, like the bus, and in the bus's namespace.
 */
export function revocationStoreFor(
  settings: Omit<RevocationSettings, 'REVOCATION_CACHE_TTL_MS'>,
  ttlSeconds?: number,
): RevocationStore {
  const base = { namespace: settings.EVENTS_NAMESPACE, ...(ttlSeconds ? { ttlSeconds } : {}) };
  return createRevocationStore(
    settings.EVENT_BUS === 'redis'
      ? { kind: 'redis', url: settings.REDIS_URL, ...base }
      : { kind: 'memory', ...base },
  );
}

export interface AccessTokenVerifier {
  verify: UserTokenVerifier;
  /** Readiness: resolves when the revocation store answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * How the gateway and every subgraph verify access tokens: signature and expiry (JWKS), then revocation
 * (log-out, password or role change, deletion) against the shared store with a short local cache.
 * The store unreachable → 503 SERVICE_UNAVAILABLE for signed-in requests (fail closed); anonymous ones pass.
 */
export function createAccessTokenVerifier(
  keys: Pick<UserTokenVerifierOptions, 'jwksUrl' | 'jwks' | 'cooldownMs'>,
  settings: RevocationSettings,
  /** A store the service already has (auth writes to it), else one is opened; `close()` closes it either way. */
  store: RevocationStore = revocationStoreFor(settings),
): AccessTokenVerifier {
  const revocations = createRevocationChecker(store, { cacheTtlMs: settings.REVOCATION_CACHE_TTL_MS });
  return {
    verify: createUserTokenVerifier({ ...keys, revocations }),
    ping: () => store.ping(),
    close: () => revocations.close(),
  };
}
