import { featureOutbox } from '@carwash/subgraph-kit';

/**
 * What the location feature publishes. The outbox and inbox writes themselves are
 * `LocationRepository.recordEvent` and `.firstTime`: only the repository talks to the database.
 * The events it consumes are the handlers in server.ts.
 */
export const outbox = featureOutbox('location', [
  'location.site.closed',
  'location.site.changed',
  'location.staff.unassigned',
]);
