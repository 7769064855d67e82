import { createEvent, firstDelivery, type EventEnvelope, type EventMap } from '@carwash/events';
import type { Prisma } from './generated/prisma/client.js';

export const PUBLISHES = ['booking.reservation.created', 'booking.reservation.cancelled', 'booking.reservation.statusChanged'] as const;
export const CONSUMES = ['auth.user.deleted', 'location.site.closed', 'location.staff.unassigned', 'payment.charge.captured'] as const;
export const CONSUMER_GROUP = 'booking';

type Tx = Prisma.TransactionClient;

export async function recordEvent<T extends (typeof PUBLISHES)[number]>(tx: Tx, topic: T, aggregateId: string, payload: EventMap[T]): Promise<void> {
  const e = createEvent('booking', topic, aggregateId, payload);
  await tx.outboxEvent.create({ data: { id: e.id, topic: e.type, version: e.version, aggregateId: e.aggregateId, payload: e.payload, occurredAt: new Date(e.occurredAt) } });
}

export function firstTime(tx: Tx, event: EventEnvelope): Promise<boolean> {
  return firstDelivery((sql, values) => tx.$executeRawUnsafe(sql, ...values), 'booking_inbox', CONSUMER_GROUP, event);
}
