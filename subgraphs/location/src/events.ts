/**
 * What the location feature publishes and consumes. The outbox and inbox writes themselves are
 * `LocationRepository.recordEvent` and `.firstTime`: only the repository talks to the database.
 */
export const PUBLISHES = ['location.site.closed', 'location.staff.unassigned'] as const;
export const CONSUMES = ['auth.user.deleted'] as const;
export const CONSUMER_GROUP = 'location';
