import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from './generated/prisma/client.js';

export type AuthDb = PrismaClient;

/**
 * Counts SQL statements sent by this feature's pool. Tests read it to prove batching
 * ("100 references → 1 statement"); it costs one integer increment per query.
 */
export const sqlStatements = { count: 0 };

class CountingClient extends pg.Client {
  override query(...args: unknown[]): never {
    sqlStatements.count += 1;
    return (super.query as (...a: unknown[]) => never)(...args);
  }
}

export function createDb(url: string, poolSize: number): { db: AuthDb; pool: pg.Pool } {
  const pool = new pg.Pool({ connectionString: url, max: poolSize, Client: CountingClient as unknown as typeof pg.Client });
  const db = new PrismaClient({ adapter: new PrismaPg(pool) });
  return { db, pool };
}
