import { readParentPages, type ParentPage, type ParentPageQuery } from '@carwash/subgraph-kit';
import type { PaymentDb } from './db.js';
import { outbox } from './events.js';
import {
  Prisma,
  type PaymentMethod,
  type Refund,
  type Transaction,
  type TransactionStatus,
} from './generated/prisma/client.js';

export type { PaymentMethod, Refund, Transaction, TransactionStatus };

/**
 * A database transaction of the payment feature. Services only pass it from `transaction()` back to
 * the repository's writes; they never call it.
 */
export type PaymentTx = Prisma.TransactionClient;

/**
 * Every column of a charge (table alias `p`), named as the Prisma model names them: raw reads return
 * `Transaction` rows without the client's query compilation and result mapping (CPU per request on the
 * hot reads: 100 bookings' payments on a dashboard, a customer's charges).
 */
const TRANSACTION_COLUMNS = Prisma.raw(`p.id, p.customer_id AS "customerId", p.booking_id AS "bookingId",
  p.method_id AS "methodId", p.amount_cents AS "amountCents", p.currency,
  p.captured_cents AS "capturedCents", p.refunded_cents AS "refundedCents", p.status::text AS status,
  p.provider_ref AS "providerRef", p.failure_code AS "failureCode", p.idempotency_key AS "idempotencyKey",
  p.provider_key AS "providerKey", p.request_hash AS "requestHash", p.response,
  p.created_at AS "createdAt", p.updated_at AS "updatedAt"`);

/** A write refused by a unique index (an idempotency key or `payment_one_live_charge_per_booking`). */
export class DuplicateKeyError extends Error {
  constructor(cause: unknown) {
    super('unique constraint violated', { cause });
    this.name = 'DuplicateKeyError';
  }
}

/** Which page of each customer's charges to read, sorted by (createdAt, id). */
export type ChargePageQuery = ParentPageQuery;

/** A payment method to store: the provider's token and the card's display details, never the card number. */
export interface NewMethod {
  customerId: string;
  providerToken: string;
  brand: string;
  last4: string;
  expMonth: number;
  expYear: number;
  isDefault: boolean;
}

/** A charge to commit as PENDING before the provider is called. */
export interface NewCharge {
  customerId: string;
  bookingId: string;
  methodId: string;
  amountCents: number;
  currency: string;
  idempotencyKey: string;
  providerKey: string;
  requestHash: string;
}

/** A refund to commit as PENDING, its amount already reserved on the charge. */
export interface NewRefund {
  transactionId: string;
  amountCents: number;
  currency: string;
  reason: string;
  idempotencyKey: string;
  providerKey: string;
  requestHash: string;
  requestedBy: string | null;
}

/** What the provider's answer changes on a PENDING charge. */
export interface ChargeSettlement {
  status: 'CAPTURED' | 'FAILED';
  providerRef?: string;
  capturedCents?: number;
  failureCode?: string;
}

/** The stored first answer of a request (JSON), returned again to its retries. */
export type StoredJson = Record<string, unknown>;

/** Failure code of a charge the provider did not answer (an outage): it may be resumed. */
export const PROVIDER_ERROR_FAILURE = 'provider_error';

const isUniqueViolation = (err: unknown) =>
  err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002';
async function translated<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (isUniqueViolation(err)) throw new DuplicateKeyError(err);
    throw err;
  }
}
/** A row that has no stored answer yet. */
const unanswered = { response: { equals: Prisma.DbNull } };

/**
 * Every database read and write of the payment feature. Writes take the transaction (`tx`) they run
 * in; single-statement writes and reads may omit it and then run on their own. Unique violations are
 * reported as `DuplicateKeyError`.
 */
export class PaymentRepository {
  constructor(private readonly db: PaymentDb) {}

  /** Runs `work` in one database transaction. */
  transaction<T>(work: (tx: PaymentTx) => Promise<T>): Promise<T> {
    return translated(this.db.$transaction(work));
  }

  // ── payment methods ────────────────────────────────────────────────────────────────────────────

  method(id: string, tx: PaymentTx = this.db): Promise<PaymentMethod | null> {
    return tx.paymentMethod.findUnique({ where: { id } });
  }

  async hasDefaultMethod(tx: PaymentTx, customerId: string): Promise<boolean> {
    return (await tx.paymentMethod.count({ where: { customerId, isDefault: true, removedAt: null } })) > 0;
  }

  async clearDefaultMethod(tx: PaymentTx, customerId: string): Promise<void> {
    await tx.paymentMethod.updateMany({ where: { customerId, isDefault: true }, data: { isDefault: false } });
  }

  createMethod(tx: PaymentTx, data: NewMethod): Promise<PaymentMethod> {
    return tx.paymentMethod.create({ data });
  }

  /** Marks the method removed and wipes its provider token. */
  removeMethod(tx: PaymentTx, id: string): Promise<PaymentMethod> {
    return tx.paymentMethod.update({
      where: { id },
      data: { removedAt: new Date(), providerToken: null, isDefault: false },
    });
  }

  makeDefaultMethod(tx: PaymentTx, id: string): Promise<PaymentMethod> {
    return tx.paymentMethod.update({ where: { id }, data: { isDefault: true } });
  }

  /** Removes every live method of a customer (tokens wiped). */
  async removeCustomerMethods(tx: PaymentTx, customerId: string): Promise<void> {
    await tx.paymentMethod.updateMany({
      where: { customerId, removedAt: null },
      data: { removedAt: new Date(), providerToken: null, isDefault: false },
    });
  }

  /** Live methods of many customers, oldest first (one statement). */
  methodsOfCustomers(customerIds: string[]): Promise<PaymentMethod[]> {
    return this.db.paymentMethod.findMany({
      where: { customerId: { in: customerIds }, removedAt: null },
      orderBy: { createdAt: 'asc' },
    });
  }

  // ── charges ────────────────────────────────────────────────────────────────────────────────────

  transactionById(id: string, tx: PaymentTx = this.db): Promise<Transaction | null> {
    return tx.transaction.findUnique({ where: { id } });
  }

  transactionByKey(customerId: string, idempotencyKey: string): Promise<Transaction | null> {
    return this.db.transaction.findUnique({
      where: { customerId_idempotencyKey: { customerId, idempotencyKey } },
    });
  }

  /** A charge and the provider token of its method (null once the method was removed). */
  async chargeToSend(id: string): Promise<{ transaction: Transaction; token: string | null }> {
    const { method, ...transaction } = await this.db.transaction.findUniqueOrThrow({
      where: { id },
      include: { method: true },
    });
    return { transaction, token: method?.providerToken ?? null };
  }

  /** The booking's charge in one of `statuses`, if any. */
  chargeOfBooking(bookingId: string, statuses: TransactionStatus[]): Promise<Transaction | null> {
    return this.db.transaction.findFirst({ where: { bookingId, status: { in: statuses } } });
  }

  /** Commits a PENDING charge; a duplicate key or a second live charge of the booking is a `DuplicateKeyError`. */
  createPendingCharge(tx: PaymentTx, data: NewCharge): Promise<Transaction> {
    return tx.transaction.create({ data: { ...data, status: 'PENDING' } });
  }

  /**
   * Puts an unanswered charge back to PENDING for this worker when it was failed by an outage or left
   * PENDING since before `staleBefore`; false when another worker has it or it is answered.
   */
  async takeOverCharge(id: string, staleBefore: Date, tx: PaymentTx = this.db): Promise<boolean> {
    const { count } = await translated(
      tx.transaction.updateMany({
        where: {
          id,
          ...unanswered,
          OR: [
            { status: 'FAILED', failureCode: PROVIDER_ERROR_FAILURE },
            { status: 'PENDING', updatedAt: { lt: staleBefore } },
          ],
        },
        data: { status: 'PENDING', failureCode: null },
      }),
    );
    return count === 1;
  }

  /** Records the provider's answer on a still PENDING, unanswered charge; false when another worker did. */
  async settleCharge(tx: PaymentTx, id: string, settlement: ChargeSettlement): Promise<boolean> {
    const { count } = await tx.transaction.updateMany({
      where: { id, status: 'PENDING', ...unanswered },
      data: settlement,
    });
    return count === 1;
  }

  async setTransactionStatus(tx: PaymentTx, id: string, status: TransactionStatus): Promise<void> {
    await tx.transaction.update({ where: { id }, data: { status } });
  }

  async storeChargeAnswer(tx: PaymentTx, id: string, answer: StoredJson): Promise<void> {
    await tx.transaction.update({ where: { id }, data: { response: answer as Prisma.InputJsonValue } });
  }

  /** Appends one step to a charge's status history. */
  async recordTransition(
    tx: PaymentTx,
    transactionId: string,
    fromStatus: TransactionStatus | null,
    toStatus: TransactionStatus,
    note?: string,
  ): Promise<void> {
    await tx.transactionEvent.create({ data: { transactionId, fromStatus, toStatus, note } });
  }

  /** Unanswered PENDING charges untouched since `staleBefore`, oldest first. */
  staleCharges(staleBefore: Date, limit: number): Promise<Transaction[]> {
    return this.db.transaction.findMany({
      where: { status: 'PENDING', ...unanswered, updatedAt: { lt: staleBefore } },
      orderBy: { updatedAt: 'asc' },
      take: limit,
    });
  }

  /** A page of each customer's charges, newest first, and each customer's total: one statement. */
  chargesOfCustomers(
    customerIds: readonly string[],
    query: ChargePageQuery,
  ): Promise<Map<string, ParentPage<Transaction>>> {
    return readParentPages(
      this.db,
      Prisma,
      {
        matching: Prisma.sql`payment_transactions WHERE customer_id = ANY(${[...customerIds]}::uuid[])`,
        parentColumn: 'customer_id',
        sortColumn: 'created_at',
        columns: TRANSACTION_COLUMNS,
        alias: 'p',
      },
      query,
    );
  }

  /** Charges by id (one statement). */
  transactionsByIds(ids: string[]): Promise<Transaction[]> {
    return this.db.transaction.findMany({ where: { id: { in: ids } } });
  }

  /** Charges of many bookings, newest first (one statement). */
  transactionsOfBookings(bookingIds: string[]): Promise<Transaction[]> {
    return this.db.$queryRaw<Transaction[]>`
      SELECT ${TRANSACTION_COLUMNS} FROM payment_transactions p
      WHERE p.booking_id = ANY(${bookingIds}::uuid[])
      ORDER BY p.created_at DESC, p.id DESC`;
  }

  // ── refunds ────────────────────────────────────────────────────────────────────────────────────

  refundById(id: string, tx: PaymentTx = this.db): Promise<Refund> {
    return tx.refund.findUniqueOrThrow({ where: { id } });
  }

  refundByKey(transactionId: string, idempotencyKey: string): Promise<Refund | null> {
    return this.db.refund.findUnique({
      where: { transactionId_idempotencyKey: { transactionId, idempotencyKey } },
    });
  }

  /**
   * Adds `amountCents` to the charge's refunded total, in one conditional statement, unless that
   * would exceed the capture (false); the CHECK constraint backs it up.
   */
  async reserveRefund(tx: PaymentTx, transactionId: string, amountCents: number): Promise<boolean> {
    const n =
      await tx.$executeRaw`UPDATE payment_transactions SET refunded_cents = refunded_cents + ${amountCents}, updated_at = now() WHERE id = ${transactionId}::uuid AND refunded_cents + ${amountCents} <= captured_cents`;
    return n === 1;
  }

  /** Gives back a reservation made by `reserveRefund` (the refund failed). */
  async releaseRefund(tx: PaymentTx, transactionId: string, amountCents: number): Promise<void> {
    await tx.$executeRaw`UPDATE payment_transactions SET refunded_cents = refunded_cents - ${amountCents}, updated_at = now() WHERE id = ${transactionId}::uuid`;
  }

  createPendingRefund(tx: PaymentTx, data: NewRefund): Promise<Refund> {
    return tx.refund.create({ data: { ...data, status: 'PENDING' } });
  }

  /**
   * Marks a PENDING refund as worked on now, when it is (with `staleBefore`: and was untouched since
   * then); false when it is no longer PENDING or a live worker touched it.
   */
  async touchPendingRefund(id: string, staleBefore: Date | null, tx: PaymentTx = this.db): Promise<boolean> {
    const stale = staleBefore ? { updatedAt: { lt: staleBefore } } : {};
    const { count } = await tx.refund.updateMany({
      where: { id, status: 'PENDING', ...stale },
      data: { updatedAt: new Date() },
    });
    return count === 1;
  }

  /** Fails a PENDING refund with its stored answer; false when another worker recorded an outcome. */
  async failPendingRefund(tx: PaymentTx, id: string, answer: StoredJson): Promise<boolean> {
    const { count } = await tx.refund.updateMany({
      where: { id, status: 'PENDING' },
      data: { status: 'FAILED', response: answer as Prisma.InputJsonValue },
    });
    return count === 1;
  }

  /** Marks a PENDING refund SUCCEEDED; false when another worker recorded an outcome. */
  async succeedPendingRefund(tx: PaymentTx, id: string, providerRef: string): Promise<boolean> {
    const { count } = await tx.refund.updateMany({
      where: { id, status: 'PENDING' },
      data: { status: 'SUCCEEDED', providerRef },
    });
    return count === 1;
  }

  async storeRefundAnswer(tx: PaymentTx, id: string, answer: StoredJson): Promise<void> {
    await tx.refund.update({ where: { id }, data: { response: answer as Prisma.InputJsonValue } });
  }

  /** PENDING refunds untouched since `staleBefore`, oldest first. */
  staleRefunds(staleBefore: Date, limit: number): Promise<Refund[]> {
    return this.db.refund.findMany({
      where: { status: 'PENDING', updatedAt: { lt: staleBefore } },
      orderBy: { updatedAt: 'asc' },
      take: limit,
    });
  }

  /** Refunds of many charges, oldest first (one statement). */
  refundsOfTransactions(transactionIds: string[]): Promise<Refund[]> {
    return this.db.refund.findMany({
      where: { transactionId: { in: transactionIds } },
      orderBy: { createdAt: 'asc' },
    });
  }

  // ── outbox and inbox ───────────────────────────────────────────────────────────────────────────

  /** Puts an event in the outbox, in the transaction that made it true. */
  readonly recordEvent = outbox.record;

  /** Records the event in the inbox; false when this consumer group handled it before. */
  readonly firstTime = outbox.firstTime;
}

/** The repository as the service sees it: fakes in unit tests implement the same shape. */
export type PaymentStore = { [K in keyof PaymentRepository]: PaymentRepository[K] };
