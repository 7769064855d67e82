import { featureDatabase } from '@carwash/subgraph-kit';
import { PrismaClient } from './generated/prisma/client.js';

/** The auth feature's Prisma client; only its repository queries it. */
export type AuthDb = PrismaClient;

export const { sqlStatements, createDb } = featureDatabase(PrismaClient);
