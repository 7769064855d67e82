import DataLoader from 'dataloader';
import type { AuthRepository, User } from './repository.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Per-request loaders (created in the context factory, never shared across requests or users).
 * `user` answers `User` references from the gateway: 200 references to 100 users are one batch,
 * one SQL statement.
 */
export function createLoaders(repo: AuthRepository) {
  return {
    user: new DataLoader<string, User | null>(async (ids) => {
      // An id that is not a UUID cannot exist; keep it out of the SQL so one bad key cannot fail the batch.
      const valid = ids.filter((id) => UUID.test(id));
      const rows = valid.length ? await repo.findUsersByIds(valid) : [];
      const byId = new Map(rows.map((u) => [u.id, u]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
  };
}

export type AuthLoaders = ReturnType<typeof createLoaders>;
