import { pageLoader } from '@carwash/subgraph-kit';
import DataLoader from 'dataloader';
import type { ChargePageQuery, PaymentMethod, PaymentRepository, Refund, Transaction } from './repository.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function grouped<T>(rows: T[], key: (r: T) => string | null, ids: readonly string[]): T[][] {
  const map = new Map<string, T[]>();
  for (const r of rows) {
    const k = key(r);
    if (k) map.set(k, [...(map.get(k) ?? []), r]);
  }
  return ids.map((id) => map.get(id) ?? []);
}

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
  // A malformed id matches nothing; the uuid column would refuse it and fail the whole batch.
  const valid = (ids: readonly string[]) => ids.filter((id) => UUID.test(id));
  return {
    transaction: new DataLoader<string, Transaction | null>(async (ids) => {
      const map = new Map((await repo.transactionsByIds(valid(ids))).map((r) => [r.id, r]));
      return ids.map((id) => map.get(id) ?? null);
    }),
    byBooking: new DataLoader<string, Transaction[]>(async (ids) =>
      grouped(await repo.transactionsOfBookings(valid(ids)), (t) => t.bookingId, ids),
    ),
    methods: new DataLoader<string, PaymentMethod[]>(async (ids) =>
      grouped(await repo.methodsOfCustomers(valid(ids)), (m) => m.customerId, ids),
    ),
    refunds: new DataLoader<string, Refund[]>(async (ids) =>
      grouped(await repo.refundsOfTransactions(valid(ids)), (r) => r.transactionId, ids),
    ),
    /** `User.transactions` of every user in the response: one statement per distinct set of page arguments. */
    customerCharges: pageLoader<ChargePageQuery, Transaction>(
      (ids, query) => repo.chargesOfCustomers(ids, query),
      (q) => JSON.stringify([q.after?.key.toISOString(), q.after?.id, q.limit]),
    ),
  };
}

export type PaymentLoaders = ReturnType<typeof createLoaders>;
