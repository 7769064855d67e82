/** The topics booking announces (through its outbox, see BookingRepository.recordEvent). */
export const PUBLISHES = [
  'booking.reservation.created',
  'booking.reservation.cancelled',
  'booking.reservation.statusChanged',
] as const;
/** The topics booking consumes (handlers in server.ts, inbox in BookingRepository.firstTime). */
export const CONSUMES = [
  'auth.user.deleted',
  'location.site.closed',
  'location.staff.unassigned',
  'payment.charge.captured',
] as const;
/** The inbox table's consumer group. */
export const CONSUMER_GROUP = 'booking';
