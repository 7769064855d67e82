import { loadOrExit } from '@carwash/config';
import { createLogger, stopOnSignals } from '@carwash/subgraph-kit';
import { loadGatewayConfig } from './config.js';
import { createGateway } from './server.js';

const config = loadOrExit(loadGatewayConfig);
const logger = createLogger('gateway', config.LOG_LEVEL);
const gateway = await createGateway(config, logger);
const { url } = await gateway.listen(config.GATEWAY_PORT, config.GATEWAY_HOST);
logger.info({ url, subgraphs: gateway.subgraphs }, 'gateway ready');
stopOnSignals(() => gateway.stop(), logger, config.SHUTDOWN_GRACE_MS);
