import { loadOrExit } from '@carwash/config';
import { runFeature } from '@carwash/subgraph-kit';
import { loadPaymentConfig } from './config.js';
import { createPaymentSubgraph } from './server.js';

await runFeature({
  feature: 'payment',
  config: loadOrExit(loadPaymentConfig),
  create: createPaymentSubgraph,
  // Resumes the PENDING charges and refunds a dead process left behind.
  start: (subgraph) => void subgraph.startSweeper(),
});
