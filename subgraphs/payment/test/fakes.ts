import { randomUUID } from 'node:crypto';
import type { ParentPage } from '@carwash/subgraph-kit';
import { FakeEventStore, type FakeEventTables } from '@carwash/testing';
import type { PeerBooking } from '../src/peers.js';
import { ProviderDecline, ProviderUnavailable, type PaymentProvider } from '../src/provider.js';
import {
  DuplicateKeyError,
  PROVIDER_ERROR_FAILURE,
  type ChargePageQuery,
  type ChargeSettlement,
  type NewCharge,
  type NewMethod,
  type NewRefund,
  type PaymentMethod,
  type PaymentStore,
  type PaymentTx,
  type Refund,
  type StoredJson,
  type Transaction,
  type TransactionStatus,
} from '../src/repository.js';
import type { BookingLookup } from '../src/service.js';

/** The fake's transaction handle: the service only hands it back to the repository. */
const TX = {} as PaymentTx;
/** Statuses the one-live-charge-per-booking index covers (every status but FAILED). */
const LIVE: TransactionStatus[] = ['PENDING', 'AUTHORIZED', 'CAPTURED', 'PARTIALLY_REFUNDED', 'REFUNDED'];

interface State extends FakeEventTables {
  methods: Map<string, PaymentMethod>;
  transactions: Map<string, Transaction>;
  refunds: Map<string, Refund>;
  history: Array<{
    transactionId: string;
    fromStatus: TransactionStatus | null;
    toStatus: TransactionStatus;
    note?: string;
  }>;
}

const empty = (): State => ({
  methods: new Map(),
  transactions: new Map(),
  refunds: new Map(),
  history: [],
  outbox: [],
  inbox: new Set(),
});

/** `data` as a new row the database stores: a fresh id, PENDING, no provider answer yet, created now. */
function pendingRow<T extends object>(data: T) {
  const now = new Date();
  return {
    id: randomUUID(),
    ...data,
    status: 'PENDING' as const,
    providerRef: null,
    response: null,
    createdAt: now,
    updatedAt: now,
  };
}

/**
 * An in-memory payment repository with the database's guarantees the service relies on: the unique
 * keys (as `DuplicateKeyError`), the conditional updates, and a transaction that is rolled back
 * entirely when its work throws.
 */
export class FakePaymentRepository extends FakeEventStore implements PaymentStore {
  state = empty();
  protected get eventTables(): State {
    return this.state;
  }

  async transaction<T>(work: (tx: PaymentTx) => Promise<T>): Promise<T> {
    const before = structuredClone(this.state);
    try {
      return await work(TX);
    } catch (err) {
      this.state = before;
      throw err;
    }
  }

  private tx(id: string): Transaction {
    const t = this.state.transactions.get(id);
    if (!t) throw new Error(`no transaction ${id}`);
    return t;
  }

  private patchTx(id: string, patch: Partial<Transaction>): Transaction {
    const t = { ...this.tx(id), ...patch, updatedAt: new Date() };
    this.state.transactions.set(id, t);
    return t;
  }

  async method(id: string): Promise<PaymentMethod | null> {
    return this.state.methods.get(id) ?? null;
  }

  async hasDefaultMethod(_tx: PaymentTx, customerId: string): Promise<boolean> {
    return [...this.state.methods.values()].some(
      (m) => m.customerId === customerId && m.isDefault && !m.removedAt,
    );
  }

  async clearDefaultMethod(_tx: PaymentTx, customerId: string): Promise<void> {
    for (const m of this.state.methods.values())
      if (m.customerId === customerId && m.isDefault)
        this.state.methods.set(m.id, { ...m, isDefault: false });
  }

  async createMethod(_tx: PaymentTx, data: NewMethod): Promise<PaymentMethod> {
    const m: PaymentMethod = { id: randomUUID(), ...data, removedAt: null, createdAt: new Date() };
    this.state.methods.set(m.id, m);
    return m;
  }

  async removeMethod(_tx: PaymentTx, id: string): Promise<PaymentMethod> {
    const m = {
      ...this.state.methods.get(id)!,
      removedAt: new Date(),
      providerToken: null,
      isDefault: false,
    };
    this.state.methods.set(id, m);
    return m;
  }

  async makeDefaultMethod(_tx: PaymentTx, id: string): Promise<PaymentMethod> {
    const m = { ...this.state.methods.get(id)!, isDefault: true };
    this.state.methods.set(id, m);
    return m;
  }

  async removeCustomerMethods(tx: PaymentTx, customerId: string): Promise<void> {
    for (const m of this.state.methods.values())
      if (m.customerId === customerId && !m.removedAt) await this.removeMethod(tx, m.id);
  }

  async methodsOfCustomers(customerIds: string[]): Promise<PaymentMethod[]> {
    return [...this.state.methods.values()].filter((m) => customerIds.includes(m.customerId) && !m.removedAt);
  }

  async transactionById(id: string): Promise<Transaction | null> {
    return this.state.transactions.get(id) ?? null;
  }

  async transactionByKey(customerId: string, idempotencyKey: string): Promise<Transaction | null> {
    return (
      [...this.state.transactions.values()].find(
        (t) => t.customerId === customerId && t.idempotencyKey === idempotencyKey,
      ) ?? null
    );
  }

  async chargeToSend(id: string): Promise<{ transaction: Transaction; token: string | null }> {
    const transaction = this.tx(id);
    return {
      transaction,
      token: (transaction.methodId && this.state.methods.get(transaction.methodId)?.providerToken) || null,
    };
  }

  async chargeOfBooking(bookingId: string, statuses: TransactionStatus[]): Promise<Transaction | null> {
    return (
      [...this.state.transactions.values()].find(
        (t) => t.bookingId === bookingId && statuses.includes(t.status),
      ) ?? null
    );
  }

  private liveChargeOf(bookingId: string | null, except?: string): boolean {
    return [...this.state.transactions.values()].some(
      (t) => t.id !== except && t.bookingId === bookingId && LIVE.includes(t.status),
    );
  }

  async createPendingCharge(_tx: PaymentTx, data: NewCharge): Promise<Transaction> {
    if (
      (await this.transactionByKey(data.customerId, data.idempotencyKey)) ||
      this.liveChargeOf(data.bookingId)
    )
      throw new DuplicateKeyError('fake unique index');
    const t: Transaction = { ...pendingRow(data), capturedCents: 0, refundedCents: 0, failureCode: null };
    this.state.transactions.set(t.id, t);
    return t;
  }

  async takeOverCharge(id: string, staleBefore: Date): Promise<boolean> {
    const t = this.tx(id);
    const resumable =
      t.response === null &&
      ((t.status === 'FAILED' && t.failureCode === PROVIDER_ERROR_FAILURE) ||
        (t.status === 'PENDING' && t.updatedAt < staleBefore));
    if (!resumable) return false;
    if (t.status === 'FAILED' && this.liveChargeOf(t.bookingId, t.id))
      throw new DuplicateKeyError('fake unique index');
    this.patchTx(id, { status: 'PENDING', failureCode: null });
    return true;
  }

  async settleCharge(_tx: PaymentTx, id: string, settlement: ChargeSettlement): Promise<boolean> {
    const t = this.tx(id);
    if (t.status !== 'PENDING' || t.response !== null) return false;
    this.patchTx(id, settlement);
    return true;
  }

  async setTransactionStatus(_tx: PaymentTx, id: string, status: TransactionStatus): Promise<void> {
    this.patchTx(id, { status });
  }

  async storeChargeAnswer(_tx: PaymentTx, id: string, answer: StoredJson): Promise<void> {
    this.patchTx(id, { response: answer as Transaction['response'] });
  }

  async recordTransition(
    _tx: PaymentTx,
    transactionId: string,
    fromStatus: TransactionStatus | null,
    toStatus: TransactionStatus,
    note?: string,
  ): Promise<void> {
    this.state.history.push({ transactionId, fromStatus, toStatus, note });
  }

  async staleCharges(staleBefore: Date, limit: number): Promise<Transaction[]> {
    return [...this.state.transactions.values()]
      .filter((t) => t.status === 'PENDING' && t.response === null && t.updatedAt < staleBefore)
      .slice(0, limit);
  }

  async chargesOfCustomers(
    customerIds: readonly string[],
    query: ChargePageQuery,
  ): Promise<Map<string, ParentPage<Transaction>>> {
    const pages = new Map<string, ParentPage<Transaction>>();
    for (const customerId of customerIds) {
      const all = [...this.state.transactions.values()]
        .filter((t) => t.customerId === customerId)
        .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1));
      const after = query.after;
      const rest = after
        ? all.filter(
            (t) =>
              t.createdAt < after.key || (t.createdAt.getTime() === after.key.getTime() && t.id < after.id),
          )
        : all;
      if (all.length) pages.set(customerId, { rows: rest.slice(0, query.limit), totalCount: all.length });
    }
    return pages;
  }

  async transactionsByIds(ids: string[]): Promise<Transaction[]> {
    return ids.flatMap((id) => this.state.transactions.get(id) ?? []);
  }

  async transactionsOfBookings(bookingIds: string[]): Promise<Transaction[]> {
    return [...this.state.transactions.values()].filter(
      (t) => t.bookingId && bookingIds.includes(t.bookingId),
    );
  }

  async refundById(id: string): Promise<Refund> {
    const r = this.state.refunds.get(id);
    if (!r) throw new Error(`no refund ${id}`);
    return r;
  }

  async refundByKey(transactionId: string, idempotencyKey: string): Promise<Refund | null> {
    return (
      [...this.state.refunds.values()].find(
        (r) => r.transactionId === transactionId && r.idempotencyKey === idempotencyKey,
      ) ?? null
    );
  }

  async reserveRefund(_tx: PaymentTx, transactionId: string, amountCents: number): Promise<boolean> {
    const t = this.tx(transactionId);
    if (t.refundedCents + amountCents > t.capturedCents) return false;
    this.patchTx(transactionId, { refundedCents: t.refundedCents + amountCents });
    return true;
  }

  async releaseRefund(_tx: PaymentTx, transactionId: string, amountCents: number): Promise<void> {
    this.patchTx(transactionId, { refundedCents: this.tx(transactionId).refundedCents - amountCents });
  }

  async createPendingRefund(_tx: PaymentTx, data: NewRefund): Promise<Refund> {
    if (await this.refundByKey(data.transactionId, data.idempotencyKey))
      throw new DuplicateKeyError('fake unique index');
    const r: Refund = pendingRow(data);
    this.state.refunds.set(r.id, r);
    return r;
  }

  private patchRefund(id: string, patch: Partial<Refund>): void {
    this.state.refunds.set(id, { ...this.state.refunds.get(id)!, ...patch, updatedAt: new Date() });
  }

  async touchPendingRefund(id: string, staleBefore: Date | null): Promise<boolean> {
    const r = await this.refundById(id);
    if (r.status !== 'PENDING' || (staleBefore && r.updatedAt >= staleBefore)) return false;
    this.patchRefund(id, {});
    return true;
  }

  async failPendingRefund(_tx: PaymentTx, id: string, answer: StoredJson): Promise<boolean> {
    if ((await this.refundById(id)).status !== 'PENDING') return false;
    this.patchRefund(id, { status: 'FAILED', response: answer as Refund['response'] });
    return true;
  }

  async succeedPendingRefund(_tx: PaymentTx, id: string, providerRef: string): Promise<boolean> {
    if ((await this.refundById(id)).status !== 'PENDING') return false;
    this.patchRefund(id, { status: 'SUCCEEDED', providerRef });
    return true;
  }

  async storeRefundAnswer(_tx: PaymentTx, id: string, answer: StoredJson): Promise<void> {
    this.patchRefund(id, { response: answer as Refund['response'] });
  }

  async staleRefunds(staleBefore: Date, limit: number): Promise<Refund[]> {
    return [...this.state.refunds.values()]
      .filter((r) => r.status === 'PENDING' && r.updatedAt < staleBefore)
      .slice(0, limit);
  }

  async refundsOfTransactions(transactionIds: string[]): Promise<Refund[]> {
    return [...this.state.refunds.values()].filter((r) => transactionIds.includes(r.transactionId));
  }
}

/**
 * A provider that answers by token like the sandbox (tok_decline, tok_insufficient_funds,
 * tok_provider_error), at once, and counts the calls it gets.
 */
export class FakeProvider implements PaymentProvider {
  readonly charges: Array<{ token: string; amountCents: number; idempotencyKey: string }> = [];
  readonly refunds: Array<{ chargeRef: string; amountCents: number; idempotencyKey: string }> = [];
  /** While true every call fails as an outage. */
  down = false;
  /** While true refunds are declined. */
  declineRefunds = false;

  async charge(input: {
    token: string;
    amountCents: number;
    currency: string;
    idempotencyKey: string;
  }): Promise<{ ref: string }> {
    this.charges.push(input);
    if (this.down || input.token === 'tok_provider_error') throw new ProviderUnavailable();
    if (input.token === 'tok_insufficient_funds') throw new ProviderDecline('insufficient_funds');
    if (input.token === 'tok_decline') throw new ProviderDecline('card_declined');
    return { ref: `ch_${input.idempotencyKey}` };
  }

  async refund(input: {
    chargeRef: string;
    amountCents: number;
    idempotencyKey: string;
  }): Promise<{ ref: string }> {
    this.refunds.push(input);
    if (this.down) throw new ProviderUnavailable();
    if (this.declineRefunds) throw new ProviderDecline('card_declined');
    return { ref: `re_${input.idempotencyKey}` };
  }
}

const DAY_MS = 86_400_000;
/** A fake booking starts this far ahead: well before any cancellation cutoff. */
const STARTS_IN_MS = 7 * DAY_MS;
/** …and its hold lasts this long. */
const HOLD_MS = 10 * 60_000;

/** Booking's answers, set per booking by the test. */
export class FakeBookings implements BookingLookup {
  readonly bookings = new Map<string, PeerBooking>();

  /** A HELD booking of `customerId` priced `amountCents`, starting in a week. */
  hold(customerId: string, amountCents = 4200): PeerBooking {
    const b: PeerBooking = {
      id: randomUUID(),
      status: 'HELD',
      startsAt: new Date(Date.now() + STARTS_IN_MS).toISOString(),
      holdExpiresAt: new Date(Date.now() + HOLD_MS).toISOString(),
      customer: { id: customerId },
      price: { amountCents, currency: 'EUR' },
    };
    this.bookings.set(b.id, b);
    return b;
  }

  async booking(id: string): Promise<PeerBooking | null> {
    return this.bookings.get(id) ?? null;
  }
}
