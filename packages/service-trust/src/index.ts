export { HEADER } from './headers.js';
export { signRequest, verifyRequest, type ServiceKey, type SignedParts, type VerifyResult, type VerifyOptions } from './signature.js';
export { signedFetch } from './signed-fetch.js';
export { createUserTokenVerifier, ACCESS_TOKEN, ROLES, type Role, type Viewer, type UserTokenVerifier, type UserTokenVerifierOptions } from './user-token.js';
