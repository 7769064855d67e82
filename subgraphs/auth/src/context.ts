import type { RequestContext } from '@carwash/subgraph-kit';
import type { ApiKeyService } from './api-keys.js';
import type { AuthLoaders } from './loaders.js';
import type { AccountRecovery } from './recovery.js';
import type { AuthService } from './service.js';

export interface AuthContext extends RequestContext {
  loaders: AuthLoaders;
  auth: AuthService;
  recovery: AccountRecovery;
  apiKeys: ApiKeyService;
}
