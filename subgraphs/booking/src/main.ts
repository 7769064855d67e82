import { loadOrExit } from '@carwash/config';
import { createLogger, stopOnSignals } from '@carwash/subgraph-kit';
import { loadBookingConfig } from './config.js';
import { createBookingSubgraph } from './server.js';

/** How often the sweep expires the lapsed holds that no booking on the write path has expired yet. */
const HOLD_SWEEP_INTERVAL_MS = 30_000;

const config = loadOrExit(loadBookingConfig);
const logger = createLogger('booking', config.LOG_LEVEL);
const subgraph = await createBookingSubgraph(config, logger);
const { url } = await subgraph.listen(config.BOOKING_PORT, config.BOOKING_HOST);
subgraph.relay.start();
await subgraph.startConsumers();
// Holds also lapse on the write path (createBooking expires them first); this sweep records the rest.
const sweep = setInterval(() => {
  subgraph.service.expireLapsedHolds().catch((err: unknown) => logger.warn({ err }, 'hold sweep failed'));
}, HOLD_SWEEP_INTERVAL_MS);
sweep.unref();
logger.info({ url }, 'booking subgraph ready');
stopOnSignals(() => subgraph.stop(), logger);
