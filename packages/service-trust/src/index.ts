export { HEADER } from './headers.js';
export { signRequest, verifyRequest, type ServiceKey, type SignedParts, type VerifyResult, type VerifyOptions } from './signature.js';
export { signedFetch } from './signed-fetch.js';
export { createUserTokenVerifier, ACCESS_TOKEN, ROLES, type Role, type Viewer, type UserTokenVerifier, type UserTokenVerifierOptions } from './user-token.js';
export {
  createRevocationChecker,
  createRevocationStore,
  MemoryRevocationStore,
  RedisRevocationStore,
  DEFAULT_REVOCATION_TTL_SECONDS,
  REVOCATION_CACHE_MAX_ENTRIES,
  REVOCATION_CACHE_TTL_MS,
  REVOCATION_CHECK_TIMEOUT_MS,
  type RevocationChecker,
  type RevocationCheckerOptions,
  type RevocationListener,
  type RevocationStatus,
  type RevocationStore,
  type RevocationStoreConfig,
  type RevocationStoreOptions,
  type RevocationVerdict,
} from './revocation.js';
