import { ConfigError } from '@carwash/config';
import { createLogger, stopOnSignals } from '@carwash/subgraph-kit';
import { loadAuthConfig } from './config.js';
import { createAuthSubgraph } from './server.js';

let config;
try {
  config = loadAuthConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}
const logger = createLogger('auth', config.LOG_LEVEL);
const subgraph = await createAuthSubgraph(config, logger);
const { url } = await subgraph.listen(config.AUTH_PORT, config.AUTH_HOST);
logger.info({ url }, 'auth subgraph ready');
stopOnSignals(() => subgraph.stop(), logger);
