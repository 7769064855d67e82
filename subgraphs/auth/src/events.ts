import { featureOutbox } from '@carwash/subgraph-kit';

/**
 * What the auth feature publishes. It consumes its own revocation events, to project them into the
 * revocation store every verifier reads (see revocations.ts). The outbox writes are `AuthRepository`'s.
 */
export const outbox = featureOutbox('auth', [
  'auth.user.deleted',
  'auth.session.revoked',
  'auth.user.tokensRevoked',
]);
