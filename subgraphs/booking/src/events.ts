import { featureOutbox } from '@carwash/subgraph-kit';

/**
 * The topics booking announces. Its repository writes them (`recordEvent`) and the inbox of the events it
 * consumes (`firstTime`; the handlers are in server.ts).
 */
export const outbox = featureOutbox('booking', [
  'booking.reservation.created',
  'booking.reservation.cancelled',
  'booking.reservation.statusChanged',
  'booking.service.changed',
]);
