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
export { createRequestVerifier, MemoryNonceStore, RedisNonceStore, type NonceStore, type RedisLike, type RequestVerdict, type RequestVerifierOptions } from './nonce-store.js';
export { signedFetch } from './signed-fetch.js';
export { createUserTokenVerifier, ACCESS_TOKEN, ROLES, type Role, type Viewer, type UserTokenVerifier, type UserTokenVerifierOptions } from './user-token.js';
