import { loadOrExit } from '@carwash/config';
import { createLogger, stopOnSignals } from '@carwash/subgraph-kit';
import { loadPaymentConfig } from './config.js';
import { createPaymentSubgraph } from './server.js';

const config = loadOrExit(loadPaymentConfig);
const logger = createLogger('payment', config.LOG_LEVEL);
const subgraph = await createPaymentSubgraph(config, logger);
const { url } = await subgraph.listen(config.PAYMENT_PORT, config.PAYMENT_HOST);
subgraph.relay.start();
await subgraph.startConsumers();
subgraph.startSweeper();
logger.info({ url }, 'payment subgraph ready');
stopOnSignals(() => subgraph.stop(), logger);
