import type { RequestContext } from '@carwash/subgraph-kit';
import type { BookingLoaders } from './loaders.js';
import type { BookingService } from './service.js';

export interface BookingContext extends RequestContext {
  loaders: BookingLoaders;
  booking: BookingService;
}
