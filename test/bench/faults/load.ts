/**
 * The steady booking load of the fault drills: each client books a wash (`createBooking`) and pays for
 * it (`payForBooking`) through the gateway, one after the other, without pause. Every request is
 * recorded (start, latency, outcome) with the drill phase it started in, and so is what the API
 * promised: the bookings it accepted and the payments it reported captured — the drill later proves
 * each is really there.
 *
 * A client whose payment fails retries it with the same idempotency key (as a real client must), a
 * few times, so the drills also prove that a retry after a fault never charges twice.
 */
import { performance } from 'node:perf_hooks';
import { DateTime } from 'luxon';
import { SITE_ZONE } from '../../support/fixtures.js';

/** What one request ended with: `ok`, a GraphQL error code, or HTTP_<status> / NETWORK / CLIENT_TIMEOUT / BAD_RESPONSE. */
export type Outcome = string;

export interface RequestRecord {
  op: 'create' | 'pay';
  /** Epoch milliseconds (sub-millisecond precision) when it was sent, and when its answer was read. */
  start: number;
  end: number;
  outcome: Outcome;
  phase: string;
}

export interface LoadClient {
  token: string;
  customerId: string;
  methodId: string;
  /** The client's own site (one bay): clients never compete for a bay, so no error is the load's own. */
  siteId: string;
}

export interface LoadOptions {
  gatewayUrl: string;
  clients: LoadClient[];
  serviceId: string;
  /** Local days start here (days from today in Europe/Berlin), beyond anything a previous run booked today. */
  firstDay: number;
  /** The phase a request is labelled with: read when it is sent. */
  phase: () => string;
}

export interface Load {
  records: RequestRecord[];
  /** Booking id → phase its createBooking was sent in, for every booking the API accepted. */
  accepted: Map<string, string>;
  /** Booking ids whose payForBooking answered CAPTURED (at least once). */
  captured: Set<string>;
  /** Stops issuing requests and waits for the ones in flight. */
  stop(): Promise<void>;
}

/** One request's deadline: past the gateway's own subgraph deadline (10 s), so the gateway answers first. */
const REQUEST_TIMEOUT_MS = 15_000;
/** A failed payment is retried this many times with its key, after this pause (doubled each time). */
const PAY_RETRIES = 4;
const PAY_RETRY_PAUSE_MS = 200;
/** A wash of 30 minutes plus the 10-minute clean-up fits a 45-minute grid; 31 starts fit a local day. */
const GRID_MINUTES = 45;
const STARTS_PER_DAY = 31;
/** A payment that was refused for good: retrying with the same key gets the same answer. */
const FINAL_PAY_CODES = new Set([
  'PAYMENT_ALREADY_PAID',
  'PAYMENT_BOOKING_NOT_PAYABLE',
  'PAYMENT_METHOD_UNUSABLE',
  'PAYMENT_DECLINED',
  'PAYMENT_INSUFFICIENT_FUNDS',
  'PAYMENT_IDEMPOTENCY_MISMATCH',
  'BAD_USER_INPUT',
  'FORBIDDEN',
  'UNAUTHENTICATED',
]);

const CREATE = `mutation($i: CreateBookingInput!) { createBooking(input: $i) { id } }`;
const PAY = `mutation($b: ID!, $m: ID!, $k: String!) { payForBooking(bookingId: $b, methodId: $m, idempotencyKey: $k) { id status } }`;

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The `k`-th start time of a client: 31 per local day on a 45-minute grid from midnight. */
export function slotStart(firstDay: number, k: number): string {
  const day = DateTime.now()
    .setZone(SITE_ZONE)
    .startOf('day')
    .plus({ days: firstDay + Math.floor(k / STARTS_PER_DAY) });
  return day
    .plus({ minutes: (k % STARTS_PER_DAY) * GRID_MINUTES })
    .toUTC()
    .toISO()!;
}

/** The most bookings one client can make before its year-long horizon ends. */
export function slotsPerClient(firstDay: number): number {
  return (365 - firstDay - 2) * STARTS_PER_DAY;
}

interface Answer<T> {
  outcome: Outcome;
  data?: T;
}

async function call<T>(
  url: string,
  query: string,
  variables: Record<string, unknown>,
  token: string,
): Promise<Answer<T>> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (err) {
    return { outcome: (err as Error).name === 'TimeoutError' ? 'CLIENT_TIMEOUT' : 'NETWORK' };
  }
  let body: { data?: T | null; errors?: Array<{ extensions?: { code?: string } }> };
  try {
    body = (await res.json()) as typeof body;
  } catch {
    return { outcome: `HTTP_${res.status}` };
  }
  const code = body.errors?.[0]?.extensions?.code;
  if (code) return { outcome: code };
  if (!body.data) return { outcome: res.ok ? 'BAD_RESPONSE' : `HTTP_${res.status}` };
  return { outcome: 'ok', data: body.data };
}

/** Starts one loop per client; they run until `stop()`. */
export function startLoad(options: LoadOptions): Load {
  const records: RequestRecord[] = [];
  const accepted = new Map<string, string>();
  const captured = new Set<string>();
  let running = true;
  const timed = async <T>(
    op: RequestRecord['op'],
    query: string,
    variables: Record<string, unknown>,
    token: string,
  ) => {
    const phase = options.phase();
    const start = now();
    const answer = await call<T>(options.gatewayUrl, query, variables, token);
    records.push({ op, start, end: now(), outcome: answer.outcome, phase });
    return { ...answer, phase };
  };
  const pay = async (client: LoadClient, bookingId: string) => {
    for (let attempt = 0; attempt <= PAY_RETRIES && running; attempt++) {
      if (attempt > 0) await sleep(PAY_RETRY_PAUSE_MS * 2 ** (attempt - 1));
      const paid = await timed<{ payForBooking: { status: string } }>(
        'pay',
        PAY,
        { b: bookingId, m: client.methodId, k: `drill-${bookingId}` },
        client.token,
      );
      if (paid.outcome === 'ok') {
        if (paid.data?.payForBooking.status === 'CAPTURED') captured.add(bookingId);
        return;
      }
      if (FINAL_PAY_CODES.has(paid.outcome)) return;
    }
  };
  const loop = async (client: LoadClient) => {
    const limit = slotsPerClient(options.firstDay);
    for (let k = 0; running && k < limit; k++) {
      const made = await timed<{ createBooking: { id: string } }>(
        'create',
        CREATE,
        {
          i: {
            siteId: client.siteId,
            serviceId: options.serviceId,
            startsAt: slotStart(options.firstDay, k),
          },
        },
        client.token,
      );
      const id = made.data?.createBooking?.id;
      if (made.outcome !== 'ok' || !id) continue;
      accepted.set(id, made.phase);
      await pay(client, id);
    }
  };
  const loops = Promise.all(options.clients.map(loop));
  return {
    records,
    accepted,
    captured,
    stop: async () => {
      running = false;
      await loops;
    },
  };
}
