/**
 * The booking load's client in a process of its own (forked by booking-load.ts), so the requests'
 * fetch, JSON and checks never share an event loop — or the in-process supergraph's CPU share — with
 * the servers they measure. Each IPC message is one phase ({@link PhaseRequest}), answered with its raw
 * figures ({@link PhaseReply}); the parent turns them into req/s and percentiles.
 */
import { performance } from 'node:perf_hooks';

/** One phase: `requests` sent in order, at most `concurrency` in flight, each checked by `check`. */
export interface PhaseRequest {
  url: string;
  token: string;
  /**
   * One bearer token per connection (worker `w` sends every request of its own with `tokens[w]`): a
   * customer per connection, as real traffic is. Unset: every connection sends `token`.
   */
  tokens?: string[];
  concurrency: number;
  /** No request is started after this instant (ms since the epoch); the reply then says `timedOut`. */
  deadline: number;
  check: 'slots' | 'create';
  /** Answers naming a bay outside 1…maxBays (or as many free bays) fail their check. */
  maxBays: number;
  requests: Array<{ query: string; variables: Record<string, unknown> }>;
}

export interface PhaseReply {
  wallMs: number;
  /** Sorted ascending. */
  latencies: number[];
  /** Outcome → count: 'ok', a GraphQL error code, or 'HTTP_<status>' / 'NETWORK' / 'BAD_RESPONSE'. */
  codes: Array<[string, number]>;
  /** The first message seen for each outcome but 'ok'. */
  firstError: Array<[string, string]>;
  /** Ids of the bookings made (createBooking), for the cleanup. */
  bookingIds: string[];
  timedOut: boolean;
}

interface GraphQLBody {
  data?: Record<string, unknown> | null;
  errors?: Array<{ message?: string; extensions?: { code?: string } }>;
}

type SlotsData = { availableSlots: Array<{ freeBays: number }> | null };
type CreateData = { createBooking: { id: string; status: string; bay: number; startsAt: string } | null };

/** Whether a successful answer is what the phase expects. */
function valid(r: PhaseRequest, data: Record<string, unknown>, variables: Record<string, unknown>): boolean {
  if (r.check === 'slots') {
    const slots = (data as SlotsData).availableSlots;
    return Array.isArray(slots) && slots.every((s) => s.freeBays >= 1 && s.freeBays <= r.maxBays);
  }
  const b = (data as CreateData).createBooking;
  const asked = (variables.input as { startsAt: string }).startsAt;
  return (
    !!b &&
    b.status === 'HELD' &&
    b.bay >= 1 &&
    b.bay <= r.maxBays &&
    Date.parse(b.startsAt) === Date.parse(asked)
  );
}

async function runPhase(r: PhaseRequest): Promise<PhaseReply> {
  const latencies: number[] = [];
  const codes = new Map<string, number>();
  const firstError = new Map<string, string>();
  const bookingIds: string[] = [];
  let next = 0;
  let timedOut = false;
  const note = (code: string, message = '') => {
    codes.set(code, (codes.get(code) ?? 0) + 1);
    if (code !== 'ok' && !firstError.has(code)) firstError.set(code, message);
  };
  const worker = async (w: number) => {
    const token = r.tokens?.[w] ?? r.token;
    for (;;) {
      const i = next++;
      if (i >= r.requests.length) return;
      if (Date.now() > r.deadline) {
        timedOut = true;
        return;
      }
      const { query, variables } = r.requests[i]!;
      const t0 = performance.now();
      try {
        const res = await fetch(r.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ query, variables }),
        });
        const text = await res.text();
        latencies.push(performance.now() - t0);
        let body: GraphQLBody;
        try {
          body = JSON.parse(text) as GraphQLBody;
        } catch {
          note(res.ok ? 'BAD_RESPONSE' : `HTTP_${res.status}`, text.slice(0, 200));
          continue;
        }
        const first = body.errors?.[0];
        if (first) note(first.extensions?.code ?? 'NO_CODE', first.message);
        else if (!body.data) note(res.ok ? 'BAD_RESPONSE' : `HTTP_${res.status}`, text.slice(0, 200));
        else if (!valid(r, body.data, variables)) note('BAD_RESPONSE', text.slice(0, 200));
        else note('ok');
        const made = (body.data as CreateData | undefined)?.createBooking?.id;
        if (r.check === 'create' && made) bookingIds.push(made);
      } catch (err) {
        latencies.push(performance.now() - t0);
        note('NETWORK', err instanceof Error ? err.message : String(err));
      }
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: Math.min(r.concurrency, r.requests.length) }, (_, w) => worker(w)));
  const wallMs = performance.now() - start;
  latencies.sort((a, b) => a - b);
  return { wallMs, latencies, codes: [...codes], firstError: [...firstError], bookingIds, timedOut };
}

process.on('message', (request: PhaseRequest) => {
  runPhase(request).then(
    (reply) => process.send?.({ ok: true, reply }),
    (err: unknown) => process.send?.({ ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});
