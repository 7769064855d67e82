import { featureDatabase } from '@carwash/subgraph-kit';
import { PrismaClient } from './generated/prisma/client.js';

/** The booking feature's Prisma client; only its repository queries it. */
export type BookingDb = PrismaClient;

export const { sqlStatements, createDb } = featureDatabase(PrismaClient);
