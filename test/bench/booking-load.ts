/**
 * The booking load, measured THROUGH THE GATEWAY against the real PostgreSQL and Redis with many
 * existing reservations in the table (what `pnpm bench:booking` prints and the `booking` section of
 * `pnpm bench` reports):
 *
 *   client ──fetch──▶ gateway ──▶ booking subgraph ──▶ auth / location subgraphs, PostgreSQL
 *
 * The supergraph runs in this process; the client — requests, timing, the check of each answer — in a
 * child process of its own (booking-load-child.ts), so it takes no event-loop time from the servers.
 *
 * 1. Starts one supergraph in-process per contender (test/support/supergraph.ts; all on the same
 *    databases, tokens valid on each), creates a manager, a client, one Berlin site with 8 bays open
 *    00:00–24:00 every day, 50 more sites (written directly) and a 30-minute service, then seeds
 *    `seed` CONFIRMED reservations directly over the next 60 days on a deterministic grid (site × bay
 *    × UTC day × hour, 40 minutes blocked per cell: never overlapping). About a quarter land on the
 *    measured site (at most half of its bay-hours), so every measured day there is partly booked.
 * 2. Per round, per contender (their order alternating from round to round): `availableSlots` for the
 *    measured site, `slotsRequests` queries at `concurrency` cycling the date over the 60 booked days;
 *    then `createBooking` as real traffic makes it: `createRequests` bookings at `concurrency`, ONE
 *    CUSTOMER PER CONNECTION (`concurrency` clients, each sending its connection's requests with its own
 *    token), spread round-robin over the run's 51 sites (the measured one and the 50 others, all open
 *    00:00–24:00): booking k goes to site k mod 51, at the site's next start time 30 minutes after its
 *    previous one (far future, days 135+), so every booking asks for its own slot and only bookings 51
 *    apart share a site. Then, when `oneCustomerRequests` > 0, the earlier load as a second figure: ONE
 *    client books `oneCustomerRequests` holds on the measured site alone, distinct start times 30 minutes
 *    apart (days 90+; adjacent starts overlap, so they race for bays 1 and 2 and exercise the exclusion
 *    constraint and the retry) — its customer lock admits one hold at a time, so that figure is
 *    1 / (time under the locks). A warm-up of the same contender on the same load precedes each
 *    measured phase (every date, every site and customer once), so that a phase measures the caches
 *    as sustained traffic keeps them, not as a 30-second TTL left them since the round before.
 *    BOOKING_SLOT_TAKEN is counted on its own; any other error fails the run.
 * 3. Checks: the HELD reservations on the run's sites are exactly the successful bookings, no two live
 *    reservations overlap on one bay anywhere in the table, and PostgreSQL's deadlock counter is shown
 *    (the gateway masks server errors as INTERNAL_SERVER_ERROR; deadlocks are their usual cause here).
 *
 * Rows the run wrote (its reservations, their outbox events, its sites) are deleted at the end, also
 * when it stops early (the manager and client users stay, as in the e2e tests).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { sqlStatements as bookingStatements } from '@carwash/booking';
import { sqlStatements as locationStatements } from '@carwash/location';
import { DateTime } from 'luxon';
import {
  PASSWORD,
  postGraphQL,
  startSupergraph,
  uniqueEmail,
  type GraphQLResult,
  type Running,
} from '../support/supergraph.js';
import { authSigningKeys, startServices, type ServiceName, type Services } from './services.js';
import type { PhaseReply, PhaseRequest } from './booking-load-child.js';
import { percentile } from './support.js';
import { SITE_ZONE } from '../support/fixtures.js';
import migrate from '../support/global-setup.js';

const SEED_DAYS = 60;
const MEASURED_BAYS = 8;
const EXTRA_SITES = 50;
const EXTRA_BAYS = 4;
const DURATION_MIN = 30;
/** BOOKING_BUFFER_MINUTES' default: the bay stays busy this long after a wash. */
const BUFFER_MIN = 10;
const CHUNK = 1_000;
/** createBooking runs on local days from here on, away from the seeded 60 days (the one-customer load). */
const CREATE_FIRST_DAY = 90;
/** The many-customer load's first local day: past every start the one-customer load can use in a run. */
const MANY_FIRST_DAY = 135;
const CREATE_STEP_MIN = 30;
const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const LIVE = `('HELD', 'CONFIRMED', 'IN_PROGRESS')`;
const SLOTS_WARMUP = 100;
const CREATE_WARMUP = 40;

const EVERY_DAY = ['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY', 'SUNDAY'];
const SLOTS = `query($site: ID!, $service: ID!, $date: Date!) { availableSlots(siteId: $site, serviceId: $service, date: $date) { startsAt endsAt freeBays } }`;
const CREATE = `mutation($input: CreateBookingInput!) { createBooking(input: $input) { id status bay startsAt } }`;

const MAX_MEASURED_CELLS = Math.floor((SEED_DAYS * MEASURED_BAYS * 24) / 2);
/** Most reservations the grid holds. */
export const MAX_SEED = MAX_MEASURED_CELLS + EXTRA_SITES * EXTRA_BAYS * SEED_DAYS * 24;
/**
 * Most one-customer bookings one run can make (warm-ups included): distinct start times 30 minutes apart
 * on the measured site, days 90 to 134 (the many-customer load starts on day 135).
 */
export const MAX_CREATE = Math.floor(((MANY_FIRST_DAY - CREATE_FIRST_DAY - 1) * 24 * 60) / CREATE_STEP_MIN);
/** Most many-customer bookings one run can make: 51 sites × start times 30 minutes apart, days 135 to 360. */
export const MAX_MANY_CREATE =
  Math.floor(((365 - MANY_FIRST_DAY - 5) * 24 * 60) / CREATE_STEP_MIN) * (EXTRA_SITES + 1);

/** One configuration of the booking subgraph under test; contenders run on the same data, alternately. */
export interface Contender {
  name: string;
  /** Settings of its booking subgraph (over the test defaults). */
  bookingEnv: Record<string, string>;
  /**
   * `processes`: the gateway and each subgraph as a process of its own, as production runs them
   * (services.ts); its SQL statements are not counted. Default `in-process`: the whole supergraph in
   * this process, as the e2e tests start it. The first contender must be in-process (it seeds and checks).
   */
  layout?: 'in-process' | 'processes';
  /** `processes` only: the checkout whose services run (services.ts `root`; default this one). */
  root?: string;
  /** false: it only seeds and checks (the first contender), its phases are not run. Default true. */
  measured?: boolean;
  /** `processes` only: settings for every one of its service processes (e.g. NODE_ENV), over the others. */
  processEnv?: Record<string, string>;
}

/** Where a contender is reached: its gateway. */
interface Target {
  gatewayUrl: string;
  gql: Running['gql'];
  /** Whether its SQL statements are counted (in-process subgraphs only). */
  counted: boolean;
  /** CPU time of each service process (process-per-service contenders only). */
  usage?: Services['usage'];
}

/** The booking subgraph with its caches off (peers' answers, free slots): the peer each tuned run is compared with. */
export const CACHES_OFF: Contender = {
  name: 'caches off',
  bookingEnv: {
    BOOKING_PEER_CACHE_TTL_MS: '0',
    BOOKING_SLOTS_CACHE_TTL_MS: '0',
    BOOKING_SERVICE_CACHE_TTL_MS: '0',
  },
};

/** The tuned build as production lays it out: the contender the issue's target is judged on. */
export const TUNED_PROCESSES: Contender = {
  name: 'tuned, process per service',
  bookingEnv: {},
  layout: 'processes',
};
/** The same build with its caches off, laid out alike: what the caches are worth. */
export const CACHES_OFF_PROCESSES: Contender = {
  ...CACHES_OFF,
  name: 'caches off, process per service',
  layout: 'processes',
};
/** The tuned build with the whole supergraph in one process (the e2e layout, and the one the earlier runs measured). */
export const TUNED_ONE_PROCESS: Contender = { name: 'tuned, one process', bookingEnv: {} };

/** Settings every contender's services share: small pools where the load does not go (payment, auth, location). */
const SERVICE_ENV = {
  // The production default (the test supergraph's 20, with several supergraphs in one run, ran a
  // shared server out of connections).
  booking: { BOOKING_DATABASE_POOL_SIZE: '10' },
  // Payment takes no part in this load; auth and location answer booking's (cached) checks and the setup.
  payment: { PAYMENT_DATABASE_POOL_SIZE: '2' },
  auth: { AUTH_DATABASE_POOL_SIZE: '4' },
  location: { LOCATION_DATABASE_POOL_SIZE: '4' },
};

export interface BookingLoadOptions {
  slotsRequests: number;
  /** createBooking per round by `concurrency` customers, one per connection, over the run's sites. */
  createRequests: number;
  /** createBooking per round by ONE customer on the measured site (the earlier load); 0 = not measured. */
  oneCustomerRequests: number;
  concurrency: number;
  seed: number;
  /** Rounds per contender (each round: one availableSlots phase, one createBooking phase). */
  rounds: number;
  /**
   * Before the first round, once per measured contender and not counted: this many availableSlots and
   * many-customer createBooking requests, so round 1 meets processes whose hot code the JIT has already
   * compiled, as a process that has served traffic for a while (default 0: none).
   */
  processWarmup?: { slots: number; create: number };
  contenders: readonly Contender[];
  /** Stop issuing requests after this instant (ms since the epoch; read before every request); the run then fails. */
  deadline: number;
  log: (line: string) => void;
}

/** The figures of one phase. */
export interface PhaseFigures {
  requests: number;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** Responses that were neither a success nor (createBooking) BOOKING_SLOT_TAKEN. */
  errors: number;
  /** createBooking: BOOKING_SLOT_TAKEN answers (a lost race with no bay left; expected, not an error). */
  taken: number;
  /** SQL statements per request sent by the booking and the location subgraphs. */
  bookingStatements: number;
  locationStatements: number;
  /** The 1-minute load average when the phase ended. */
  load1: number;
}

export interface ContenderFigures {
  contender: Contender;
  slots: PhaseFigures[];
  /** The many-customer load. */
  create: PhaseFigures[];
  /** The one-customer load (empty when not measured). */
  createOne: PhaseFigures[];
}

export interface BookingLoadResult {
  ok: boolean;
  figures: ContenderFigures[];
  /** Setup, checks and errors, as sentences. */
  notes: string[];
}

export class TimeLimit extends Error {}

/** Each service's settings with `extra` over them. */
function withEach<S extends string>(
  env: Record<S, Record<string, string>>,
  extra: Record<string, string>,
): Record<S, Record<string, string>> {
  return Object.fromEntries(
    Object.entries(env).map(([s, e]) => [s, { ...(e as object), ...extra }]),
  ) as Record<S, Record<string, string>>;
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

interface PhaseStats {
  requests: number;
  wallMs: number;
  latencies: number[];
  codes: Map<string, number>;
  firstError: Map<string, string>;
  bookingStatements: number;
  locationStatements: number;
  /** CPU ms per request of each service process during the phase (process-per-service contenders only). */
  cpuPerRequest: Partial<Record<ServiceName, number>>;
}

/** The forked client of booking-load-child.ts: one phase at a time. */
interface LoadClient {
  run(request: PhaseRequest): Promise<PhaseReply>;
  stop(): void;
}

/** Forks the client (through tsx, as the benchmarks run). */
function startClient(): LoadClient {
  const child: ChildProcess = fork(new URL('./booking-load-child.ts', import.meta.url), {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return {
    run: (request) =>
      new Promise<PhaseReply>((resolve, reject) => {
        const onExit = (code: number | null) => reject(new Error(`the load client exited (${code})`));
        child.once('exit', onExit);
        child.once('message', (msg: { ok: boolean; reply?: PhaseReply; error?: string }) => {
          child.off('exit', onExit);
          if (!msg.ok || !msg.reply) reject(new Error(`the load client failed: ${msg.error}`));
          else resolve(msg.reply);
        });
        child.send(request);
      }),
    stop: () => void child.kill(),
  };
}

/**
 * One phase through the client process: the requests at `request.concurrency`, timed there; the SQL
 * statements the servers (in this process) sent meanwhile counted here. Throws when the deadline cut it short.
 */
async function phase(
  client: LoadClient,
  request: PhaseRequest,
  what: string,
  counted: boolean,
  usage?: Services['usage'],
): Promise<PhaseStats & { bookingIds: string[] }> {
  const statements = [bookingStatements.count, locationStatements.count];
  const cpu0 = usage?.();
  const reply = await client.run(request);
  const cpu1 = usage?.();
  const cpuPerRequest: Partial<Record<ServiceName, number>> = {};
  if (cpu0 && cpu1 && reply.latencies.length)
    for (const [s, u] of Object.entries(cpu1) as Array<[ServiceName, { cpuMs: number }]>) {
      const before = cpu0[s];
      if (before) cpuPerRequest[s] = (u.cpuMs - before.cpuMs) / reply.latencies.length;
    }
  if (reply.timedOut)
    throw new TimeLimit(
      `time is up during ${what} (${reply.latencies.length} of ${request.requests.length} requests done)`,
    );
  return {
    requests: reply.latencies.length,
    wallMs: reply.wallMs,
    latencies: reply.latencies,
    codes: new Map(reply.codes),
    firstError: new Map(reply.firstError),
    bookingStatements: counted ? bookingStatements.count - statements[0]! : Number.NaN,
    locationStatements: counted ? locationStatements.count - statements[1]! : Number.NaN,
    cpuPerRequest,
    bookingIds: reply.bookingIds,
  };
}

function figures(stats: PhaseStats, taken = 0): PhaseFigures {
  const l = stats.latencies;
  const per = (n: number) => (stats.requests ? n / stats.requests : 0);
  return {
    requests: stats.requests,
    rps: stats.requests / (stats.wallMs / 1000),
    p50: percentile(l, 50),
    p95: percentile(l, 95),
    p99: percentile(l, 99),
    max: l[l.length - 1] ?? Number.NaN,
    errors: stats.requests - (stats.codes.get('ok') ?? 0) - taken,
    taken,
    bookingStatements: per(stats.bookingStatements),
    locationStatements: per(stats.locationStatements),
    load1: loadavg()[0]!,
  };
}

const count = (n: number) => (Number.isNaN(n) ? 'n/a' : n.toFixed(1));

/** One phase's figures as a log line. */
export function describePhase(f: PhaseFigures, concurrency: number): string {
  return `${f.requests} requests, concurrency ${concurrency}: ${Math.round(f.rps)} req/s, p50 ${ms(f.p50)} ms, p95 ${ms(f.p95)} ms, p99 ${ms(f.p99)} ms, max ${ms(f.max)} ms, errors ${f.errors}${f.taken ? `, BOOKING_SLOT_TAKEN ${f.taken}` : ''}; SQL statements per request: booking ${count(f.bookingStatements)}, location ${count(f.locationStatements)}; load ${f.load1.toFixed(2)}`;
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
const localDate = (offset: number) => DateTime.now().setZone(SITE_ZONE).plus({ days: offset }).toISODate()!;

interface Cleanup {
  siteIds: string[];
  bookingIds: string[];
}

interface Fixture {
  siteId: string;
  /** Every site of the run, the measured one first. */
  siteIds: string[];
  serviceId: string;
  client: { id: string; token: string };
  /** The many-customer load's clients, one per connection. */
  customers: Array<{ id: string; token: string }>;
}

/** The measured site, the 50 others, the service and the seeded reservations (through the first supergraph). */
async function setUp(o: BookingLoadOptions, sg: Running, cleanup: Cleanup): Promise<Fixture> {
  const manager = await user(sg, 'MANAGER');
  const client = await user(sg, 'CLIENT');
  const created = must(
    await sg.gql<{ createSite: { id: string } }>(
      `mutation($input: CreateSiteInput!) { createSite(input: $input) { id } }`,
      {
        input: {
          name: `Bench Berlin ${randomUUID().slice(0, 6)}`,
          address: { line1: 'Benchstraße 1', city: 'Berlin', postalCode: '10115', country: 'DE' },
          timeZone: SITE_ZONE,
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
    timeZone: SITE_ZONE,
    latitude: 52.35 + (i % 10) * 0.04,
    longitude: 13.1 + Math.floor(i / 10) * 0.1,
    bays: EXTRA_BAYS,
  }));
  cleanup.siteIds.push(...extraSites.map((s) => s.id));
  await sg.location.db.washSite.createMany({ data: extraSites });
  // Open 00:00–24:00 every day, as setWeeklyHours stores it (ISO weekday 1 = Monday … 7), so they take bookings.
  await sg.location.db.operatingHours.createMany({
    data: extraSites.flatMap((site) =>
      [1, 2, 3, 4, 5, 6, 7].map((weekday) => ({
        siteId: site.id,
        weekday,
        opensAt: '00:00',
        closesAt: '24:00',
      })),
    ),
  });
  // The many-customer load's clients: one per connection.
  const customers: Array<{ id: string; token: string }> = [];
  for (let i = 0; i < o.concurrency; i += 5)
    customers.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(5, o.concurrency - i) }, () => user(sg, 'CLIENT')),
      )),
    );
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
  o.log(
    `[setup] manager, client, ${customers.length} more clients (one per connection), 1 site with ${MEASURED_BAYS} bays open 00:00–24:00 daily (${siteId}), ${EXTRA_SITES} more sites with ${EXTRA_BAYS} bays open alike, a ${DURATION_MIN}-minute service`,
  );

  // Cells (site, bay, UTC day 1…60, hour) hold one 30 + 10 minute block each.
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
    if (Date.now() > o.deadline) throw new TimeLimit('time is up during seeding');
    await sg.booking.db.reservation.createMany({ data: rows.slice(i, i + CHUNK) });
  }
  const seedMs = performance.now() - seedStart;
  const total = await sg.booking.db.reservation.count();
  const onBench = await sg.booking.db.reservation.count({ where: { siteId: { in: cleanup.siteIds } } });
  o.log(
    `[seed] ${rows.length} reservations in ${Math.ceil(rows.length / CHUNK)} chunks of ≤${CHUNK} in ${ms(seedMs)} ms` +
      (rows.length ? ` (${Math.round(rows.length / (seedMs / 1000))} rows/s)` : '') +
      `; ${measuredCount} on the measured site over ${SEED_DAYS} days; booking_reservations now holds ${total} rows (${onBench} on this run's sites)`,
  );
  return {
    siteId,
    siteIds: [siteId, ...extraSites.map((x) => x.id)],
    serviceId: service.id,
    client,
    customers,
  };
}

/** Measures every contender, round after round, and checks the table afterwards. */
async function measure(
  o: BookingLoadOptions,
  first: Running,
  targets: Target[],
  fixture: Fixture,
  cleanup: Cleanup,
  notes: string[],
  results: ContenderFigures[],
  loadClient: LoadClient,
): Promise<boolean> {
  let ok = true;
  const { siteId, siteIds, serviceId, client, customers } = fixture;
  const dates = Array.from({ length: SEED_DAYS }, (_, i) => localDate(i + 1));
  type SlotsData = { availableSlots: Array<{ startsAt: string; endsAt: string; freeBays: number }> };
  const slots = (sg: Target, date: string) =>
    sg.gql<SlotsData>(SLOTS, { site: siteId, service: serviceId, date }, client.token);

  // Every contender answers the first day alike, and the day is partly booked.
  const firstDate = dates[0]!;
  const samples = await Promise.all(
    targets.map(async (sg) => must(await slots(sg, firstDate), 'availableSlots sample').availableSlots),
  );
  const sample = samples[0]!;
  const dayStart = DateTime.fromISO(firstDate, { zone: SITE_ZONE });
  const booked = await first.booking.db.reservation.count({
    where: { siteId, startsAt: { gte: dayStart.toJSDate(), lt: dayStart.plus({ days: 1 }).toJSDate() } },
  });
  const freeBaySlots = sample.reduce((sum, s) => sum + s.freeBays, 0);
  o.log(
    `[availableSlots] first measured day ${firstDate}: ${booked} live reservations on the site, ${sample.length} start times offered, ${freeBaySlots} of ${sample.length * MEASURED_BAYS} bay-slots free`,
  );
  if (sample.length === 0 || freeBaySlots >= sample.length * MEASURED_BAYS) {
    notes.push('availableSlots sanity check FAILED: the first measured day should be partly booked.');
    ok = false;
  }
  if (samples.some((s) => JSON.stringify(s) !== JSON.stringify(sample))) {
    notes.push('availableSlots check FAILED: the contenders answered the first measured day differently.');
    ok = false;
  }

  // Start times of every booking of the run, warm-ups included, 30 minutes apart from day 90 on.
  const createBase = DateTime.fromISO(localDate(CREATE_FIRST_DAY), { zone: SITE_ZONE }).toMillis();
  const manyBase = DateTime.fromISO(localDate(MANY_FIRST_DAY), { zone: SITE_ZONE }).toMillis();
  let nextStart = 0;
  let nextMany = 0;
  let successes = 0;
  const request = (
    sg: Target,
    check: PhaseRequest['check'],
    requests: PhaseRequest['requests'],
  ): PhaseRequest => ({
    url: sg.gatewayUrl,
    token: client.token,
    concurrency: o.concurrency,
    deadline: o.deadline,
    check,
    maxBays: MEASURED_BAYS,
    requests,
  });
  const slotsPhase = async (sg: Target, n: number, what: string) => {
    const requests = Array.from({ length: n }, (_, i) => ({
      query: SLOTS,
      variables: { site: siteId, service: serviceId, date: dates[i % dates.length]! },
    }));
    const stats = await phase(loadClient, request(sg, 'slots', requests), what, sg.counted, sg.usage);
    const f = figures(stats);
    report(what, stats, f);
    return f;
  };
  /** `many`: a customer per connection over every site of the run; `one`: the client alone on the measured site. */
  const createPhase = async (sg: Target, n: number, what: string, who: 'many' | 'one') => {
    const base = who === 'many' ? nextMany : nextStart;
    if (who === 'many') nextMany += n;
    else nextStart += n;
    const requests = Array.from({ length: n }, (_, i) => {
      const k = base + i;
      const input =
        who === 'many'
          ? {
              siteId: siteIds[k % siteIds.length]!,
              serviceId,
              startsAt: new Date(
                manyBase + Math.floor(k / siteIds.length) * CREATE_STEP_MIN * MINUTE,
              ).toISOString(),
            }
          : {
              siteId,
              serviceId,
              startsAt: new Date(createBase + k * CREATE_STEP_MIN * MINUTE).toISOString(),
            };
      return { query: CREATE, variables: { input } };
    });
    const r = request(sg, 'create', requests);
    if (who === 'many') r.tokens = customers.map((c) => c.token);
    const stats = await phase(loadClient, r, what, sg.counted, sg.usage);
    cleanup.bookingIds.push(...stats.bookingIds);
    successes += stats.codes.get('ok') ?? 0;
    const f = figures(stats, stats.codes.get('BOOKING_SLOT_TAKEN') ?? 0);
    report(what, stats, f);
    return f;
  };
  const report = (what: string, stats: PhaseStats, f: PhaseFigures) => {
    const cpu = Object.entries(stats.cpuPerRequest);
    o.log(
      `[${what}] ${describePhase(f, o.concurrency)}` +
        (cpu.length
          ? `; CPU ms/request ${cpu.map(([s, ms]) => `${s} ${ms.toFixed(2)}`).join(', ')}, total ${cpu.reduce((a, [, ms]) => a + ms, 0).toFixed(2)}`
          : ''),
    );
    for (const [code, message] of stats.firstError)
      if (code !== 'BOOKING_SLOT_TAKEN') {
        o.log(`[${what}]   ${code} ×${stats.codes.get(code)}: ${message}`);
        notes.push(`${what}: ${code} ×${stats.codes.get(code)} (${message.slice(0, 200)}).`);
      }
    if (f.errors > 0) ok = false;
  };

  const deadlocksBefore = await deadlocks(first);
  // Each measured phase is preceded by a warm-up of the same contender on the same load: its caches then
  // hold what they hold under sustained traffic (every date once, every site and customer once), not
  // what a 30-second TTL left of the round before. What a cold entry costs is the warm-up's (logged).
  const manyWarmup = Math.min(EXTRA_SITES + 1 + o.concurrency, o.createRequests);
  if (o.processWarmup)
    for (let i = 0; i < targets.length; i++) {
      if (o.contenders[i]!.measured === false) continue;
      const what = `process warm-up, ${o.contenders[i]!.name}`;
      if (o.processWarmup.slots > 0)
        await slotsPhase(targets[i]!, o.processWarmup.slots, `availableSlots ${what}`);
      if (o.processWarmup.create > 0)
        await createPhase(targets[i]!, o.processWarmup.create, `createBooking ${what}`, 'many');
    }
  for (let round = 0; round < o.rounds; round++) {
    const order = targets.map((_, i) => i).filter((i) => o.contenders[i]!.measured !== false);
    if (round % 2 === 1) order.reverse();
    for (const i of order) {
      const what = `${o.contenders[i]!.name}, round ${round + 1}`;
      await slotsPhase(
        targets[i]!,
        Math.min(SLOTS_WARMUP, o.slotsRequests),
        `availableSlots warm-up, ${what}`,
      );
      results[i]!.slots.push(await slotsPhase(targets[i]!, o.slotsRequests, `availableSlots, ${what}`));
    }
    for (const i of order) {
      const what = `${o.contenders[i]!.name}, round ${round + 1}`;
      await createPhase(targets[i]!, manyWarmup, `createBooking warm-up, ${what}`, 'many');
      results[i]!.create.push(
        await createPhase(targets[i]!, o.createRequests, `createBooking, ${what}`, 'many'),
      );
    }
    if (o.oneCustomerRequests > 0)
      for (const i of order) {
        const what = `${o.contenders[i]!.name}, round ${round + 1}`;
        await createPhase(
          targets[i]!,
          Math.min(CREATE_WARMUP, o.concurrency, o.oneCustomerRequests),
          `createBooking one customer warm-up, ${what}`,
          'one',
        );
        results[i]!.createOne.push(
          await createPhase(targets[i]!, o.oneCustomerRequests, `createBooking one customer, ${what}`, 'one'),
        );
      }
  }

  const held = await first.booking.db.reservation.count({
    where: { siteId: { in: siteIds }, status: 'HELD' },
  });
  notes.push(
    `HELD reservations on the run's sites in the database: ${held}, successful createBooking answers: ${successes}${held === successes ? '' : ' — MISMATCH'}.`,
  );
  if (held !== successes) ok = false;

  // No two live reservations overlap on one bay, anywhere in the table.
  const checkStart = performance.now();
  const [overlap] = await first.booking.db.$queryRawUnsafe<Array<{ pairs: bigint; live: bigint }>>(`
    SELECT
      (SELECT count(*) FROM booking_reservations a
         JOIN booking_reservations b
           ON a.site_id = b.site_id AND a.bay = b.bay AND a.id < b.id
          AND tstzrange(a.starts_at, a.blocked_until, '[)') && tstzrange(b.starts_at, b.blocked_until, '[)')
        WHERE a.status IN ${LIVE} AND b.status IN ${LIVE}) AS pairs,
      (SELECT count(*) FROM booking_reservations WHERE status IN ${LIVE}) AS live`);
  const pairs = Number(overlap?.pairs ?? -1);
  notes.push(
    `Overlapping live reservations on one bay: ${pairs} pairs among ${Number(overlap?.live ?? 0)} live reservations (${ms(performance.now() - checkStart)} ms) — ${pairs === 0 ? 'OK' : 'FAILED'}.`,
  );
  if (pairs !== 0) ok = false;
  // The gateway masks server errors; PostgreSQL's counter tells whether deadlocks caused them. It
  // counts the whole booking database and backends report it lazily (up to ~10 s late).
  notes.push(
    `PostgreSQL deadlocks in the booking database since createBooking began (pg_stat_database, may lag): ${(await deadlocks(first)) - deadlocksBefore}.`,
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
async function removeRows(sg: Running, cleanup: Cleanup): Promise<string> {
  if (cleanup.siteIds.length === 0) return 'nothing to delete';
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
  return `deleted ${reservations} reservations, ${events} outbox events, ${sites} sites`;
}

/**
 * The whole run: supergraphs up, setup, rounds, checks, cleanup, supergraphs down. Never throws for
 * a failure of the run itself: `ok` is false and the notes say why.
 */
export async function runBookingLoad(o: BookingLoadOptions): Promise<BookingLoadResult> {
  const notes: string[] = [];
  // The one-customer load's starts are one site's (the many-customer load's spread over 51 sites, later days).
  const creates =
    o.contenders.length *
    o.rounds *
    (o.oneCustomerRequests + Math.min(CREATE_WARMUP, o.concurrency, o.oneCustomerRequests));
  const manyCreates =
    o.contenders.length *
    (o.rounds * (o.createRequests + Math.min(EXTRA_SITES + 1 + o.concurrency, o.createRequests)) +
      (o.processWarmup?.create ?? 0));
  if (creates > MAX_CREATE || manyCreates > MAX_MANY_CREATE)
    return {
      ok: false,
      figures: [],
      notes: [
        `${creates} one-customer / ${manyCreates} many-customer bookings do not fit the ${MAX_CREATE} / ${MAX_MANY_CREATE} start times of a run.`,
      ],
    };
  // Every feature's migrations first (creating the databases if needed): on a fresh machine the booking
  // load may be the first thing to touch them.
  migrate();
  const t0 = performance.now();
  const supergraphs: Running[] = [];
  const processes: Services[] = [];
  const targets: Target[] = [];
  const cleanup: Cleanup = { siteIds: [], bookingIds: [] };
  let ok: boolean;
  let loadClient: LoadClient | undefined;
  // Filled phase by phase: a run stopped by its deadline still reports what it measured.
  const figures: ContenderFigures[] = o.contenders.map((contender) => ({
    contender,
    slots: [],
    create: [],
    createOne: [],
  }));
  try {
    if (o.contenders[0]?.layout === 'processes') throw new Error('the first contender must run in-process');
    // One signing key for every copy of auth, so the client's token is good at every gateway.
    const signingKeys = await authSigningKeys();
    for (const contender of o.contenders) {
      // One client makes every one-customer booking of the run, each other client up to all the others
      // (warm-ups included): lift the live-hold cap above both, so its check and lock are measured but never refuse.
      const booking = {
        ...SERVICE_ENV.booking,
        BOOKING_MAX_LIVE_HOLDS: String(Math.max(creates, manyCreates) + 1),
        ...contender.bookingEnv,
      };
      if (contender.layout === 'processes') {
        // BENCH_BOOKING_CPU_PROF=<dir>: the services of this checkout write CPU profiles there (one folder each).
        const profDir = contender.root ? undefined : process.env.BENCH_BOOKING_CPU_PROF;
        const services = await startServices({
          ...(contender.root ? { root: contender.root } : {}),
          ...(profDir
            ? {
                nodeFlags: Object.fromEntries(
                  (['gateway', 'booking', 'location', 'auth'] as const).map((s) => [
                    s,
                    ['--cpu-prof', `--cpu-prof-dir=${profDir}/${s}`],
                  ]),
                ),
              }
            : {}),
          env: withEach(
            {
              ...SERVICE_ENV,
              gateway: {},
              auth: { ...SERVICE_ENV.auth, AUTH_JWT_PRIVATE_KEYS: signingKeys },
              booking,
            },
            contender.processEnv ?? {},
          ),
        });
        processes.push(services);
        targets.push({
          gatewayUrl: services.gatewayUrl,
          gql: (query, variables, token) => postGraphQL(services.gatewayUrl, query, variables, token),
          counted: false,
          usage: () => services.usage(),
        });
      } else {
        const sg = await startSupergraph({
          authEnv: { ...SERVICE_ENV.auth, AUTH_JWT_PRIVATE_KEYS: signingKeys },
          bookingEnv: booking,
          paymentEnv: SERVICE_ENV.payment,
        });
        supergraphs.push(sg);
        targets.push({ gatewayUrl: sg.gatewayUrl, gql: sg.gql, counted: true });
      }
    }
    o.log(
      `[setup] ${supergraphs.length} in-process supergraph(s) and ${processes.length} with a process per service (auth, location, booking, payment, gateway) up in ${ms(performance.now() - t0)} ms`,
    );
    const fixture = await setUp(o, supergraphs[0]!, cleanup);
    loadClient = startClient();
    ok = await measure(o, supergraphs[0]!, targets, fixture, cleanup, notes, figures, loadClient);
  } catch (err) {
    notes.push(
      `The run FAILED${err instanceof TimeLimit ? '' : ' with an unexpected error'}: ${err instanceof Error ? err.message : String(err)}.`,
    );
    if (!(err instanceof TimeLimit)) o.log(err instanceof Error ? (err.stack ?? err.message) : String(err));
    ok = false;
  } finally {
    loadClient?.stop();
    if (supergraphs[0]) {
      try {
        o.log(`[cleanup] ${await removeRows(supergraphs[0], cleanup)}`);
      } catch (err) {
        notes.push(`Cleanup failed: ${err instanceof Error ? err.message : String(err)}.`);
        ok = false;
      }
    }
    for (const sg of [...processes, ...supergraphs]) {
      try {
        await sg.stop();
      } catch (err) {
        notes.push(`Stopping a supergraph failed: ${err instanceof Error ? err.message : String(err)}.`);
        ok = false;
      }
    }
  }
  return { ok, figures, notes };
}
