import { createEvent, firstDelivery, type EventEnvelope, type EventMap } from '@carwash/events';
import type { Prisma } from './generated/prisma/client.js';

export const PUBLISHES = ['payment.charge.captured', 'payment.refund.processed'] as const;
export const CONSUMES = ['booking.reservation.cancelled', 'auth.user.deleted'] as const;
export const CONSUMER_GROUP = 'payment';

type Tx = Prisma.TransactionClient;

export async function recordEvent<T extends (typeof PUBLISHES)[number]>(tx: Tx, topic: T, aggregateId: string, payload: EventMap[T]): Promise<void> {
  const e = createEvent('payment', topic, aggregateId, payload);
  await tx.outboxEvent.create({ data: { id: e.id, topic: e.type, version: e.version, aggregateId: e.aggregateId, payload: e.payload, occurredAt: new Date(e.occurredAt) } });
}

export function firstTime(tx: Tx, event: EventEnvelope): Promise<boolean> {
  return firstDelivery((sql, values) => tx.$executeRawUnsafe(sql, ...values), 'payment_inbox', CONSUMER_GROUP, event);
}
