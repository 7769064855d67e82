import type { RequestContext } from '@carwash/subgraph-kit';
import type { PaymentLoaders } from './loaders.js';
import type { PaymentService } from './service.js';

export interface PaymentContext extends RequestContext {
  loaders: PaymentLoaders;
  payment: PaymentService;
}
