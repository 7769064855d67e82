import DataLoader from 'dataloader';
import type { PaymentDb } from './db.js';
import type { PaymentMethod, Refund, Transaction } from './generated/prisma/client.js';

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
export function createLoaders(db: PaymentDb) {
  const valid = (ids: readonly string[]) => ids.filter((id) => UUID.test(id));
  return {
    transaction: new DataLoader<string, Transaction | null>(async (ids) => {
      const rows = await db.transaction.findMany({ where: { id: { in: valid(ids) } } });
      const map = new Map(rows.map((r) => [r.id, r]));
      return ids.map((id) => map.get(id) ?? null);
    }),
    byBooking: new DataLoader<string, Transaction[]>(async (ids) =>
      grouped(await db.transaction.findMany({ where: { bookingId: { in: valid(ids) } }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] }), (t) => t.bookingId, ids),
    ),
    methods: new DataLoader<string, PaymentMethod[]>(async (ids) =>
      grouped(await db.paymentMethod.findMany({ where: { customerId: { in: valid(ids) }, removedAt: null }, orderBy: { createdAt: 'asc' } }), (m) => m.customerId, ids),
    ),
    refunds: new DataLoader<string, Refund[]>(async (ids) => grouped(await db.refund.findMany({ where: { transactionId: { in: valid(ids) } }, orderBy: { createdAt: 'asc' } }), (r) => r.transactionId, ids)),
  };
}

export type PaymentLoaders = ReturnType<typeof createLoaders>;
