import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SandboxEntry } from '@carwash/payment';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addCard, createBooking, createOpenSite, createService, siteDay } from './support/fixtures.js';
import { metricValue, scrapeMetrics } from './support/metrics.js';
import { signUpAs, startSupergraph, type Running } from './support/supergraph.js';

/**
 * The fault drill of issue 9: customers with paid bookings delete their accounts (auth.user.deleted →
 * booking cancels → booking.reservation.cancelled → payment refunds) while the payment process is
 * SIGKILLed between reserving a refund and storing the provider's answer; then payment starts again.
 * Every booking must end refunded in full, exactly once — in our tables and at the provider.
 */
const CLIENTS = 4;
const BOOKINGS_EACH = 2;
const PRICE = 4200;
/** Drill settings: a PENDING refund counts as abandoned after 300 ms; the sweep looks every 100 ms. */
const STALE_AFTER_MS = 300;
const FAST = { blockMs: 50, retryBaseMs: 100, retryMaxMs: 200 };
const PAY = `mutation($b: ID!, $m: ID!, $k: String!) { payForBooking(bookingId: $b, methodId: $m, idempotencyKey: $k) { id status } }`;

/**
 * The drill's own payment database: its sweep (which looks at every stale PENDING row) must not touch
 * the rows other test files, running at the same time, leave PENDING on purpose — nor they its rows.
 */
const drillDatabaseUrl = (() => {
  const u = new URL(
    process.env.PAYMENT_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/carwash_payment',
  );
  u.pathname = `${u.pathname}_drill`;
  return u.toString();
})();
const ROOT = fileURLToPath(new URL('..', import.meta.url));

let sg: Running;
let ledgerDir: string;
let ledger: string;
let manager: { id: string; token: string };
let siteId: string;
let serviceId: string;
let dayOffset = 10;

async function until(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** What the sandbox provider actually did, read from its ledger file (shared by every payment process). */
function providerLedger(): SandboxEntry[] {
  if (!existsSync(ledger)) return [];
  return readFileSync(ledger, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as SandboxEntry);
}

/** How many refunds payment resumed successfully so far, on this `trigger`. */
async function resumedTotal(trigger: string): Promise<number> {
  return metricValue(await scrapeMetrics(sg.paymentUrl), 'payment_resumed_operations_total', {
    kind: 'refund',
    trigger,
    outcome: 'succeeded',
  });
}

/** Clients, each with paid HELD bookings on days of their own. */
async function paidCustomers(): Promise<{
  clients: Array<{ id: string; token: string }>;
  bookings: string[];
}> {
  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => signUpAs(sg, 'CLIENT')));
  const bookings: string[] = [];
  for (const client of clients) {
    const m = await addCard(sg, client.token);
    for (let i = 0; i < BOOKINGS_EACH; i++) {
      const b = await createBooking(sg, client.token, {
        siteId,
        serviceId,
        startsAt: siteDay(dayOffset++).at('10:00'),
      });
      const paid = await sg.gql<{ payForBooking: { status: string } }>(
        PAY,
        { b, m, k: `pay-${randomUUID()}` },
        client.token,
      );
      expect(paid.data?.payForBooking.status).toBe('CAPTURED');
      bookings.push(b);
    }
  }
  return { clients, bookings };
}

/** Starts the doomed payment process and resolves once it consumes; `died` resolves with its exit signal. */
async function doomedPayment(
  killAt: 'before' | 'after',
): Promise<{ died: Promise<NodeJS.Signals | null>; output: () => string }> {
  let out = '';
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./fixtures/doomed-payment.ts', import.meta.url))],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        ...sg.keys.envFor('payment'),
        PAYMENT_DATABASE_URL: drillDatabaseUrl,
        EVENTS_NAMESPACE: sg.namespace,
        PAYMENT_SANDBOX_LEDGER_PATH: ledger,
        PAYMENT_SANDBOX_LATENCY_MS: '0',
        KILL_AT: killAt,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  child.stdout!.on('data', (d) => (out += d));
  const died = new Promise<NodeJS.Signals | null>((resolve) =>
    child.once('exit', (_code, signal) => resolve(signal)),
  );
  await until(
    () => out.includes('consuming') || child.exitCode !== null || child.signalCode !== null,
    30_000,
    'the doomed payment process to start',
  );
  return { died, output: () => out };
}

beforeAll(async () => {
  // Creates the drill database if needed and applies payment's migrations to it.
  execFileSync('pnpm', ['--silent', 'db:migrate', 'payment'], {
    cwd: ROOT,
    env: { ...process.env, PAYMENT_DATABASE_URL: drillDatabaseUrl },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  ledgerDir = mkdtempSync(join(tmpdir(), 'carwash-sandbox-'));
  ledger = join(ledgerDir, 'ledger.jsonl');
  sg = await startSupergraph({
    paymentEnv: {
      PAYMENT_DATABASE_URL: drillDatabaseUrl,
      PAYMENT_SANDBOX_LEDGER_PATH: ledger,
      PAYMENT_RESUME_STALE_AFTER_MS: String(STALE_AFTER_MS),
      PAYMENT_RESUME_SWEEP_INTERVAL_MS: '100',
    },
  });
  manager = await signUpAs(sg, 'MANAGER');
  siteId = await createOpenSite(sg, manager.token, { name: 'Crash wash', bays: 4 });
  serviceId = await createService(sg, manager.token, { name: 'Crash test', priceCents: PRICE });
});
afterAll(async () => {
  await sg?.stop();
  if (ledgerDir) rmSync(ledgerDir, { recursive: true, force: true });
});

describe('a refund lost to a crash (issue 9 fault drill)', () => {
  it.each([
    ['before the provider is asked', 'before', 'redelivery'],
    ['after the provider moved the money', 'after', 'redelivery'],
    ['after the provider moved the money, found by the sweep', 'after', 'sweep'],
  ] as const)(
    'refunds every booking in full exactly once when payment is SIGKILLed %s, then restarted (%s)',
    async (_label, killAt, resumeBy) => {
      const { clients, bookings } = await paidCustomers();
      const charges = await sg.payment.db.transaction.findMany({ where: { bookingId: { in: bookings } } });
      expect(charges.map((t) => t.status)).toEqual(bookings.map(() => 'CAPTURED'));
      const resumedBefore = await resumedTotal(resumeBy);

      const doomed = await doomedPayment(killAt);
      // The chain upstream of payment runs in this process: auth's and booking's relays, booking's consumer.
      const bookingConsumer = await sg.booking.startConsumers(FAST);
      let relaying = true;
      const relays = (async () => {
        while (relaying) {
          for (const s of [sg.auth, sg.booking, sg.payment]) while ((await s.relay.runOnce()) > 0);
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      const stopSweeper: Array<() => void> = [];
      let paymentConsumer: { stop(): Promise<void> } | undefined;
      try {
        for (const c of clients)
          expect(
            (
              await sg.gql(
                `mutation($id: ID!) { deleteUser(id: $id) { deletedUserId } }`,
                { id: c.id },
                c.token,
              )
            ).errors,
          ).toBeUndefined();

        // Payment dies with a refund reserved (PENDING, amount held) and the provider's answer not stored.
        expect(
          await Promise.race([doomed.died, new Promise((r) => setTimeout(() => r('alive'), 20_000))]),
        ).toBe('SIGKILL');
        expect(doomed.output()).toMatch(/refund refund:/);
        const pending = await sg.payment.db.refund.findMany({
          where: { transaction: { bookingId: { in: bookings } }, status: 'PENDING' },
        });
        expect(pending).toHaveLength(1);
        expect(
          (await sg.payment.db.transaction.findUniqueOrThrow({ where: { id: pending[0]!.transactionId } }))
            .refundedCents,
        ).toBe(PRICE);
        const movedBeforeRestart = providerLedger().filter(
          (e) => e.kind === 'refund' && charges.some((t) => t.providerRef === e.chargeRef),
        ).length;
        expect(movedBeforeRestart).toBe(killAt === 'after' ? 1 : 0);

        // Payment starts again on the same database and event streams.
        if (resumeBy === 'sweep') {
          stopSweeper.push(sg.payment.startSweeper());
          await until(
            async () =>
              (await sg.payment.db.refund.findUniqueOrThrow({ where: { id: pending[0]!.id } })).status !==
              'PENDING',
            10_000,
            'the sweep to resume the pending refund',
          );
          // Only the crashed refund is the sweep's: the ones the consumer makes next are not left behind.
          for (const stop of stopSweeper) stop();
        }
        paymentConsumer = await sg.payment.startConsumers(FAST);
        const settled = async () => {
          const refunds = await sg.payment.db.refund.findMany({
            where: { transaction: { bookingId: { in: bookings } } },
          });
          return refunds.length === bookings.length && refunds.every((r) => r.status !== 'PENDING');
        };
        await until(settled, 20_000, 'every booking to be refunded');
        await until(
          async () =>
            (await sg.booking.db.reservation.count({
              where: { id: { in: bookings }, status: 'CANCELLED' },
            })) === bookings.length,
          10_000,
          'every booking to be cancelled',
        );
        // Let any straggling redelivery run before counting.
        await new Promise((r) => setTimeout(r, 300));

        const refunds = await sg.payment.db.refund.findMany({
          where: { transaction: { bookingId: { in: bookings } } },
          include: { transaction: true },
        });
        expect(refunds).toHaveLength(bookings.length);
        expect(new Set(refunds.map((r) => r.transaction.bookingId))).toEqual(new Set(bookings));
        expect(refunds.every((r) => r.status === 'SUCCEEDED' && r.amountCents === PRICE)).toBe(true);
        const after = await sg.payment.db.transaction.findMany({ where: { bookingId: { in: bookings } } });
        expect(
          after.every(
            (t) => t.status === 'REFUNDED' && t.refundedCents === PRICE && t.capturedCents === PRICE,
          ),
        ).toBe(true);
        // At the provider: one refund per charge, in full — the crashed one was not paid out twice.
        const moved = providerLedger().filter(
          (e): e is Extract<SandboxEntry, { kind: 'refund' }> =>
            e.kind === 'refund' && after.some((t) => t.providerRef === e.chargeRef),
        );
        expect(moved).toHaveLength(bookings.length);
        expect(new Set(moved.map((e) => e.chargeRef)).size).toBe(bookings.length);
        expect(moved.every((e) => e.amountCents === PRICE)).toBe(true);
        expect(
          await sg.payment.db.outboxEvent.count({
            where: { topic: 'payment.refund.processed', aggregateId: { in: refunds.map((r) => r.id) } },
          }),
        ).toBe(bookings.length);
        // The metric says a pending refund was resumed, and by what.
        expect((await resumedTotal(resumeBy)) - resumedBefore).toBe(1);
      } finally {
        relaying = false;
        await relays;
        for (const stop of stopSweeper) stop();
        await paymentConsumer?.stop();
        await bookingConsumer.stop();
      }
    },
    60_000,
  );
});
