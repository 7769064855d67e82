import { rowByIdLoader, rowsByKeyLoader } from '@carwash/subgraph-kit';
import type { PaymentRepository } from './repository.js';

/** Per-request loaders: 100 bookings' payments, or 100 users' methods, in one statement each. */
export function createLoaders(
  repo: Pick<
    PaymentRepository,
    'transactionsByIds' | 'transactionsOfBookings' | 'methodsOfCustomers' | 'refundsOfTransactions'
  >,
) {
  return {
    transaction: rowByIdLoader((ids) => repo.transactionsByIds(ids)),
    byBooking: rowsByKeyLoader(
      (ids) => repo.transactionsOfBookings(ids),
      (t) => t.bookingId,
    ),
    methods: rowsByKeyLoader(
      (ids) => repo.methodsOfCustomers(ids),
      (m) => m.customerId,
    ),
    refunds: rowsByKeyLoader(
      (ids) => repo.refundsOfTransactions(ids),
      (r) => r.transactionId,
    ),
  };
}

export type PaymentLoaders = ReturnType<typeof createLoaders>;
