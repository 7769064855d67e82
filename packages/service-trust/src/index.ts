export { HEADER } from './headers.js';
export {
  signRequest,
  verifyRequest,
  SIGNATURE_VERSION,
  DEFAULT_MAX_SKEW_SECONDS,
  type ServiceKey,
  type TrustedKey,
  type ServiceCredential,
  type SignedParts,
  type SignOptions,
  type VerifyResult,
  type VerifyOptions,
  type CredentialFailure,
} from './signature.js';
export {
  createRequestVerifier,
  MemoryNonceStore,
  RedisNonceStore,
  type NonceStore,
  type RedisLike,
  type RequestVerdict,
  type RequestVerifierOptions,
} from './nonce-store.js';
export { signedFetch } from './signed-fetch.js';
export {
  createUserTokenVerifier,
  ACCESS_TOKEN,
  ROLES,
  type Role,
  type Viewer,
  type UserTokenVerifier,
  type UserTokenVerifierOptions,
} from './user-token.js';
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
export { apiKeyRevocationChannel } from './api-key-revocation.js';
