import { loadOrExit } from '@carwash/config';
import { runFeature } from '@carwash/subgraph-kit';
import { loadLocationConfig } from './config.js';
import { createLocationSubgraph } from './server.js';

await runFeature({
  feature: 'location',
  config: loadOrExit(loadLocationConfig),
  create: createLocationSubgraph,
});
