import { featureDatabase } from '@carwash/subgraph-kit';
import { PrismaClient } from './generated/prisma/client.js';

/** The location feature's Prisma client; only its repository queries it. */
export type LocationDb = PrismaClient;

export const { sqlStatements, createDb } = featureDatabase(PrismaClient);
