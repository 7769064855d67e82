import type { RequestContext } from '@carwash/subgraph-kit';
import type { LocationLoaders } from './loaders.js';
import type { LocationService } from './service.js';

export interface LocationContext extends RequestContext {
  loaders: LocationLoaders;
  location: LocationService;
}
