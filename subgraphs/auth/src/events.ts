import type { Topic } from '@carwash/events';

/**
 * What the auth feature publishes. It consumes its own revocation events, to project them into the
 * revocation store every verifier reads (see revocations.ts). The outbox writes are `AuthRepository`'s.
 */
export const PUBLISHES = [
  'auth.user.deleted',
  'auth.session.revoked',
  'auth.user.tokensRevoked',
] as const satisfies readonly Topic[];
