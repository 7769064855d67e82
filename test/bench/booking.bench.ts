/**
 * Benchmark of the booking feature THROUGH THE GATEWAY on this machine, against the real PostgreSQL
 * and Redis, with many existing reservations in the table:
 *
 *   client ──fetch──▶ gateway ──▶ booking subgraph ──▶ auth / location subgraphs, PostgreSQL
 *
 * 1. Starts the supergraph in-process (test/support/supergraph.ts), creates a manager, a client, one
 *    Berlin site with 8 bays open 00:00–24:00 every day, 50 more sites (written directly) and a
 *    30-minute service, then seeds `--seed` CONFIRMED reservations directly over the next 60 days on
 *    a deterministic grid (site × bay × UTC day × hour, 40 minutes blocked per cell: never overlapping).
 *    About a quarter land on the measured site (at most half of its bay-hours), so every measured day
 *    there is partly booked.
 * 2. `availableSlots` for the measured site: a warm-up, then `--slots-requests` queries at
 *    `--concurrency`, cycling the date over the 60 booked days.
 * 3. `createBooking` by the client: a warm-up, then `--create-requests` bookings at `--concurrency` on
 *    distinct start times 30 minutes apart (far future, days 90+; adjacent starts overlap, so they race
 *    for bays 1 and 2 and exercise the exclusion constraint and the retry). BOOKING_SLOT_TAKEN is
 *    counted on its own; any other error fails the run. Then a SQL self-join checks that no two live
 *    reservations overlap on one bay anywhere in the table, and PostgreSQL's deadlock counter is shown
 *    (the gateway masks server errors as INTERNAL_SERVER_ERROR; deadlocks are their usual cause here).
 *
 *   pnpm bench:booking [--slots-requests 2000] [--create-requests 1000] [--concurrency 20] [--seed 10000]
 *
 * Rows the run wrote (its reservations, their outbox events, its sites) are deleted at the end, also
 * after Ctrl-C (the manager and client users stay, as in the e2e tests). Exit 0
 * on success, 1 on an unexpected error, a failed check or the ~5 minute time limit, 2 on bad flags.
 * Logs of the servers are silent unless TEST_LOG_LEVEL is set.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { DateTime } from 'luxon';
import {
  PASSWORD,
  startSupergraph,
  uniqueEmail,
  type GraphQLResult,
  type Running,
} from '../support/supergraph.js';
import { benchArgs, integerOption, percentile } from './support.js';

const TIME_LIMIT_MS = 5 * 60_000;
const SEED_DAYS = 60;
const MEASURED_BAYS = 8;
const EXTRA_SITES = 50;
const EXTRA_BAYS = 4;
const DURATION_MIN = 30;
/** BOOKING_BUFFER_MINUTES' default: the bay stays busy this long after a wash. */
const BUFFER_MIN = 10;
const CHUNK = 1_000;
/** createBooking runs on local days from here on, away from the seeded 60 days. */
const CREATE_FIRST_DAY = 90;
const CREATE_STEP_MIN = 30;
const ZONE = 'Europe/Berlin';
const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const LIVE = `('HELD', 'CONFIRMED', 'IN_PROGRESS')`;

const EVERY_DAY = ['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY', 'SUNDAY'];
const SLOTS = `query($site: ID!, $service: ID!, $date: Date!) { availableSlots(siteId: $site, serviceId: $service, date: $date) { startsAt endsAt freeBays } }`;
const CREATE = `mutation($input: CreateBookingInput!) { createBooking(input: $input) { id status bay startsAt } }`;

interface Options {
  slotsRequests: number;
  createRequests: number;
  concurrency: number;
  seed: number;
}

const MAX_MEASURED_CELLS = Math.floor((SEED_DAYS * MEASURED_BAYS * 24) / 2);
const MAX_SEED = MAX_MEASURED_CELLS + EXTRA_SITES * EXTRA_BAYS * SEED_DAYS * 24;
const MAX_CREATE = Math.floor(((365 - CREATE_FIRST_DAY - 5) * 24 * 60) / CREATE_STEP_MIN);

const USAGE = `usage: pnpm bench:booking [--slots-requests N] [--create-requests N] [--concurrency C] [--seed N]
  --slots-requests N   availableSlots queries to measure (default 2000)
  --create-requests N  createBooking mutations to measure (default 1000, at most ${MAX_CREATE})
  --concurrency C      requests in flight at once (default 20)
  --seed N             reservations written before measuring (default 10000, at most ${MAX_SEED})
  -h, --help           show this help
Fails (exit 1) on any unexpected error, a failed overlap check, or after ${TIME_LIMIT_MS / 60_000} minutes.`;

function parseOptions(argv: string[]): Options {
  const values = benchArgs(argv, USAGE, {
    'slots-requests': { type: 'string', default: '2000' },
    'create-requests': { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '20' },
    seed: { type: 'string', default: '10000' },
  });
  return {
    slotsRequests: integerOption('slots-requests', values['slots-requests'], 1, 1_000_000),
    createRequests: integerOption('create-requests', values['create-requests'], 1, MAX_CREATE),
    concurrency: integerOption('concurrency', values.concurrency, 1, 1_000),
    seed: integerOption('seed', values.seed, 0, MAX_SEED),
  };
}

class TimeLimit extends Error {}

/** Throws once the run's time is up (or Ctrl-C); checked between steps and before every request. */
let deadline = Number.POSITIVE_INFINITY;
function checkTime(what: string): void {
  if (Date.now() > deadline)
    throw new TimeLimit(
      `${deadline === 0 ? 'interrupted' : `time limit of ${TIME_LIMIT_MS / 1000} s reached`} during ${what}`,
    );
}

const ms = (t: number) => String(Math.round(t));

/** A small deterministic PRNG (mulberry32), so every run seeds the same grid. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** The first `k` of `items` after a deterministic shuffle (partial Fisher–Yates, in place). */
function pick<T>(items: T[], k: number, random: () => number): T[] {
  const n = Math.min(k, items.length);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(random() * (items.length - i));
    const tmp = items[i]!;
    items[i] = items[j]!;
    items[j] = tmp;
  }
  return items.slice(0, n);
}

interface Outcome {
  /** 'ok', a GraphQL error code, or 'HTTP_<status>' / 'NETWORK' / 'BAD_RESPONSE'. */
  code: string;
  message?: string;
}

interface PhaseStats {
  requests: number;
  wallMs: number;
  latencies: number[];
  codes: Map<string, number>;
  firstError: Map<string, string>;
}

/**
 * Runs `task(i)` for i in [0, n) with at most `concurrency` in flight, timing each with
 * performance.now(). Stops issuing new requests once the time limit is reached (and then throws).
 */
async function pool(
  n: number,
  concurrency: number,
  what: string,
  task: (i: number) => Promise<Outcome>,
): Promise<PhaseStats> {
  const latencies: number[] = [];
  const codes = new Map<string, number>();
  const firstError = new Map<string, string>();
  let next = 0;
  let timedOut = false;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= n) return;
      if (Date.now() > deadline) {
        timedOut = true;
        return;
      }
      const t0 = performance.now();
      let outcome: Outcome;
      try {
        outcome = await task(i);
      } catch (err) {
        outcome = { code: 'NETWORK', message: err instanceof Error ? err.message : String(err) };
      }
      latencies.push(performance.now() - t0);
      codes.set(outcome.code, (codes.get(outcome.code) ?? 0) + 1);
      if (outcome.code !== 'ok' && !firstError.has(outcome.code))
        firstError.set(outcome.code, outcome.message ?? '');
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  const wallMs = performance.now() - start;
  if (timedOut)
    throw new TimeLimit(
      `${deadline === 0 ? 'interrupted' : `time limit of ${TIME_LIMIT_MS / 1000} s reached`} during ${what} (${latencies.length} of ${n} requests done)`,
    );
  latencies.sort((a, b) => a - b);
  return { requests: latencies.length, wallMs, latencies, codes, firstError };
}

function describe(stats: PhaseStats, concurrency: number): string {
  const l = stats.latencies;
  const rps = stats.requests / (stats.wallMs / 1000);
  return `${stats.requests} requests, concurrency ${concurrency}: ${Math.round(rps)} req/s, p50 ${ms(percentile(l, 50))} ms, p95 ${ms(percentile(l, 95))} ms, p99 ${ms(percentile(l, 99))} ms, max ${ms(l[l.length - 1] ?? Number.NaN)} ms`;
}

/** Classifies a GraphQL response: 'ok' when `valid(data)` holds and there are no errors. */
function outcomeOf<T>(res: GraphQLResult<T>, valid: (data: T) => boolean): Outcome {
  const first = res.errors?.[0];
  if (first) return { code: String(first.extensions?.code ?? `HTTP_${res.status}`), message: first.message };
  if (res.status !== 200) return { code: `HTTP_${res.status}`, message: `HTTP ${res.status}` };
  if (!res.data || !valid(res.data))
    return { code: 'BAD_RESPONSE', message: JSON.stringify(res).slice(0, 300) };
  return { code: 'ok' };
}

/** Unwraps a setup call's data or throws with its errors. */
function must<T>(res: GraphQLResult<T>, what: string): T {
  if (res.errors?.length || !res.data)
    throw new Error(`${what} failed: ${JSON.stringify(res.errors ?? res).slice(0, 500)}`);
  return res.data;
}

async function user(sg: Running, role: 'CLIENT' | 'MANAGER'): Promise<{ id: string; token: string }> {
  const email = uniqueEmail(`bench-${role.toLowerCase()}`);
  const up = must(
    await sg.gql<{ signUp: { user: { id: string } } }>(
      `mutation($i: SignUpInput!) { signUp(input: $i) { user { id } } }`,
      { i: { email, password: PASSWORD, firstName: 'Bench', lastName: role } },
    ),
    `signUp (${role})`,
  );
  const id = up.signUp.user.id;
  if (role !== 'CLIENT') await sg.auth.db.user.update({ where: { id }, data: { role } });
  const login = must(
    await sg.gql<{ logIn: { accessToken: string } }>(
      `mutation($i: LogInInput!) { logIn(input: $i) { accessToken } }`,
      { i: { email, password: PASSWORD } },
    ),
    `logIn (${role})`,
  );
  return { id, token: login.logIn.accessToken };
}

/** The Berlin local date `offset` days from today. */
const localDate = (offset: number) => DateTime.now().setZone(ZONE).plus({ days: offset }).toISODate()!;

async function run(
  o: Options,
  sg: Running,
  cleanup: { siteIds: string[]; bookingIds: string[] },
): Promise<boolean> {
  let ok = true;

  // ── 1. Setup ──────────────────────────────────────────────────────────────────────────────────
  const manager = await user(sg, 'MANAGER');
  const client = await user(sg, 'CLIENT');
  const created = must(
    await sg.gql<{ createSite: { id: string } }>(
      `mutation($input: CreateSiteInput!) { createSite(input: $input) { id } }`,
      {
        input: {
          name: `Bench Berlin ${randomUUID().slice(0, 6)}`,
          address: { line1: 'Benchstraße 1', city: 'Berlin', postalCode: '10115', country: 'DE' },
          timeZone: ZONE,
          location: { latitude: 52.52, longitude: 13.405 },
          bays: MEASURED_BAYS,
        },
      },
      manager.token,
    ),
    'createSite',
  );
  const siteId = created.createSite.id;
  cleanup.siteIds.push(siteId);
  must(
    await sg.gql(
      `mutation($id: ID!, $hours: [WeeklyHoursInput!]!) { setWeeklyHours(siteId: $id, hours: $hours) { id } }`,
      { id: siteId, hours: EVERY_DAY.map((weekday) => ({ weekday, opensAt: '00:00', closesAt: '24:00' })) },
      manager.token,
    ),
    'setWeeklyHours',
  );
  const extraSites = Array.from({ length: EXTRA_SITES }, (_, i) => ({
    id: randomUUID(),
    name: `Bench site ${i + 1}`,
    addressLine1: `Benchweg ${i + 1}`,
    city: 'Berlin',
    postalCode: String(10_000 + i),
    country: 'DE',
    timeZone: ZONE,
    latitude: 52.35 + (i % 10) * 0.04,
    longitude: 13.1 + Math.floor(i / 10) * 0.1,
    bays: EXTRA_BAYS,
  }));
  cleanup.siteIds.push(...extraSites.map((s) => s.id));
  await sg.location.db.washSite.createMany({ data: extraSites });
  const service = must(
    await sg.gql<{ createService: { id: string; name: string } }>(
      `mutation($input: CreateServiceInput!) { createService(input: $input) { id name } }`,
      {
        input: {
          name: `Bench wash ${randomUUID().slice(0, 4)}`,
          durationMinutes: DURATION_MIN,
          priceCents: 1500,
          currency: 'EUR',
        },
      },
      manager.token,
    ),
    'createService',
  ).createService;
  console.log(
    `[setup] manager, client, 1 site with ${MEASURED_BAYS} bays open 00:00–24:00 daily (${siteId}), ${EXTRA_SITES} more sites with ${EXTRA_BAYS} bays, a ${DURATION_MIN}-minute service`,
  );
  checkTime('setup');

  // ── Seed: cells (site, bay, UTC day 1…60, hour) hold one 30 + 10 minute block each. ────────────
  const random = prng(20_261_125);
  const today = new Date();
  const firstDayUtc = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate()) + DAY;
  const measuredCells: Array<[number, number, number]> = [];
  for (let d = 0; d < SEED_DAYS; d++)
    for (let bay = 1; bay <= MEASURED_BAYS; bay++)
      for (let h = 0; h < 24; h++) measuredCells.push([d, bay, h]);
  const measuredCount = Math.min(Math.round(o.seed * 0.25), MAX_MEASURED_CELLS, o.seed);
  const otherCells: Array<[number, number, number, number]> = [];
  for (let s = 0; s < EXTRA_SITES; s++)
    for (let d = 0; d < SEED_DAYS; d++)
      for (let bay = 1; bay <= EXTRA_BAYS; bay++)
        for (let h = 0; h < 24; h++) otherCells.push([s, d, bay, h]);
  const cells = [
    ...pick(measuredCells, measuredCount, random).map(([d, bay, h]) => ({ siteId, d, bay, h })),
    ...pick(otherCells, o.seed - measuredCount, random).map(([s, d, bay, h]) => ({
      siteId: extraSites[s]!.id,
      d,
      bay,
      h,
    })),
  ];
  const rows = cells.map((c) => {
    const startsAt = firstDayUtc + c.d * DAY + c.h * HOUR;
    return {
      id: randomUUID(),
      customerId: randomUUID(),
      siteId: c.siteId,
      serviceId: service.id,
      washerId: null,
      bay: c.bay,
      startsAt: new Date(startsAt),
      endsAt: new Date(startsAt + DURATION_MIN * MINUTE),
      blockedUntil: new Date(startsAt + (DURATION_MIN + BUFFER_MIN) * MINUTE),
      status: 'CONFIRMED' as const,
      serviceName: service.name,
      priceCents: 1500,
      currency: 'EUR',
    };
  });
  const seedStart = performance.now();
  for (let i = 0; i < rows.length; i += CHUNK) {
    checkTime('seeding');
    await sg.booking.db.reservation.createMany({ data: rows.slice(i, i + CHUNK) });
  }
  const seedMs = performance.now() - seedStart;
  const total = await sg.booking.db.reservation.count();
  const onBench = await sg.booking.db.reservation.count({ where: { siteId: { in: cleanup.siteIds } } });
  console.log(
    `[seed] ${rows.length} reservations in ${Math.ceil(rows.length / CHUNK)} chunks of ≤${CHUNK} in ${ms(seedMs)} ms` +
      (rows.length ? ` (${Math.round(rows.length / (seedMs / 1000))} rows/s)` : '') +
      `; ${measuredCount} on the measured site over ${SEED_DAYS} days; booking_reservations now holds ${total} rows (${onBench} on this run's sites)`,
  );
  checkTime('seeding');

  // ── 2. availableSlots ──────────────────────────────────────────────────────────────────────────
  const dates = Array.from({ length: SEED_DAYS }, (_, i) => localDate(i + 1));
  type SlotsData = { availableSlots: Array<{ startsAt: string; endsAt: string; freeBays: number }> };
  const slots = (date: string) =>
    sg.gql<SlotsData>(SLOTS, { site: siteId, service: service.id, date }, client.token);
  const validSlots = (d: SlotsData) =>
    Array.isArray(d.availableSlots) &&
    d.availableSlots.every((s) => s.freeBays >= 1 && s.freeBays <= MEASURED_BAYS);
  const firstDate = dates[0]!;
  const sample = must(await slots(firstDate), 'availableSlots sample').availableSlots;
  const dayStart = DateTime.fromISO(firstDate, { zone: ZONE });
  const booked = await sg.booking.db.reservation.count({
    where: { siteId, startsAt: { gte: dayStart.toJSDate(), lt: dayStart.plus({ days: 1 }).toJSDate() } },
  });
  const freeBaySlots = sample.reduce((sum, s) => sum + s.freeBays, 0);
  console.log(
    `[availableSlots] first measured day ${firstDate}: ${booked} live reservations on the site, ${sample.length} start times offered, ${freeBaySlots} of ${sample.length * MEASURED_BAYS} bay-slots free`,
  );
  if (sample.length === 0 || freeBaySlots >= sample.length * MEASURED_BAYS) {
    console.log('[availableSlots] sanity check failed: the first measured day should be partly booked');
    ok = false;
  }
  const slotsWarmup = Math.min(100, o.slotsRequests);
  const warm = await pool(slotsWarmup, o.concurrency, 'availableSlots warm-up', async (i) =>
    outcomeOf(await slots(dates[i % dates.length]!), validSlots),
  );
  console.log(`[availableSlots] warm-up: ${describe(warm, o.concurrency)}`);
  const slotStats = await pool(o.slotsRequests, o.concurrency, 'availableSlots', async (i) =>
    outcomeOf(await slots(dates[i % dates.length]!), validSlots),
  );
  const slotErrors = slotStats.requests - (slotStats.codes.get('ok') ?? 0);
  console.log(`[availableSlots] ${describe(slotStats, o.concurrency)}, errors ${slotErrors}`);
  for (const [code, message] of slotStats.firstError)
    console.log(`[availableSlots]   ${code} ×${slotStats.codes.get(code)}: ${message}`);
  if (slotErrors > 0) ok = false;
  checkTime('availableSlots');

  // ── 3. createBooking ───────────────────────────────────────────────────────────────────────────
  // Distinct start times 30 minutes apart on the 24-hour site; a wash blocks its bay 40 minutes, so
  // neighbours overlap and take bays 1 and 2 in turn — concurrently, they race for the same bay.
  const createBase = DateTime.fromISO(localDate(CREATE_FIRST_DAY), { zone: ZONE }).toMillis();
  const warmBase = DateTime.fromISO(localDate(CREATE_FIRST_DAY - 1), { zone: ZONE }).toMillis();
  type CreateData = { createBooking: { id: string; status: string; bay: number; startsAt: string } };
  const book = async (startsAt: number): Promise<Outcome> => {
    const res = await sg.gql<CreateData>(
      CREATE,
      { input: { siteId, serviceId: service.id, startsAt: new Date(startsAt).toISOString() } },
      client.token,
    );
    if (res.data?.createBooking?.id) cleanup.bookingIds.push(res.data.createBooking.id);
    return outcomeOf(
      res,
      (d) =>
        d.createBooking.status === 'HELD' &&
        d.createBooking.bay >= 1 &&
        d.createBooking.bay <= MEASURED_BAYS &&
        Date.parse(d.createBooking.startsAt) === startsAt,
    );
  };
  const deadlocksBefore = await deadlocks(sg);
  const createWarmup = Math.min(o.concurrency, o.createRequests, 40);
  const warmCreate = await pool(createWarmup, o.concurrency, 'createBooking warm-up', (i) =>
    book(warmBase + i * CREATE_STEP_MIN * MINUTE),
  );
  console.log(
    `[createBooking] warm-up: ${describe(warmCreate, o.concurrency)}, successes ${warmCreate.codes.get('ok') ?? 0}`,
  );
  const createStats = await pool(o.createRequests, o.concurrency, 'createBooking', (i) =>
    book(createBase + i * CREATE_STEP_MIN * MINUTE),
  );
  const successes = createStats.codes.get('ok') ?? 0;
  const taken = createStats.codes.get('BOOKING_SLOT_TAKEN') ?? 0;
  const otherErrors = createStats.requests - successes - taken;
  const warmOther =
    warmCreate.requests -
    (warmCreate.codes.get('ok') ?? 0) -
    (warmCreate.codes.get('BOOKING_SLOT_TAKEN') ?? 0);
  console.log(
    `[createBooking] ${describe(createStats, o.concurrency)}, successes ${successes}, BOOKING_SLOT_TAKEN ${taken}, other errors ${otherErrors}`,
  );
  for (const [label, stats] of [
    ['warm-up ', warmCreate],
    ['', createStats],
  ] as const) {
    for (const [code, message] of stats.firstError)
      if (code !== 'BOOKING_SLOT_TAKEN')
        console.log(`[createBooking]   ${label}${code} ×${stats.codes.get(code)}: ${message}`);
  }
  if (otherErrors > 0 || warmOther > 0) ok = false;
  const held = await sg.booking.db.reservation.count({ where: { siteId, status: 'HELD' } });
  console.log(
    `[createBooking] HELD reservations on the site in the database: ${held} (expected ${successes + (warmCreate.codes.get('ok') ?? 0)})`,
  );
  if (held !== successes + (warmCreate.codes.get('ok') ?? 0)) ok = false;
  checkTime('createBooking');

  // ── Check: no two live reservations overlap on one bay, anywhere in the table. ─────────────────
  const checkStart = performance.now();
  const [overlap] = await sg.booking.db.$queryRawUnsafe<Array<{ pairs: bigint; live: bigint }>>(`
    SELECT
      (SELECT count(*) FROM booking_reservations a
         JOIN booking_reservations b
           ON a.site_id = b.site_id AND a.bay = b.bay AND a.id < b.id
          AND tstzrange(a.starts_at, a.blocked_until, '[)') && tstzrange(b.starts_at, b.blocked_until, '[)')
        WHERE a.status IN ${LIVE} AND b.status IN ${LIVE}) AS pairs,
      (SELECT count(*) FROM booking_reservations WHERE status IN ${LIVE}) AS live`);
  const pairs = Number(overlap?.pairs ?? -1);
  console.log(
    `[check] overlapping live reservations on one bay: ${pairs} pairs among ${Number(overlap?.live ?? 0)} live reservations (${ms(performance.now() - checkStart)} ms) — ${pairs === 0 ? 'OK' : 'FAILED'}`,
  );
  if (pairs !== 0) ok = false;
  // The gateway masks server errors; PostgreSQL's counter tells whether deadlocks caused them. It
  // counts the whole booking database and backends report it lazily (up to ~10 s late).
  console.log(
    `[check] PostgreSQL deadlocks in the booking database since createBooking began (pg_stat_database, may lag): ${(await deadlocks(sg)) - deadlocksBefore}`,
  );
  return ok;
}

/** pg_stat_database.deadlocks of the booking database. */
async function deadlocks(sg: Running): Promise<number> {
  const [row] = await sg.booking.db.$queryRawUnsafe<Array<{ deadlocks: bigint }>>(
    'SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()',
  );
  return Number(row?.deadlocks ?? 0);
}

/** Deletes what the run wrote: its reservations (items and history cascade), their outbox events, its sites. */
async function removeRows(sg: Running, cleanup: { siteIds: string[]; bookingIds: string[] }): Promise<void> {
  if (cleanup.siteIds.length === 0) return;
  const ids = cleanup.bookingIds;
  let events = 0;
  for (let i = 0; i < ids.length; i += CHUNK)
    events += (
      await sg.booking.db.outboxEvent.deleteMany({ where: { aggregateId: { in: ids.slice(i, i + CHUNK) } } })
    ).count;
  const reservations = (
    await sg.booking.db.reservation.deleteMany({ where: { siteId: { in: cleanup.siteIds } } })
  ).count;
  const sites = (await sg.location.db.washSite.deleteMany({ where: { id: { in: cleanup.siteIds } } })).count;
  console.log(`[cleanup] deleted ${reservations} reservations, ${events} outbox events, ${sites} sites`);
}

async function main(): Promise<number> {
  let o: Options;
  try {
    o = parseOptions(process.argv.slice(2));
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    console.error(USAGE);
    return 2;
  }
  deadline = Date.now() + TIME_LIMIT_MS;
  // Last resort if something hangs outside the request pool (start-up, a query, shutdown).
  setTimeout(() => {
    console.error(
      `[booking bench] FAILED: still running ${TIME_LIMIT_MS / 1000 + 30} s after the start; exiting`,
    );
    process.exit(1);
  }, TIME_LIMIT_MS + 30_000).unref();

  // Ctrl-C ends the run like the time limit does (no new requests), so the rows still get removed;
  // a closed stdout (`| head`) must not kill the process before that either.
  // (A terminal's Ctrl-C reaches this process twice: directly and relayed by tsx.)
  let interruptedAt = 0;
  process.on('SIGINT', () => {
    if (interruptedAt === 0) {
      interruptedAt = Date.now();
      deadline = 0;
      console.error('[booking bench] interrupted; stopping and cleaning up (Ctrl-C again to abort)');
    } else if (Date.now() - interruptedAt > 1_000) {
      process.exit(130);
    }
  });
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});

  console.log(
    `[booking bench] slots-requests ${o.slotsRequests}, create-requests ${o.createRequests}, concurrency ${o.concurrency}, seed ${o.seed}`,
  );
  const t0 = performance.now();
  let sg: Running | undefined;
  const cleanup = { siteIds: [] as string[], bookingIds: [] as string[] };
  let ok: boolean;
  try {
    // One client makes every booking of the run (warm-up included): lift its live-hold cap above that count,
    // so the cap's check and lock are measured but never refuse.
    sg = await startSupergraph({
      bookingEnv: { BOOKING_MAX_LIVE_HOLDS: String(o.createRequests + o.concurrency + 1) },
    });
    console.log(
      `[setup] supergraph (auth, location, booking, gateway) up in ${ms(performance.now() - t0)} ms at ${sg.gatewayUrl}`,
    );
    ok = await run(o, sg, cleanup);
  } catch (err) {
    console.error(
      `[booking bench] ${err instanceof TimeLimit ? 'FAILED' : 'FAILED with an unexpected error'}: ${err instanceof Error ? (err instanceof TimeLimit ? err.message : (err.stack ?? err.message)) : String(err)}`,
    );
    ok = false;
  } finally {
    if (sg) {
      try {
        await removeRows(sg, cleanup);
      } catch (err) {
        console.error(`[cleanup] failed: ${err instanceof Error ? err.message : String(err)}`);
        ok = false;
      }
      try {
        await sg.stop();
      } catch (err) {
        console.error(
          `[booking bench] stopping the supergraph failed: ${err instanceof Error ? err.message : String(err)}`,
        );
        ok = false;
      }
    }
  }
  console.log(`[booking bench] ${ok ? 'OK' : 'FAILED'} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
