import { pageLoader, rowByIdLoader, rowsByKeyLoader } from '@carwash/subgraph-kit';
import type { ChargePageQuery, PaymentRepository, Transaction } from './repository.js';

/** Per-request loaders: 100 bookings' payments, or 100 users' methods, in one statement each. */
export function createLoaders(
  repo: Pick<
    PaymentRepository,
    | 'transactionsByIds'
    | 'transactionsOfBookings'
    | 'methodsOfCustomers'
    | 'refundsOfTransactions'
    | 'chargesOfCustomers'
  >,
) {
  return {
    transaction: rowByIdLoader((ids) => repo.transactionsByIds(ids)),
    byBooking: rowsByKeyLoader((ids) => repo.transactionsOfBookings(ids), 'bookingId'),
    methods: rowsByKeyLoader((ids) => repo.methodsOfCustomers(ids), 'customerId'),
    refunds: rowsByKeyLoader((ids) => repo.refundsOfTransactions(ids), 'transactionId'),
    /** `User.transactions` of every user in the response: one statement per distinct set of page arguments. */
    customerCharges: pageLoader<ChargePageQuery, Transaction>(
      (ids, query) => repo.chargesOfCustomers(ids, query),
      (q) => JSON.stringify([q.after?.key.toISOString(), q.after?.id, q.limit]),
    ),
  };
}

export type PaymentLoaders = ReturnType<typeof createLoaders>;
