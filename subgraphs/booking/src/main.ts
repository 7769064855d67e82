import { loadOrExit } from '@carwash/config';
import { runFeature } from '@carwash/subgraph-kit';
import { loadBookingConfig } from './config.js';
import { createBookingSubgraph } from './server.js';

/** How often the sweep expires the lapsed holds that no booking on the write path has expired yet. */
const HOLD_SWEEP_INTERVAL_MS = 30_000;

await runFeature({
  feature: 'booking',
  config: loadOrExit(loadBookingConfig),
  create: createBookingSubgraph,
  start: (subgraph, logger) => {
    // Holds also lapse on the write path (createBooking expires them first); this sweep records the rest.
    const sweep = setInterval(() => {
      subgraph.service.expireLapsedHolds().catch((err: unknown) => logger.warn({ err }, 'hold sweep failed'));
    }, HOLD_SWEEP_INTERVAL_MS);
    sweep.unref();
  },
});
