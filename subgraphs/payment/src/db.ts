import { PrismaPg } from '@prisma/adapter-pg';
import { countingPool, type StatementCounter } from '@carwash/subgraph-kit';
import type pg from 'pg';
import { PrismaClient } from './generated/prisma/client.js';

export type PaymentDb = PrismaClient;

/** SQL statements sent by this feature's pool; tests read it to prove batching. */
export const sqlStatements: StatementCounter = { count: 0 };

export function createDb(url: string, poolSize: number): { db: PaymentDb; pool: pg.Pool } {
  const pool = countingPool(url, poolSize, sqlStatements);
  return { db: new PrismaClient({ adapter: new PrismaPg(pool) }), pool };
}
