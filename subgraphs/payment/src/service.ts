import { AppError, badInput } from '@carwash/errors';
import type { EventEnvelope } from '@carwash/events';
import type { Viewer } from '@carwash/service-trust';
import {
  connection,
  fields,
  keysetCursor,
  pageSize,
  validate,
  z,
  type Connection,
  type PageArgs,
  type PageKey,
  type ParentPage,
} from '@carwash/subgraph-kit';
import type { PaymentConfig } from './config.js';
import type { PeerBooking } from './peers.js';
import { ProviderDecline, type PaymentProvider } from './provider.js';
import {
  DuplicateKeyError,
  PROVIDER_ERROR_FAILURE,
  type ChargeSettlement,
  type PaymentMethod,
  type ChargePageQuery,
  type PaymentStore,
  type PaymentTx,
  type Refund,
  type Transaction,
} from './repository.js';
import {
  answerForRepeat,
  bookingPayable,
  cancellationRefund,
  cancellationTerms,
  cardExpired,
  chargeableAmount,
  declineError,
  MAX_CENTS,
  PAID_STATES,
  refundAmount,
  replay,
  requestHash,
  settlementSteps,
  statusAfterRefund,
  type Stored,
} from './rules.js';

export type { PaymentMethod, Refund, Transaction };
export { cancellationRefund };

/** Idempotency keys: long enough not to collide by accident, short enough for the column (VARCHAR(100)). */
const KEY_MIN = 8;
const KEY_MAX = 100;
const KEY_LENGTH = `idempotencyKey must be ${KEY_MIN}–${KEY_MAX} characters`;
const idempotencyKey = z
  .string()
  .min(KEY_MIN, KEY_LENGTH)
  .max(KEY_MAX, KEY_LENGTH)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'idempotencyKey may use letters, digits and _ . : -');
/** A provider token is `tok_` and something, at most as long as its column (VARCHAR(200)). */
const TOKEN_MIN = 'tok_'.length;
const TOKEN_MAX = 200;
const MONTHS = 12;
/** Card expiry years accepted as four-digit years (an expired card is refused separately). */
const [EXP_YEAR_MIN, EXP_YEAR_MAX] = [2000, 2100];
const NOT_A_TOKEN = 'providerToken is not a provider token';
const methodInput = z.object({
  providerToken: z
    .string()
    .min(TOKEN_MIN, NOT_A_TOKEN)
    .max(TOKEN_MAX, NOT_A_TOKEN)
    .regex(/^tok_[A-Za-z0-9_]+$/, 'providerToken must be a provider token (tok_…), never a card number'),
  brand: z.enum(['visa', 'mastercard', 'amex', 'discover', 'other']),
  last4: z.string().regex(/^\d{4}$/, 'last4 must be four digits'),
  expMonth: z
    .number()
    .int()
    .min(1, `expMonth must be 1–${MONTHS}`)
    .max(MONTHS, `expMonth must be 1–${MONTHS}`),
  expYear: z
    .number()
    .int()
    .min(EXP_YEAR_MIN, 'expYear must be a four-digit year')
    .max(EXP_YEAR_MAX, 'expYear must be a four-digit year'),
  makeDefault: z.boolean().nullish(),
});
/** The longest refund reason kept (the column's length; the event's reason is cut to it too). */
const MAX_REASON_LENGTH = 500;
const reasonInput = z
  .string()
  .max(MAX_REASON_LENGTH, `reason must be at most ${MAX_REASON_LENGTH} characters`)
  .trim()
  .min(1, 'reason must not be empty');
const amountInput = z
  .number()
  .int('amountCents must be a whole number of cents')
  .positive('amountCents must be positive')
  .max(MAX_CENTS, 'amountCents is too large');

/** How long a request waits for the answer of a concurrent request with the same key before PAYMENT_IN_PROGRESS. */
const AWAIT_ANSWER_MS = 15_000;
/** How often it looks for that answer meanwhile. */
const AWAIT_POLL_MS = 25;
/** A request meeting a key being claimed concurrently looks again this many times before waiting for its answer. */
const CLAIM_ATTEMPTS = 2;
/** Stale PENDING rows one sweep resumes at most (the next sweep takes the rest). */
const SWEEP_BATCH = 100;
/** `User.transactions` pages on (createdAt, id), newest first. */
const CHARGES_CURSOR = keysetCursor('payment.customerCharges', 'time');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isManager = (v: Viewer | null) => v?.role === 'MANAGER' || v?.role === 'ADMIN';

/** A transaction's fields as returned to clients: the stored snapshot has exactly these (and `createdAt`). */
const TRANSACTION_FIELDS = [
  'id',
  'customerId',
  'bookingId',
  'methodId',
  'amountCents',
  'currency',
  'capturedCents',
  'refundedCents',
  'status',
  'failureCode',
] as const satisfies readonly (keyof Transaction)[];
/** A refund's fields as returned to clients (and `createdAt`). */
const REFUND_FIELDS = [
  'id',
  'transactionId',
  'amountCents',
  'currency',
  'reason',
  'status',
] as const satisfies readonly (keyof Refund)[];

/** The named fields of a row, and its `createdAt` as ISO text: what is stored as a first answer (JSON). */
function snapshotOf<T extends { createdAt: Date }, K extends keyof T>(
  row: T,
  fields: readonly K[],
): Pick<T, K> & { createdAt: string } {
  const picked = Object.fromEntries(fields.map((field) => [field, row[field]])) as Pick<T, K>;
  return { ...picked, createdAt: row.createdAt.toISOString() };
}

const snapshot = (t: Transaction) => snapshotOf(t, TRANSACTION_FIELDS);
const refundSnapshot = (r: Refund) => snapshotOf(r, REFUND_FIELDS);

/** A transaction as payForBooking answers, and stores as its first answer: the row's fields, createdAt as ISO text. */
export type TransactionSnapshot = ReturnType<typeof snapshot>;
/** A refund as `refund` answers, and stores as its first answer. */
export type RefundSnapshot = ReturnType<typeof refundSnapshot>;
/** What Transaction's resolvers get as parent (codegen.ts maps the type to it): a row or a stored answer. */
export type TransactionParent = Transaction | TransactionSnapshot;
/** What Refund's resolvers get as parent: a row or a stored answer. */
export type RefundParent = Refund | RefundSnapshot;

type Settings = Pick<
  PaymentConfig,
  'PAYMENT_CANCEL_CUTOFF_MINUTES' | 'PAYMENT_LATE_CANCEL_FEE_PERCENT' | 'PAYMENT_RESUME_STALE_AFTER_MS'
>;

/** What payment asks of the booking feature: the booking's owner, state and price snapshot. */
export interface BookingLookup {
  booking(id: string, requestId?: string): Promise<PeerBooking | null>;
}

/** What started the resumption of a PENDING operation. */
export type ResumeTrigger = 'sweep' | 'redelivery' | 'retry';
/** How a resumed operation ended: `unavailable` means the provider did not answer; it stays PENDING for the next try. */
export type ResumeOutcome = 'succeeded' | 'failed' | 'unavailable';
/** Told of every PENDING charge or refund resumed after its first worker went away (metrics and logs). */
export type ResumeListener = (r: {
  kind: 'charge' | 'refund';
  id: string;
  trigger: ResumeTrigger;
  outcome: ResumeOutcome;
}) => void;

/** The request's batched reads the query side of the service goes through (its DataLoaders). */
export interface PaymentReads {
  customerCharges: { load(key: PageKey<ChargePageQuery>): Promise<ParentPage<Transaction>> };
}

/** The payment feature's rules: methods, idempotent charges and refunds, the cancellation policy. */
export class PaymentService {
  constructor(
    private readonly repo: PaymentStore,
    private readonly provider: PaymentProvider,
    private readonly booking: BookingLookup,
    private readonly settings: Settings,
    private readonly onResumed: ResumeListener = () => {},
  ) {}

  async addMethod(viewer: Viewer, raw: unknown): Promise<PaymentMethod> {
    const input = validate(methodInput, raw, 'input');
    if (cardExpired(input.expYear, input.expMonth, new Date()))
      throw badInput('input.expYear', 'the card has expired');
    return this.repo.transaction(async (tx) => {
      const makeDefault =
        input.makeDefault === true || !(await this.repo.hasDefaultMethod(tx, viewer.userId));
      if (makeDefault) await this.repo.clearDefaultMethod(tx, viewer.userId);
      return this.repo.createMethod(tx, {
        customerId: viewer.userId,
        providerToken: input.providerToken,
        brand: input.brand,
        last4: input.last4,
        expMonth: input.expMonth,
        expYear: input.expYear,
        isDefault: makeDefault,
      });
    });
  }

  /**
   * A method the viewer may change: their own, or any as an admin. Managers read customers' methods
   * but never change them (FORBIDDEN); to a client, someone else's method is as unknown as a missing one.
   */
  private async ownMethod(tx: PaymentTx, viewer: Viewer, methodId: string): Promise<PaymentMethod> {
    const m = await this.repo.method(methodId, tx);
    if (!m || m.removedAt) throw new AppError('PAYMENT_METHOD_UNUSABLE', { field: 'id' });
    if (m.customerId === viewer.userId || viewer.role === 'ADMIN') return m;
    if (isManager(viewer))
      throw new AppError('FORBIDDEN', {
        message: 'Only the card holder (or an admin) may change a payment method.',
      });
    throw new AppError('PAYMENT_METHOD_UNUSABLE', { field: 'id' });
  }

  async removeMethod(viewer: Viewer, rawId: unknown): Promise<PaymentMethod> {
    const methodId = validate(fields.uuid(), rawId, 'id');
    return this.repo.transaction(async (tx) => {
      await this.ownMethod(tx, viewer, methodId);
      return this.repo.removeMethod(tx, methodId);
    });
  }

  async setDefault(viewer: Viewer, rawId: unknown): Promise<PaymentMethod> {
    const methodId = validate(fields.uuid(), rawId, 'id');
    return this.repo.transaction(async (tx) => {
      const m = await this.ownMethod(tx, viewer, methodId);
      await this.repo.clearDefaultMethod(tx, m.customerId);
      return this.repo.makeDefaultMethod(tx, methodId);
    });
  }

  /**
   * `User.transactions`: one page of a customer's charges, newest first. Read through the request's
   * loader, so the charges of every user in a response cost one statement.
   */
  async transactionsOf(
    reads: PaymentReads,
    customerId: string,
    args: PageArgs,
  ): Promise<Connection<Transaction>> {
    const first = pageSize(args.first);
    const after = CHARGES_CURSOR.decode(args.after) ?? null;
    const page = await reads.customerCharges.load({
      parentId: customerId,
      args: { after, limit: first + 1 },
    });
    return connection(page.rows, first, page.totalCount, (t) =>
      CHARGES_CURSOR.encode({ key: t.createdAt, id: t.id }),
    );
  }

  /**
   * Charges the booking's price snapshot (asked of booking, never taken from the client) once per
   * idempotency key. The first request with a key inserts the PENDING transaction under that key,
   * unique per customer; concurrent requests with the same key wait for its stored answer and return it
   * verbatim; a key reused with other parameters is refused. The PENDING row is committed before the
   * provider is called, and the database keeps one live charge per booking, so a second charge with
   * another key is refused (PAYMENT_ALREADY_PAID) without reaching the provider. The provider gets a
   * key stored on the row, so a retry after a crash resumes without a second charge.
   */
  async payForBooking(
    viewer: Viewer,
    rawBookingId: unknown,
    rawMethodId: unknown,
    rawKey: unknown,
    requestId?: string,
  ): Promise<TransactionSnapshot> {
    const bookingId = validate(fields.uuid(), rawBookingId, 'bookingId');
    const methodId = validate(fields.uuid(), rawMethodId, 'methodId');
    const key = validate(idempotencyKey, rawKey, 'idempotencyKey');
    const hash = requestHash(['pay', viewer.userId, bookingId, methodId]);

    for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
      const existing = await this.repo.transactionByKey(viewer.userId, key);
      if (existing) {
        const answer = answerForRepeat<TransactionSnapshot>(existing, hash);
        if (answer) return answer;
        const resuming = existing.status === 'PENDING';
        if (!(await this.takeOver(existing))) return this.awaitAnswer(viewer.userId, key);
        return resuming ? this.resumedCharge(existing.id, 'retry') : this.charge(existing.id);
      }
      // Checks before claiming the key: their failures are not stored, so a corrected retry may reuse it.
      const [booking, method] = await Promise.all([
        this.booking.booking(bookingId, requestId),
        this.repo.method(methodId),
      ]);
      if (!bookingPayable(booking, viewer.userId, new Date()))
        throw new AppError('PAYMENT_BOOKING_NOT_PAYABLE', { field: 'bookingId' });
      if (!method || method.removedAt || method.customerId !== viewer.userId || !method.providerToken)
        throw new AppError('PAYMENT_METHOD_UNUSABLE', { field: 'methodId' });
      const { amountCents, currency } = booking!.price;
      if (!chargeableAmount(amountCents))
        throw new AppError('PAYMENT_BOOKING_NOT_PAYABLE', {
          message: 'The booking has no payable amount.',
          field: 'bookingId',
        });
      let created: Transaction;
      try {
        created = await this.repo.transaction(async (tx) => {
          // The provider key names the customer too: the provider never meets one customer's key under another's.
          const t = await this.repo.createPendingCharge(tx, {
            customerId: viewer.userId,
            bookingId,
            methodId,
            amountCents,
            currency,
            idempotencyKey: key,
            providerKey: `pay:${viewer.userId}:${key}`,
            requestHash: hash,
          });
          await this.repo.recordTransition(tx, t.id, null, 'PENDING');
          return t;
        });
      } catch (err) {
        if (!(err instanceof DuplicateKeyError)) throw err;
        // Another request with this key got there first: answer as it does.
        if (await this.repo.transactionByKey(viewer.userId, key)) continue;
        // Otherwise the booking already has a live charge (payment_one_live_charge_per_booking).
        throw new AppError('PAYMENT_ALREADY_PAID', { field: 'bookingId' });
      }
      return this.charge(created.id);
    }
    return this.awaitAnswer(viewer.userId, key);
  }

  /**
   * A PENDING transaction whose request died (stale), or one a provider outage failed, may be resumed;
   * the conditional update lets one worker take it. Putting a failed charge back to PENDING is refused
   * by the one-live-charge index when the booking was paid meanwhile under another key.
   */
  private async takeOver(t: Transaction): Promise<boolean> {
    try {
      return await this.repo.takeOverCharge(
        t.id,
        new Date(Date.now() - this.settings.PAYMENT_RESUME_STALE_AFTER_MS),
      );
    } catch (err) {
      if (err instanceof DuplicateKeyError)
        throw new AppError('PAYMENT_ALREADY_PAID', { field: 'bookingId' });
      throw err;
    }
  }

  /** Finishes a PENDING charge whose worker went away, and reports how it ended. */
  private async resumedCharge(transactionId: string, trigger: ResumeTrigger): Promise<TransactionSnapshot> {
    try {
      const answer = await this.charge(transactionId);
      this.onResumed({ kind: 'charge', id: transactionId, trigger, outcome: 'succeeded' });
      return answer;
    } catch (err) {
      const outcome: ResumeOutcome =
        err instanceof AppError && err.code === 'PAYMENT_PROVIDER_ERROR' ? 'unavailable' : 'failed';
      this.onResumed({ kind: 'charge', id: transactionId, trigger, outcome });
      throw err;
    }
  }

  private async awaitAnswer(customerId: string, key: string): Promise<TransactionSnapshot> {
    const until = Date.now() + AWAIT_ANSWER_MS;
    while (Date.now() < until) {
      const t = await this.repo.transactionByKey(customerId, key);
      if (t?.response) return replay(t.response as Stored<TransactionSnapshot>);
      if (t?.status === 'FAILED' && t.failureCode === PROVIDER_ERROR_FAILURE)
        throw new AppError('PAYMENT_PROVIDER_ERROR');
      await sleep(AWAIT_POLL_MS);
    }
    throw new AppError('PAYMENT_IN_PROGRESS', { field: 'idempotencyKey' });
  }

  /** Sends the charge to the provider under its stored key and records the outcome. */
  private async charge(transactionId: string): Promise<TransactionSnapshot> {
    const { transaction: t, token } = await this.repo.chargeToSend(transactionId);
    let ref: string;
    try {
      ({ ref } = await this.provider.charge({
        token: token ?? '',
        amountCents: t.amountCents,
        currency: t.currency,
        idempotencyKey: t.providerKey,
      }));
    } catch (err) {
      if (err instanceof ProviderDecline) {
        const code = declineError(err.code);
        await this.finish(t, { status: 'FAILED', failureCode: err.code }, { error: { code } });
        throw new AppError(code);
      }
      // An outage: no answer is stored, so a retry with the same key tries again.
      await this.repo.transaction(async (tx) => {
        if (await this.repo.settleCharge(tx, t.id, { status: 'FAILED', failureCode: PROVIDER_ERROR_FAILURE }))
          await this.repo.recordTransition(tx, t.id, 'PENDING', 'FAILED', 'provider error');
      });
      throw new AppError('PAYMENT_PROVIDER_ERROR', { cause: err });
    }
    return replay(
      await this.finish(t, { status: 'CAPTURED', providerRef: ref, capturedCents: t.amountCents }, null),
    );
  }

  /**
   * Records the outcome, its status history, the stored answer and (on capture) the event — once: a
   * second worker that resumed the same charge (the provider gave it the same answer) finds the answer
   * stored and returns it. Returns the answer that stands.
   */
  private async finish(
    t: Transaction,
    settlement: ChargeSettlement,
    stored: Stored<TransactionSnapshot> | null,
  ): Promise<Stored<TransactionSnapshot>> {
    return this.repo.transaction(async (tx) => {
      if (!(await this.repo.settleCharge(tx, t.id, settlement))) {
        const now = await this.repo.transactionById(t.id, tx);
        // Settled without an answer: the other worker met a provider outage (see `charge`).
        return now?.response
          ? (now.response as Stored<TransactionSnapshot>)
          : { error: { code: 'PAYMENT_PROVIDER_ERROR' } };
      }
      for (const [from, to] of settlementSteps(settlement.status))
        await this.repo.recordTransition(tx, t.id, from, to);
      const updated = (await this.repo.transactionById(t.id, tx))!;
      const answer: Stored<TransactionSnapshot> = stored ?? { ok: snapshot(updated) };
      await this.repo.storeChargeAnswer(tx, t.id, answer);
      if (settlement.status === 'CAPTURED') {
        await this.repo.recordEvent(tx, 'payment.charge.captured', t.id, {
          transactionId: t.id,
          reservationId: t.bookingId ?? t.id,
          customerId: t.customerId,
          amountCents: t.amountCents,
          currency: t.currency,
        });
      }
      return answer;
    });
  }

  /**
   * Refunds part or all of a captured charge, once per idempotency key (unique per charge). The amount
   * is reserved with a single conditional UPDATE (`refunded + amount <= captured`) in the transaction
   * that commits the PENDING refund, so two racing refunds can never exceed the capture; a CHECK
   * constraint backs it up. The provider gets the refund's stored key, so the same request again — a
   * retry, a redelivered event, the sweep — resumes a PENDING refund without moving money twice. A
   * decline releases the reservation; an outage leaves the refund PENDING to be resumed.
   */
  async refund(
    requestedBy: string | null,
    rawTransactionId: unknown,
    rawAmount: unknown,
    rawReason: unknown,
    rawKey: unknown,
    currency?: string | null,
  ): Promise<RefundSnapshot> {
    const transactionId = validate(fields.uuid(), rawTransactionId, 'transactionId');
    const key = validate(idempotencyKey, rawKey, 'idempotencyKey');
    const reason = validate(reasonInput, rawReason, 'reason');
    const amountArg = rawAmount == null ? null : validate(amountInput, rawAmount, 'amountCents');
    const hash = requestHash(['refund', transactionId, amountArg, reason]);

    const existing = await this.repo.refundByKey(transactionId, key);
    if (existing) return this.again(existing, hash);
    let reserved: Refund;
    try {
      reserved = await this.repo.transaction(async (tx) => {
        const t = await this.repo.transactionById(transactionId, tx);
        if (!t) throw new AppError('NOT_FOUND', { message: 'No such transaction.', field: 'transactionId' });
        if (currency != null && currency !== t.currency)
          throw badInput('currency', `the charge is in ${t.currency}`);
        const amount = refundAmount(t, amountArg);
        if (!(await this.repo.reserveRefund(tx, transactionId, amount)))
          throw new AppError('PAYMENT_REFUND_EXCEEDS_CAPTURED', { field: 'amountCents' });
        return this.repo.createPendingRefund(tx, {
          transactionId,
          amountCents: amount,
          currency: t.currency,
          reason,
          idempotencyKey: key,
          providerKey: `refund:${transactionId}:${key}`,
          requestHash: hash,
          requestedBy,
        });
      });
    } catch (err) {
      if (!(err instanceof DuplicateKeyError)) throw err;
      // Another request with this key got there first (its row is committed): answer as it does.
      return this.again((await this.repo.refundByKey(transactionId, key))!, hash);
    }
    return (await this.completeRefund(reserved)).answer;
  }

  /** A refund request seen before: its stored answer, or — still PENDING — resumed with the provider. */
  private async again(existing: Refund, hash: string): Promise<RefundSnapshot> {
    return answerForRepeat<RefundSnapshot>(existing, hash) ?? this.resumeRefund(existing, 'retry');
  }

  /**
   * Resumes a PENDING refund with the provider under its stored key. The provider answers a repeated
   * key with its first result, and completion is conditional on the row still being PENDING, so two
   * workers resuming one refund (a retry racing the sweep) move money once and record it once.
   * `onlyIfStale` (the sweep) leaves alone a refund a live worker touched recently.
   */
  private async resumeRefund(
    r: Refund,
    trigger: ResumeTrigger,
    onlyIfStale = false,
  ): Promise<RefundSnapshot> {
    const staleBefore = onlyIfStale
      ? new Date(Date.now() - this.settings.PAYMENT_RESUME_STALE_AFTER_MS)
      : null;
    if (!(await this.repo.touchPendingRefund(r.id, staleBefore))) {
      const now = await this.repo.refundById(r.id);
      if (now.response) return replay(now.response as Stored<RefundSnapshot>);
      throw new AppError('PAYMENT_IN_PROGRESS', { field: 'idempotencyKey' });
    }
    try {
      const { answer, recorded } = await this.completeRefund(r);
      // Counted once: by the worker that recorded the outcome, not by one that found it recorded.
      if (recorded) this.onResumed({ kind: 'refund', id: r.id, trigger, outcome: 'succeeded' });
      return answer;
    } catch (err) {
      this.onResumed({
        kind: 'refund',
        id: r.id,
        trigger,
        outcome: err instanceof AppError && err.code === 'PAYMENT_PROVIDER_ERROR' ? 'unavailable' : 'failed',
      });
      throw err;
    }
  }

  /** Asks the provider for a reserved (PENDING) refund and records its answer, once (`recorded`: by this call). */
  private async completeRefund(refund: Refund): Promise<{ answer: RefundSnapshot; recorded: boolean }> {
    const t = await this.repo.transactionById(refund.transactionId);
    if (!t) throw new Error(`refund ${refund.id} has no transaction`);
    let ref: string;
    try {
      ({ ref } = await this.provider.refund({
        chargeRef: t.providerRef ?? '',
        amountCents: refund.amountCents,
        idempotencyKey: refund.providerKey,
      }));
    } catch (err) {
      if (!(err instanceof ProviderDecline)) {
        // An outage: nothing is known to have happened. The refund stays PENDING with its amount
        // reserved; a retry with the same key, a redelivered event or the sweep asks again.
        throw new AppError('PAYMENT_PROVIDER_ERROR', { cause: err });
      }
      const failed: Stored = { error: { code: 'PAYMENT_PROVIDER_ERROR' } };
      await this.repo.transaction(async (tx) => {
        // The reservation is released once, by whoever recorded the failure.
        if (await this.repo.failPendingRefund(tx, refund.id, failed))
          await this.repo.releaseRefund(tx, t.id, refund.amountCents);
      });
      const now = await this.repo.refundById(refund.id);
      return { answer: replay(now.response as Stored<RefundSnapshot>), recorded: false };
    }
    return this.repo.transaction(async (tx) => {
      const recorded = await this.repo.succeedPendingRefund(tx, refund.id, ref);
      const done = await this.repo.refundById(refund.id, tx);
      // Another worker recorded this refund first (the provider gave both the same answer).
      if (!recorded)
        return {
          answer: done.response ? replay(done.response as Stored<RefundSnapshot>) : refundSnapshot(done),
          recorded: false,
        };
      const after = (await this.repo.transactionById(t.id, tx))!;
      const status = statusAfterRefund(after.capturedCents, after.refundedCents);
      if (status !== after.status) {
        await this.repo.setTransactionStatus(tx, t.id, status);
        await this.repo.recordTransition(tx, t.id, after.status, status, `refund ${refund.id}`);
      }
      const answer = refundSnapshot(done);
      await this.repo.storeRefundAnswer(tx, refund.id, { ok: answer });
      await this.repo.recordEvent(tx, 'payment.refund.processed', refund.id, {
        refundId: refund.id,
        transactionId: t.id,
        reservationId: t.bookingId,
        amountCents: refund.amountCents,
        currency: refund.currency,
      });
      return { answer, recorded: true };
    });
  }

  /**
   * The sweep: charges and refunds left PENDING longer than `PAYMENT_RESUME_STALE_AFTER_MS` — their
   * process died between reserving and storing the provider's answer — are resumed with the provider
   * under their stored keys, so each ends SUCCEEDED/CAPTURED or FAILED. Returns how many it resumed.
   */
  async resumeStale(): Promise<{ charges: number; refunds: number }> {
    const staleBefore = new Date(Date.now() - this.settings.PAYMENT_RESUME_STALE_AFTER_MS);
    let charges = 0;
    let refunds = 0;
    for (const t of await this.repo.staleCharges(staleBefore, SWEEP_BATCH)) {
      if (!(await this.takeOver(t).catch(() => false))) continue;
      charges += 1;
      await this.resumedCharge(t.id, 'sweep').catch(() => undefined); // the outcome is reported by resumedCharge
    }
    for (const r of await this.repo.staleRefunds(staleBefore, SWEEP_BATCH)) {
      try {
        await this.resumeRefund(r, 'sweep', true);
        refunds += 1;
      } catch (err) {
        if (err instanceof AppError && err.code === 'PAYMENT_IN_PROGRESS') continue; // a live worker has it
        refunds += 1; // resumed, and its outcome (failed or unavailable) reported
      }
    }
    return { charges, refunds };
  }

  /**
   * `booking.reservation.cancelled`: refund by the cancellation policy — in full when the system
   * cancelled (deleted customer, closed site) or the customer cancelled before the cutoff, else minus
   * the late fee. The refund's idempotency key is derived from the booking and looked up first: a
   * redelivered event finds the refund it started — and resumes it if its process died before the
   * provider's answer was stored — instead of computing what is left to refund (nothing: the amount is
   * already reserved).
   */
  async handleBookingCancelled(event: EventEnvelope<'booking.reservation.cancelled'>): Promise<void> {
    const { reservationId, cancelledBy, customerId, startsAt } = event.payload;
    const t = await this.repo.chargeOfBooking(reservationId, [...PAID_STATES]);
    if (!t) return;
    const key = `booking-cancelled:${reservationId}`;
    const started = await this.repo.refundByKey(t.id, key);
    if (started) {
      if (started.status === 'PENDING') await this.resumeRefund(started, 'redelivery');
      return;
    }
    const amount = cancellationRefund({
      capturedCents: t.capturedCents,
      refundedCents: t.refundedCents,
      ...cancellationTerms(
        { cancelledBy, customerId, startsAt, occurredAt: event.occurredAt },
        this.settings.PAYMENT_CANCEL_CUTOFF_MINUTES,
      ),
      feePercent: this.settings.PAYMENT_LATE_CANCEL_FEE_PERCENT,
    });
    if (amount <= 0) return;
    try {
      await this.refund(
        null,
        t.id,
        amount,
        `booking cancelled: ${event.payload.reason}`.slice(0, MAX_REASON_LENGTH),
        key,
      );
    } catch (err) {
      // Already refunded in full by another path (e.g. a manager): nothing to do.
      if (
        err instanceof AppError &&
        (err.code === 'PAYMENT_IDEMPOTENCY_MISMATCH' ||
          err.code === 'PAYMENT_REFUND_EXCEEDS_CAPTURED' ||
          err.code === 'PAYMENT_NOT_REFUNDABLE')
      )
        return;
      throw err;
    }
  }

  /** `auth.user.deleted`: the user's payment methods are detached (tokens wiped). Refunds follow the bookings' cancellations. */
  async handleUserDeleted(event: EventEnvelope<'auth.user.deleted'>): Promise<void> {
    await this.repo.transaction(async (tx) => {
      if (!(await this.repo.firstTime(tx, event))) return;
      await this.repo.removeCustomerMethods(tx, event.payload.userId);
    });
  }
}
