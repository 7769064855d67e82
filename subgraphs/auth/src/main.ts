import { loadOrExit } from '@carwash/config';
import { runFeature } from '@carwash/subgraph-kit';
import { loadAuthConfig } from './config.js';
import { createAuthSubgraph } from './server.js';

await runFeature({ feature: 'auth', config: loadOrExit(loadAuthConfig), create: createAuthSubgraph });
