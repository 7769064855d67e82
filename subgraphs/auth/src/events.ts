import { createEvent, type EventMap, type Topic } from '@carwash/events';
import type { Prisma } from './generated/prisma/client.js';

/**
 * What the auth feature publishes. It consumes its own revocation events, to project them into the
 * revocation store every verifier reads (see revocations.ts).
 */
export const PUBLISHES = ['auth.user.deleted', 'auth.session.revoked', 'auth.user.tokensRevoked'] as const satisfies readonly Topic[];

type Tx = Prisma.TransactionClient;

/**
 * Records an event in the auth outbox, inside the caller's transaction: the event exists if and
 * only if the change that caused it committed. The relay publishes it later.
 */
export async function recordEvent<T extends (typeof PUBLISHES)[number]>(tx: Tx, topic: T, aggregateId: string, payload: EventMap[T]): Promise<string> {
  const event = createEvent('auth', topic, aggregateId, payload);
  await tx.outboxEvent.create({
    data: {
      id: event.id,
      topic: event.type,
      version: event.version,
      aggregateId: event.aggregateId,
      payload: event.payload,
      occurredAt: new Date(event.occurredAt),
    },
  });
  return event.id;
}
