/**
 * The proof that a drill lost nothing and did nothing twice, read from the drill's own databases and
 * the sandbox provider's ledger once the supergraph has settled:
 *  - every booking the API accepted is in booking's table;
 *  - every payment the API reported captured is one captured charge in payment's ledger and one charge
 *    at the provider (and the provider charged nothing payment does not know of);
 *  - every captured charge announced `payment.charge.captured` once, booking applied it once (its
 *    inbox row, the booking CONFIRMED by exactly one history row), and nothing was refunded;
 *  - every outbox row of the four features was relayed, and no charge is left PENDING.
 */
import { readFileSync, existsSync } from 'node:fs';
import pg from 'pg';
import type { Feature } from '../services.js';

/** The drill harness's own connections carry this name, so the PostgreSQL drill spares them. */
export const AUDIT_APPLICATION_NAME = 'bench-faults-audit';
/** Charges that took the customer's money (PENDING and FAILED did not). */
const PAID = ['CAPTURED', 'PARTIALLY_REFUNDED', 'REFUNDED'];

export interface Finding {
  /** The drill phase the booking was made in (or `run` for what belongs to none). */
  phase: string;
  kind: 'lost' | 'duplicated';
  what: string;
  id: string;
}

export interface AuditInput {
  customerIds: string[];
  /** Booking id → phase, for every booking the API accepted. */
  accepted: Map<string, string>;
  /** Bookings whose payment the API reported CAPTURED. */
  captured: Set<string>;
  ledgerPath: string;
  /** Rows older than this are a previous run's. */
  since: Date;
  /** The phase a booking made at this time (epoch ms) belongs to. */
  phaseAt(ms: number): string;
}

interface LedgerCharge {
  kind: 'charge' | 'refund';
  key: string;
  ref: string;
}

export interface Audit {
  pools: Record<Feature, pg.Pool>;
  /** True once nothing is in flight: no PENDING charge, every outbox row relayed, every capture applied. */
  settled(input: AuditInput): Promise<boolean>;
  findings(input: AuditInput): Promise<Finding[]>;
  close(): Promise<void>;
}

export function openAudit(databaseUrls: Record<Feature, string>): Audit {
  const pools = Object.fromEntries(
    Object.entries(databaseUrls).map(([f, url]) => [
      f,
      new pg.Pool({ connectionString: url, max: 2, application_name: AUDIT_APPLICATION_NAME }),
    ]),
  ) as Record<Feature, pg.Pool>;
  for (const pool of Object.values(pools)) pool.on('error', () => undefined);

  const unrelayed = async (since: Date) => {
    const counts = await Promise.all(
      (Object.keys(pools) as Feature[]).map(async (f) => {
        const { rows } = await pools[f].query<{ n: number }>(
          `SELECT count(*)::int AS n FROM ${f}_outbox WHERE published_at IS NULL AND occurred_at >= $1`,
          [since],
        );
        return [f, rows[0]!.n] as const;
      }),
    );
    return counts.filter(([, n]) => n > 0);
  };
  const charges = (customerIds: string[]) =>
    pools.payment.query<{
      id: string;
      booking_id: string;
      status: string;
      provider_ref: string | null;
      provider_key: string;
    }>(
      `SELECT id, booking_id, status, provider_ref, provider_key FROM payment_transactions
        WHERE customer_id = ANY($1::uuid[])`,
      [customerIds],
    );

  return {
    pools,
    settled: async ({ customerIds, since }) => {
      const { rows } = await charges(customerIds);
      if (rows.some((t) => t.status === 'PENDING')) return false;
      if ((await unrelayed(since)).length > 0) return false;
      const paid = rows.filter((t) => PAID.includes(t.status)).map((t) => t.booking_id);
      const { rows: confirmed } = await pools.booking.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM booking_reservations WHERE id = ANY($1::uuid[]) AND status = 'CONFIRMED'`,
        [paid],
      );
      return confirmed[0]!.n === paid.length;
    },
    findings: async (input) => {
      const out: Finding[] = [];
      const { rows: reservations } = await pools.booking.query<{
        id: string;
        status: string;
        created_at: Date;
      }>(`SELECT id, status, created_at FROM booking_reservations WHERE customer_id = ANY($1::uuid[])`, [
        input.customerIds,
      ]);
      const byId = new Map(reservations.map((r) => [r.id, r]));
      const phaseOf = (bookingId: string) =>
        input.accepted.get(bookingId) ??
        (byId.get(bookingId) ? input.phaseAt(byId.get(bookingId)!.created_at.getTime()) : 'run');
      const add = (kind: Finding['kind'], what: string, id: string, phase = phaseOf(id)) =>
        out.push({ phase, kind, what, id });

      for (const id of input.accepted.keys())
        if (!byId.has(id)) add('lost', 'accepted booking missing from the booking database', id);

      const { rows: txs } = await charges(input.customerIds);
      const paidByBooking = new Map<string, typeof txs>();
      for (const t of txs) {
        if (t.status === 'PENDING') add('lost', 'charge left PENDING (never settled)', t.booking_id);
        if (!PAID.includes(t.status)) continue;
        paidByBooking.set(t.booking_id, [...(paidByBooking.get(t.booking_id) ?? []), t]);
      }
      for (const id of input.captured)
        if (!paidByBooking.has(id)) add('lost', 'payment reported CAPTURED but no paid charge', id);
      for (const [id, list] of paidByBooking)
        if (list.length > 1) add('duplicated', `${list.length} paid charges for one booking`, id);

      // The provider's side: one charge per paid transaction, none it did not record.
      const ledger: LedgerCharge[] = existsSync(input.ledgerPath)
        ? readFileSync(input.ledgerPath, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as LedgerCharge)
        : [];
      const ours = (key: string) => input.customerIds.some((c) => key.startsWith(`pay:${c}:`));
      const ledgerCharges = ledger.filter((e) => e.kind === 'charge' && ours(e.key));
      const byKey = new Map(txs.map((t) => [t.provider_key, t]));
      const movedPerBooking = new Map<string, number>();
      for (const e of ledgerCharges) {
        const t = byKey.get(e.key);
        if (!t || !PAID.includes(t.status) || t.provider_ref !== e.ref) {
          add('lost', 'the provider charged, payment has no paid charge for it', t?.booking_id ?? e.key);
          continue;
        }
        movedPerBooking.set(t.booking_id, (movedPerBooking.get(t.booking_id) ?? 0) + 1);
      }
      for (const id of paidByBooking.keys()) {
        const moved = movedPerBooking.get(id) ?? 0;
        if (moved === 0) add('lost', 'paid charge unknown to the provider', id);
        if (moved > 1) add('duplicated', `the provider charged ${moved} times for one booking`, id);
      }

      // The event chain: captured → announced once → applied once by booking.
      const paidTxs = [...paidByBooking.values()].flat();
      const { rows: announced } = await pools.payment.query<{ id: string; aggregate_id: string }>(
        `SELECT id, aggregate_id FROM payment_outbox
          WHERE topic = 'payment.charge.captured' AND aggregate_id = ANY($1::uuid[])`,
        [paidTxs.map((t) => t.id)],
      );
      const eventsOf = new Map<string, string[]>();
      for (const e of announced)
        eventsOf.set(e.aggregate_id, [...(eventsOf.get(e.aggregate_id) ?? []), e.id]);
      const { rows: applied } = await pools.booking.query<{ event_id: string }>(
        `SELECT event_id FROM booking_inbox WHERE consumer = 'booking' AND event_id = ANY($1::uuid[])`,
        [announced.map((e) => e.id)],
      );
      const appliedIds = new Set(applied.map((r) => r.event_id));
      const { rows: confirmations } = await pools.booking.query<{ reservation_id: string; n: number }>(
        `SELECT reservation_id, count(*)::int AS n FROM booking_history
          WHERE to_status = 'CONFIRMED' AND reservation_id = ANY($1::uuid[]) GROUP BY reservation_id`,
        [[...paidByBooking.keys()]],
      );
      const confirmedTimes = new Map(confirmations.map((r) => [r.reservation_id, r.n]));
      for (const t of paidTxs) {
        const events = eventsOf.get(t.id) ?? [];
        if (events.length === 0) add('lost', 'captured charge never announced', t.booking_id);
        if (events.length > 1) add('duplicated', `capture announced ${events.length} times`, t.booking_id);
        if (events.length > 0 && !events.some((e) => appliedIds.has(e)))
          add('lost', 'capture event never applied by booking', t.booking_id);
        const times = confirmedTimes.get(t.booking_id) ?? 0;
        if (byId.get(t.booking_id)?.status !== 'CONFIRMED' || times === 0)
          add(
            'lost',
            `paid booking is ${byId.get(t.booking_id)?.status ?? 'missing'}, not CONFIRMED`,
            t.booking_id,
          );
        if (times > 1) add('duplicated', `paid booking CONFIRMED ${times} times`, t.booking_id);
      }
      const { rows: refunds } = await pools.payment.query<{ booking_id: string }>(
        `SELECT t.booking_id FROM payment_refunds r JOIN payment_transactions t ON t.id = r.transaction_id
          WHERE t.customer_id = ANY($1::uuid[])`,
        [input.customerIds],
      );
      for (const r of refunds)
        add('duplicated', 'a paid booking was refunded (nobody cancelled)', r.booking_id);
      for (const [f, n] of await unrelayed(input.since))
        add('lost', `${n} ${f} outbox rows never relayed`, f, 'run');
      return out;
    },
    close: async () => {
      await Promise.all(Object.values(pools).map((p) => p.end()));
    },
  };
}
