import { createHmac, randomBytes } from 'node:crypto';
import { AppError } from '@carwash/errors';
import type { Viewer } from '@carwash/service-trust';
import { validate } from '@carwash/subgraph-kit';
import type { ApiKey, ApiKeyRepository } from './repositories/api-keys.js';
import * as input from './validation.js';

/** 256 random bits: guessing is hopeless, so a fast keyed hash is enough (see `hashApiKey`). */
const KEY_BYTES = 32;
export const API_KEY_PREFIX = 'cwk_';
/** How many characters of a key an admin sees in `apiKeys` (the prefix plus 4), to tell keys apart. */
const SHOWN_PREFIX_LENGTH = API_KEY_PREFIX.length + 4;
/** `lastUsedAt` is written at most this often per key, not on every verification. */
export const LAST_USED_WRITE_EVERY_MS = 60_000;

/**
 * HMAC-SHA-256 of the key under a server secret, hex. Not argon2/bcrypt: those slow hashes protect
 * low-entropy secrets (passwords) from offline guessing; a 256-bit random key cannot be guessed at any
 * speed, while a slow hash would cost tens of milliseconds of CPU on every partner request (a denial-of-
 * service lever) and, being salted, could not be looked up by an index. Keying the hash means a copy of
 * the table alone cannot even test a candidate key.
 */
export function hashApiKey(key: string, secret: string): string {
  return createHmac('sha256', secret).update(key).digest('hex');
}

export interface CreatedApiKey {
  key: string;
  apiKey: ApiKey;
}

/** What the gateway learns of a presented key: who the partner is, or nothing. */
export interface ApiKeyVerdict {
  id: string;
  client: string;
  tier: string;
}

/** The API-key rules: admins create, list and revoke; the gateway verifies. */
export class ApiKeyService {
  constructor(
    private readonly repo: ApiKeyRepository,
    private readonly secret: string,
    /** Tells every gateway to drop its cached verdict for the key (best effort: their cache TTL bounds it). */
    private readonly announceRevoked: (id: string) => Promise<void> = async () => {},
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** The key is returned here once and never again: only its keyed hash is stored. */
  async create(admin: Viewer, raw: unknown): Promise<CreatedApiKey> {
    const data = validate(input.createApiKeyInput, raw, 'input');
    const key = API_KEY_PREFIX + randomBytes(KEY_BYTES).toString('base64url');
    const apiKey = await this.repo.create({
      ...data,
      keyHash: hashApiKey(key, this.secret),
      prefix: key.slice(0, SHOWN_PREFIX_LENGTH),
      createdBy: admin.userId,
    });
    return { key, apiKey };
  }

  list(): Promise<ApiKey[]> {
    return this.repo.list();
  }

  async revoke(rawId: unknown): Promise<ApiKey> {
    const id = validate(input.uuid, rawId, 'id');
    const row = await this.repo.revoke(id, this.clock());
    if (!row) throw new AppError('NOT_FOUND', { field: 'id' });
    await this.announceRevoked(row.id);
    return row;
  }

  /**
   * A live key's partner, or null (unknown, malformed or revoked: the gateway answers all three alike).
   * Records the use, throttled to one write per key per minute.
   */
  async verify(key: string): Promise<ApiKeyVerdict | null> {
    if (!input.presentedApiKey.safeParse(key).success) return null;
    const row = await this.repo.findByHash(hashApiKey(key, this.secret));
    if (!row || row.revokedAt) return null;
    await this.repo.touch(row.id, this.clock(), LAST_USED_WRITE_EVERY_MS);
    return { id: row.id, client: row.client, tier: row.tier };
  }
}
