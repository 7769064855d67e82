import { featureOutbox } from '@carwash/subgraph-kit';

/**
 * Topics the payment feature puts in its outbox (written by the repository's `recordEvent`, its inbox by
 * `firstTime`); the events it reacts to are the handlers in server.ts.
 */
export const outbox = featureOutbox('payment', ['payment.charge.captured', 'payment.refund.processed']);
