import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateServiceKeys } from '@carwash/config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPaymentConfig } from '../src/config.js';
import { createDb, type PaymentDb } from '../src/db.js';
import type { BookingPeer } from '../src/peers.js';
import { SandboxProvider } from '../src/provider.js';
import { PaymentRepository } from '../src/repository.js';
import { PaymentService, type ResumeListener } from '../src/service.js';

const config = loadPaymentConfig({
  ...process.env,
  ...generateServiceKeys().envFor('payment'),
  LOG_LEVEL: 'silent',
});
/**
 * A day: the sweep looks at every stale PENDING row of the database, so these tests' rows are two days
 * old and rows other test files leave PENDING for a moment (at most an hour old) are never taken.
 */
const STALE_AFTER_MS = 86_400_000;
const ABANDONED_MS = 2 * STALE_AFTER_MS;
let db: PaymentDb;
let stop: () => Promise<void>;

beforeAll(() => {
  const created = createDb(config.PAYMENT_DATABASE_URL, 4);
  db = created.db;
  stop = async () => {
    await db.$disconnect();
    await created.pool.end();
  };
});
afterAll(async () => {
  await stop?.();
});

/** The service under test with its own sandbox; the sweep reports into `resumed`. Booking is not asked here. */
function sut(provider = new SandboxProvider(0)) {
  const resumed: Parameters<ResumeListener>[0][] = [];
  const service = new PaymentService(
    new PaymentRepository(db),
    provider,
    {} as BookingPeer,
    {
      PAYMENT_CANCEL_CUTOFF_MINUTES: 1440,
      PAYMENT_LATE_CANCEL_FEE_PERCENT: 20,
      PAYMENT_RESUME_STALE_AFTER_MS: STALE_AFTER_MS,
    },
    (r) => resumed.push(r),
  );
  return { service, provider, resumed };
}

/** A PENDING charge as a process that died right after committing it leaves it, `ageMs` ago. */
async function pendingCharge(ageMs: number) {
  const customerId = randomUUID();
  const method = await db.paymentMethod.create({
    data: {
      customerId,
      providerToken: 'tok_visa',
      brand: 'visa',
      last4: '4242',
      expMonth: 12,
      expYear: 2099,
      isDefault: true,
    },
  });
  const key = `pay-${randomUUID()}`;
  const t = await db.transaction.create({
    data: {
      customerId,
      bookingId: randomUUID(),
      methodId: method.id,
      amountCents: 4200,
      currency: 'EUR',
      status: 'PENDING',
      idempotencyKey: key,
      providerKey: `pay:${customerId}:${key}`,
      requestHash: 'h',
    },
  });
  await db.$executeRaw`UPDATE payment_transactions SET updated_at = now() - make_interval(secs => ${ageMs / 1000}) WHERE id = ${t.id}::uuid`;
  return t;
}

/** A captured charge with a PENDING full refund reserved on it, `ageMs` ago. */
async function pendingRefund(ageMs: number, provider: SandboxProvider) {
  const t = await pendingCharge(0);
  const { ref } = await provider.charge({
    token: 'tok_visa',
    amountCents: 4200,
    currency: 'EUR',
    idempotencyKey: t.providerKey,
  });
  await db.transaction.update({
    where: { id: t.id },
    data: { status: 'CAPTURED', capturedCents: 4200, refundedCents: 4200, providerRef: ref },
  });
  const r = await db.refund.create({
    data: {
      transactionId: t.id,
      amountCents: 4200,
      currency: 'EUR',
      reason: 'booking cancelled',
      status: 'PENDING',
      idempotencyKey: `booking-cancelled:${t.bookingId}`,
      providerKey: `refund:${t.id}:booking-cancelled:${t.bookingId}`,
      requestHash: 'h',
    },
  });
  await db.$executeRaw`UPDATE payment_refunds SET updated_at = now() - make_interval(secs => ${ageMs / 1000}) WHERE id = ${r.id}::uuid`;
  return { t, r, ref };
}

describe('the resume sweep', () => {
  it('captures a stale PENDING charge left by a dead process, once, and announces it', async () => {
    const { service, provider, resumed } = sut();
    const t = await pendingCharge(ABANDONED_MS);
    await service.resumeStale();
    const after = await db.transaction.findUniqueOrThrow({ where: { id: t.id } });
    expect(after).toMatchObject({ status: 'CAPTURED', capturedCents: 4200 });
    expect(after.response).not.toBeNull();
    expect(provider.charges.get(t.providerKey)?.ref).toBe(after.providerRef);
    expect(
      await db.outboxEvent.count({ where: { topic: 'payment.charge.captured', aggregateId: t.id } }),
    ).toBe(1);
    expect(resumed).toContainEqual({ kind: 'charge', id: t.id, trigger: 'sweep', outcome: 'succeeded' });
    // A second sweep finds nothing left to do.
    await service.resumeStale();
    expect(
      await db.outboxEvent.count({ where: { topic: 'payment.charge.captured', aggregateId: t.id } }),
    ).toBe(1);
  });

  it('does not charge twice when the provider had charged before the process died', async () => {
    const { service, provider } = sut();
    const t = await pendingCharge(ABANDONED_MS);
    const { ref } = await provider.charge({
      token: 'tok_visa',
      amountCents: 4200,
      currency: 'EUR',
      idempotencyKey: t.providerKey,
    });
    const chargesBefore = provider.charges.size;
    await service.resumeStale();
    expect(provider.charges.size).toBe(chargesBefore);
    expect((await db.transaction.findUniqueOrThrow({ where: { id: t.id } })).providerRef).toBe(ref);
  });

  it('leaves alone a PENDING charge a live request touched recently', async () => {
    const { service } = sut();
    const t = await pendingCharge(0);
    await service.resumeStale();
    expect((await db.transaction.findUniqueOrThrow({ where: { id: t.id } })).status).toBe('PENDING');
    await db.transaction.update({ where: { id: t.id }, data: { status: 'FAILED' } }); // not left for other tests' sweeps
  });

  it('finishes a stale PENDING refund with the provider under its stored key, moving the money once', async () => {
    const provider = new SandboxProvider(0);
    const { service, resumed } = sut(provider);
    const { t, r, ref } = await pendingRefund(ABANDONED_MS, provider);
    // The provider had already refunded before the crash: the resume must get the same refund back.
    const first = await provider.refund({ chargeRef: ref, amountCents: 4200, idempotencyKey: r.providerKey });
    const refundsBefore = provider.refunds.size;
    await service.resumeStale();
    const done = await db.refund.findUniqueOrThrow({ where: { id: r.id } });
    expect(done).toMatchObject({ status: 'SUCCEEDED', providerRef: first.ref });
    expect(provider.refunds.size).toBe(refundsBefore);
    expect(await db.transaction.findUniqueOrThrow({ where: { id: t.id } })).toMatchObject({
      status: 'REFUNDED',
      refundedCents: 4200,
    });
    expect(resumed).toContainEqual({ kind: 'refund', id: r.id, trigger: 'sweep', outcome: 'succeeded' });
  });
});

describe('the database rules of payment', () => {
  it('refuses a second live charge for one booking, but not after a failed one', async () => {
    const t = await pendingCharge(0);
    const second = (status: 'PENDING' | 'FAILED') =>
      db.transaction.create({
        data: {
          customerId: t.customerId,
          bookingId: t.bookingId,
          amountCents: 4200,
          currency: 'EUR',
          status,
          idempotencyKey: `k-${randomUUID()}`,
          providerKey: `p-${randomUUID()}`,
          requestHash: 'h',
        },
      });
    // A unique violation (payment_one_live_charge_per_booking), which the service maps to PAYMENT_ALREADY_PAID.
    await expect(second('PENDING')).rejects.toMatchObject({ code: 'P2002' });
    await db.transaction.update({ where: { id: t.id }, data: { status: 'FAILED' } });
    await expect(second('FAILED')).resolves.toBeTruthy();
    const retry = await second('PENDING');
    await db.transaction.update({ where: { id: retry.id }, data: { status: 'FAILED' } });
  });

  it('keeps idempotency keys apart per customer', async () => {
    const key = `shared-${randomUUID()}`;
    const row = (customerId: string) =>
      db.transaction.create({
        data: {
          customerId,
          bookingId: randomUUID(),
          amountCents: 100,
          currency: 'EUR',
          status: 'FAILED',
          idempotencyKey: key,
          providerKey: `p-${randomUUID()}`,
          requestHash: 'h',
        },
      });
    const alice = randomUUID();
    await row(alice);
    await expect(row(randomUUID())).resolves.toBeTruthy();
    await expect(row(alice)).rejects.toMatchObject({ code: 'P2002' });
  });
});

describe('the sandbox ledger', () => {
  it('keeps the provider idempotent per key across processes sharing its ledger file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'carwash-ledger-'));
    try {
      const file = join(dir, 'ledger.jsonl');
      const before = new SandboxProvider(0, file);
      const charge = await before.charge({
        token: 'tok_visa',
        amountCents: 4200,
        currency: 'EUR',
        idempotencyKey: 'k1',
      });
      const refund = await before.refund({ chargeRef: charge.ref, amountCents: 4200, idempotencyKey: 'r1' });
      // A restarted process reads the ledger: the same keys give the same answers and move nothing.
      const after = new SandboxProvider(0, file);
      expect(
        await after.charge({ token: 'tok_visa', amountCents: 4200, currency: 'EUR', idempotencyKey: 'k1' }),
      ).toEqual(charge);
      expect(await after.refund({ chargeRef: charge.ref, amountCents: 4200, idempotencyKey: 'r1' })).toEqual(
        refund,
      );
      expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
