import { featureDatabase } from '@carwash/subgraph-kit';
import { PrismaClient } from './generated/prisma/client.js';

/** The payment feature's Prisma client; only its repository queries it. */
export type PaymentDb = PrismaClient;

export const { sqlStatements, createDb } = featureDatabase(PrismaClient);
