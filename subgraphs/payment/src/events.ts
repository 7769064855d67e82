/** Topics the payment feature puts in its outbox (written by the repository's `recordEvent`). */
export const PUBLISHES = ['payment.charge.captured', 'payment.refund.processed'] as const;
/** Topics the payment feature reacts to (handlers in server.ts). */
export const CONSUMES = ['booking.reservation.cancelled', 'auth.user.deleted'] as const;
/** The bus consumer group, and the group recorded in `payment_inbox`. */
export const CONSUMER_GROUP = 'payment';
