import { PrismaPg } from '@prisma/adapter-pg';
import { countingPool, type StatementCounter } from '@carwash/subgraph-kit';
import type pg from 'pg';
import { PrismaClient } from './generated/prisma/client.js';

export type AuthDb = PrismaClient;

/**
 * SQL statements sent by this feature's pool. Tests read it to prove batching
 * ("100 references → 1 statement").
 */
export const sqlStatements: StatementCounter = { count: 0 };

export function createDb(url: string, poolSize: number): { db: AuthDb; pool: pg.Pool } {
  const pool = countingPool(url, poolSize, sqlStatements);
  const db = new PrismaClient({ adapter: new PrismaPg(pool) });
  return { db, pool };
}
