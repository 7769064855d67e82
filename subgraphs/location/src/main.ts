import { loadOrExit } from '@carwash/config';
import { createLogger, stopOnSignals } from '@carwash/subgraph-kit';
import { loadLocationConfig } from './config.js';
import { createLocationSubgraph } from './server.js';

const config = loadOrExit(loadLocationConfig);
const logger = createLogger('location', config.LOG_LEVEL);
const subgraph = await createLocationSubgraph(config, logger);
const { url } = await subgraph.listen(config.LOCATION_PORT, config.LOCATION_HOST);
subgraph.relay.start();
await subgraph.startConsumers();
logger.info({ url }, 'location subgraph ready');
stopOnSignals(() => subgraph.stop(), logger);
