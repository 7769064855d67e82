import type { AuthDb } from '../db.js';
import type { ApiKey } from '../generated/prisma/client.js';

export type { ApiKey };

/** What `createApiKey` stores: everything but the key itself, which is never stored. */
export interface NewApiKey {
  name: string;
  client: string;
  tier: string;
  keyHash: string;
  prefix: string;
  createdBy: string | null;
}

/** Data access for `auth_api_keys` (the only user of that table). No rules here: see `ApiKeyService`. */
export class ApiKeyRepository {
  constructor(private readonly db: AuthDb) {}

  create(data: NewApiKey): Promise<ApiKey> {
    return this.db.apiKey.create({ data });
  }

  /** Newest first; revoked keys included (they are history an admin wants to see). */
  list(): Promise<ApiKey[]> {
    return this.db.apiKey.findMany({ orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], take: 500 });
  }

  findByHash(keyHash: string): Promise<ApiKey | null> {
    return this.db.apiKey.findUnique({ where: { keyHash } });
  }

  findById(id: string): Promise<ApiKey | null> {
    return this.db.apiKey.findUnique({ where: { id } });
  }

  /** Sets `revokedAt` once; a second revocation keeps the first time. Returns the row (null: unknown id). */
  async revoke(id: string, at: Date): Promise<ApiKey | null> {
    await this.db.apiKey.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: at } });
    return this.findById(id);
  }

  /**
   * Records a use, at most once per `everyMs` per key: one conditional UPDATE that changes nothing while
   * the stored time is recent, so a busy key does not write on every verification.
   */
  async touch(id: string, at: Date, everyMs: number): Promise<void> {
    await this.db.apiKey.updateMany({
      where: { id, OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: new Date(at.getTime() - everyMs) } }] },
      data: { lastUsedAt: at },
    });
  }
}
