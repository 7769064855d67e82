import { loadOrExit } from '@carwash/config';
import { createLogger, startTracing, stopOnSignals } from '@carwash/subgraph-kit';
import { loadGatewayConfig } from './config.js';
import { heapLimitWarning } from './runtime.js';
import { createGateway } from './server.js';

const config = loadOrExit(loadGatewayConfig);
// Before the gateway is built, so Apollo Gateway's own spans join the request's trace.
const tracing = startTracing('gateway', config);
const logger = createLogger('gateway', config.LOG_LEVEL);
const heapWarning = heapLimitWarning();
if (heapWarning) logger.warn(heapWarning);
const gateway = await createGateway(config, logger);
const { url } = await gateway.listen(config.GATEWAY_PORT, config.GATEWAY_HOST);
logger.info({ url, subgraphs: gateway.subgraphs }, 'gateway ready');
stopOnSignals(
  async () => {
    await gateway.stop();
    await tracing.shutdown();
  },
  logger,
  config.SHUTDOWN_GRACE_MS,
);
