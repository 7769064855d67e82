import { rowByIdLoader } from '@carwash/subgraph-kit';
import type { AuthRepository } from './repository.js';

/**
 * Per-request loaders (created in the context factory, never shared across requests or users).
 * `user` answers `User` references from the gateway: 200 references to 100 users are one batch,
 * one SQL statement.
 */
export function createLoaders(repo: AuthRepository) {
  return {
    user: rowByIdLoader((ids) => repo.findUsersByIds(ids)),
  };
}

export type AuthLoaders = ReturnType<typeof createLoaders>;
