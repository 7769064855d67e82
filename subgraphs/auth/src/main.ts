import { loadOrExit } from '@carwash/config';
import { createLogger, stopOnSignals } from '@carwash/subgraph-kit';
import { loadAuthConfig } from './config.js';
import { createAuthSubgraph } from './server.js';

const config = loadOrExit(loadAuthConfig);
const logger = createLogger('auth', config.LOG_LEVEL);
const subgraph = await createAuthSubgraph(config, logger);
const { url } = await subgraph.listen(config.AUTH_PORT, config.AUTH_HOST);
subgraph.relay.start();
await subgraph.startConsumers();
logger.info({ url }, 'auth subgraph ready');
stopOnSignals(() => subgraph.stop(), logger);
