import type { EventEnvelope, Handlers } from '@carwash/events';
import type { RevocationStore } from '@carwash/service-trust';
import type { Logger } from '@carwash/subgraph-kit';
import type { Revocation } from './repository.js';

/**
 * Margin on top of the access-token lifetime for how long a revocation is kept, so a verifier whose
 * clock runs a little behind still refuses a revoked token until it has expired there too.
 */
export const REVOCATION_CLOCK_SKEW_SECONDS = 60;

/**
 * Writes the auth feature's revocations into the store every verifier reads, on two paths:
 *  - at once, after the transaction that revoked commits (`applyCommitted`), so the old tokens are
 *    refused by the time the mutation answers; a failure here is logged, never surfaced;
 *  - from the outbox events recorded in that transaction (`handlers`, consumed by auth's own group):
 *    the guarantee — a revocation committed while Redis was away reaches the store once it is back.
 * Both writes are idempotent (a session stays revoked, a user's floor only rises), so doing both is safe.
 */
export class RevocationProjector {
  constructor(
    private readonly store: RevocationStore,
    private readonly logger: Logger,
  ) {}

  private apply(revocation: Revocation): Promise<void> {
    return revocation.kind === 'session'
      ? this.store.revokeSession(revocation.sessionId)
      : this.store.revokeUserBelow(revocation.userId, revocation.minVersion);
  }

  /** The fast path; see the class comment. */
  readonly applyCommitted = async (revocations: Revocation[]): Promise<void> => {
    try {
      await Promise.all(revocations.map((r) => this.apply(r)));
    } catch (err) {
      this.logger.warn(
        { err, revocations: revocations.length },
        'revocation store unreachable; the outbox will deliver the revocation',
      );
    }
  };

  /** The guaranteed path: handlers for auth's consumer group. A failure is retried by the bus. */
  readonly handlers: Handlers = {
    'auth.session.revoked': (event: EventEnvelope<'auth.session.revoked'>) =>
      this.apply({ kind: 'session', sessionId: event.payload.sessionId, userId: event.payload.userId }),
    'auth.user.tokensRevoked': (event: EventEnvelope<'auth.user.tokensRevoked'>) =>
      this.apply({ kind: 'user', userId: event.payload.userId, minVersion: event.payload.minVersion }),
  };
}
