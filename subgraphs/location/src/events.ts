import { createEvent, firstDelivery, type EventEnvelope, type EventMap } from '@carwash/events';
import type { Prisma } from './generated/prisma/client.js';

/** What the location feature publishes and consumes. */
export const PUBLISHES = ['location.site.closed', 'location.staff.unassigned'] as const;
export const CONSUMES = ['auth.user.deleted'] as const;
export const CONSUMER_GROUP = 'location';

type Tx = Prisma.TransactionClient;

/** Writes an event to the location outbox inside the caller's transaction. */
export async function recordEvent<T extends (typeof PUBLISHES)[number]>(tx: Tx, topic: T, aggregateId: string, payload: EventMap[T]): Promise<void> {
  const e = createEvent('location', topic, aggregateId, payload);
  await tx.outboxEvent.create({
    data: { id: e.id, topic: e.type, version: e.version, aggregateId: e.aggregateId, payload: e.payload, occurredAt: new Date(e.occurredAt) },
  });
}

/** True the first time this feature handles `event` (inbox row in the caller's transaction). */
export function firstTime(tx: Tx, event: EventEnvelope): Promise<boolean> {
  return firstDelivery((sql, values) => tx.$executeRawUnsafe(sql, ...values), 'location_inbox', CONSUMER_GROUP, event);
}
