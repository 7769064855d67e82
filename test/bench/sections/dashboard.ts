/**
 * `pnpm bench` section `dashboard`: a manager's dashboard through the supergraph against its SQL floor.
 *
 * The dashboard is `site(id) { bookings(date) { … customer, washer, site, service, payment } }` — one
 * site's bookings for one local day, as a manager reads them, through the gateway and all four
 * subgraphs. The floor is the same data fetched by one hand-written statement per feature database,
 * served by bare `node:http` + `pg` in a child process (dashboard-floor.ts). autocannon runs in a child
 * of its own (../load.ts).
 *
 * Process layout: the supergraph under load runs as production runs it, one Node process per service
 * (gateway, auth, booking, payment, location; ../services.ts) on the same databases. A second copy runs
 * inside this process, as the end-to-end tests start it: it seeds, counts SQL statements (its pools
 * count them) and is loaded too, as the "one process" contender, so the layout's effect is measured in
 * the same run.
 *
 * 1. Seeds, directly in each feature's database, three sites with 10, 100 and 1,000 bookings on one
 *    day (customers, washers, services, a captured payment per booking). Every row is this run's and
 *    is deleted at the end (the signed-up manager stays, as in the e2e tests).
 * 2. Checks once that both supergraphs and the floor return the same data (normalised JSON).
 * 3. N+1: SQL statements per dashboard request, per feature, for 10, 100 and 1,000 bookings: must not grow.
 * 4. Loads the three with the 100-booking dashboard: a warm-up each, then rounds alternating them;
 *    every response is byte-compared with the first one (autocannon's expectBody). Reports the medians,
 *    the ratio supergraph / floor (target ≥ 0.35) and the CPU time each service process spent per request.
 */
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { sqlStatements as authStatements } from '@carwash/auth';
import { sqlStatements as bookingStatements } from '@carwash/booking';
import { sqlStatements as locationStatements } from '@carwash/location';
import { sqlStatements as paymentStatements } from '@carwash/payment';
import { DateTime } from 'luxon';
import migrate from '../../support/global-setup.js';
import { signUpAs, startSupergraph, type Running } from '../../support/supergraph.js';
import { startLoadGenerator, type LoadGenerator, type LoadResult } from '../load.js';
import { median, spread, type Section } from '../report.js';
import {
  authSigningKeys,
  SERVICES,
  startServices,
  type ProcessUsage,
  type ServiceName,
  type Services,
} from '../services.js';
import { SITE_ZONE } from '../../support/fixtures.js';

/** The ratio the issue sets: supergraph requests/s at least this share of the floor's. */
const TARGET_RATIO = 0.35;
const SIZES = [10, 100, 1_000] as const;
const LOADED_SIZE = 100;
const CONNECTIONS = 10;
/**
 * Bookings per bay on the day: 40-minute cells (30-minute wash, 10-minute buffer) from 00:30. Each bay
 * has its washer for the day (a washer is never in two jobs at once).
 */
const PER_BAY = 30;
const WASH_MIN = 30;
const BUFFER_MIN = 10;
const CUSTOMERS_PER_BOOKING = 0.5;
const SERVICE_ROWS = 5;

const PLAN = {
  full: { warmupS: 5, rounds: 5, durationS: 10 },
  quick: { warmupS: 2, rounds: 2, durationS: 4 },
};

export const DASHBOARD = `query Dashboard($site: ID!, $date: Date!) {
  site(id: $site) {
    id
    name
    bookings(date: $date) {
      id
      status
      startsAt
      endsAt
      bay
      price { amountCents currency }
      customer { id email firstName lastName }
      washer { id firstName lastName }
      site { id name }
      service { id name durationMinutes }
      payment { id status amount { amountCents currency } }
    }
  }
}`;

interface Seeded {
  siteId: string;
  bookingIds: string[];
  userIds: string[];
  serviceIds: string[];
}

/**
 * One site with `n` CONFIRMED, paid bookings on the local `date`, written directly. Its ids are pushed
 * onto `cleanup` before the first row is written, so a seed that fails halfway is removed too.
 */
export async function seed(
  sg: Running,
  n: number,
  date: string,
  tag: string,
  cleanup: Seeded[],
): Promise<Seeded> {
  const userRow = (role: 'CLIENT' | 'WASHER', i: number) => {
    const email = `dash-${tag}-${n}-${role.toLowerCase()}-${i}@example.test`;
    return {
      id: randomUUID(),
      email,
      emailNormalized: email,
      firstName: `${role === 'CLIENT' ? 'Client' : 'Washer'} ${i}`,
      lastName: `Bench ${n}`,
      role,
    };
  };
  const customers = Array.from({ length: Math.max(1, Math.ceil(n * CUSTOMERS_PER_BOOKING)) }, (_, i) =>
    userRow('CLIENT', i),
  );
  const bays = Math.ceil(n / PER_BAY);
  const washers = Array.from({ length: bays }, (_, i) => userRow('WASHER', i));
  const siteId = randomUUID();
  const services = Array.from({ length: SERVICE_ROWS }, (_, i) => ({
    id: randomUUID(),
    name: `Dashboard wash ${i} ${tag}`,
    durationMinutes: WASH_MIN,
    priceCents: 1000 + 100 * i,
    currency: 'EUR',
  }));
  const dayStart = DateTime.fromISO(date, { zone: SITE_ZONE }).startOf('day').plus({ minutes: 30 });
  const bookings = Array.from({ length: n }, (_, i) => {
    const service = services[i % SERVICE_ROWS]!;
    const bay = Math.floor(i / PER_BAY) + 1;
    const startsAt = dayStart.plus({ minutes: (i % PER_BAY) * (WASH_MIN + BUFFER_MIN) });
    return {
      id: randomUUID(),
      customerId: customers[i % customers.length]!.id,
      siteId,
      serviceId: service.id,
      washerId: washers[bay - 1]!.id,
      bay,
      startsAt: startsAt.toJSDate(),
      endsAt: startsAt.plus({ minutes: WASH_MIN }).toJSDate(),
      blockedUntil: startsAt.plus({ minutes: WASH_MIN + BUFFER_MIN }).toJSDate(),
      status: 'CONFIRMED' as const,
      serviceName: service.name,
      priceCents: service.priceCents,
      currency: 'EUR',
    };
  });
  const seeded: Seeded = {
    siteId,
    bookingIds: bookings.map((b) => b.id),
    userIds: [...customers, ...washers].map((u) => u.id),
    serviceIds: services.map((s) => s.id),
  };
  cleanup.push(seeded);
  await sg.auth.db.user.createMany({ data: [...customers, ...washers] });
  await sg.location.db.washSite.create({
    data: {
      id: siteId,
      name: `Dashboard ${n} ${tag}`,
      addressLine1: 'Benchweg 1',
      city: 'Berlin',
      postalCode: '10115',
      country: 'DE',
      timeZone: SITE_ZONE,
      latitude: 52.52,
      longitude: 13.405,
      bays,
    },
  });
  await sg.booking.db.service.createMany({ data: services });
  await sg.booking.db.reservation.createMany({ data: bookings });
  await sg.payment.db.transaction.createMany({
    data: bookings.map((b) => ({
      customerId: b.customerId,
      bookingId: b.id,
      amountCents: b.priceCents,
      currency: b.currency,
      capturedCents: b.priceCents,
      status: 'CAPTURED' as const,
      idempotencyKey: randomUUID(),
      providerKey: `bench-${b.id}`,
      requestHash: 'bench',
    })),
  });
  return seeded;
}

export async function unseed(sg: Running, s: Seeded): Promise<void> {
  await sg.payment.db.transaction.deleteMany({ where: { bookingId: { in: s.bookingIds } } });
  await sg.booking.db.reservation.deleteMany({ where: { siteId: s.siteId } });
  await sg.booking.db.service.deleteMany({ where: { id: { in: s.serviceIds } } });
  await sg.location.db.washSite.deleteMany({ where: { id: s.siteId } });
  await sg.auth.db.user.deleteMany({ where: { id: { in: s.userIds } } });
}

/** The floor server in its own process; resolves once it listens. */
async function startFloor(): Promise<{ url: string; stop(): void }> {
  const child = fork(new URL('./dashboard-floor.ts', import.meta.url), {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const [msg] = (await Promise.race([
    once(child, 'message'),
    once(child, 'exit').then(([code]) => {
      throw new Error(`the floor server exited (${String(code)})`);
    }),
  ])) as [{ port: number }];
  return { url: `http://127.0.0.1:${msg.port}`, stop: () => void child.kill('SIGTERM') };
}

/** Keys sorted at every level, so two answers compare by content, not by field order. */
function normalise(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalise);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => [k, normalise(v)]),
    );
  return value;
}

const counters = {
  auth: authStatements,
  booking: bookingStatements,
  location: locationStatements,
  payment: paymentStatements,
};
type Feature = keyof typeof counters;
const FEATURES = Object.keys(counters) as Feature[];

function snapshot(): Record<Feature, number> {
  return Object.fromEntries(FEATURES.map((f) => [f, counters[f].count])) as Record<Feature, number>;
}

const fixed = (n: number, digits = 0) => n.toFixed(digits);

/** CPU milliseconds a process spent between two readings (undefined if it was not running at both). */
function cpuSpent(before: ProcessUsage | undefined, after: ProcessUsage | undefined): number | undefined {
  return before && after ? after.cpuMs - before.cpuMs : undefined;
}

export const run: Section = async ({ quick, log }) => {
  const plan = quick ? PLAN.quick : PLAN.full;
  const notes: string[] = [];
  let ok = true;
  migrate();
  // One signing key for both copies of auth, so the manager's token is good at both gateways.
  const signingKeys = await authSigningKeys();
  const sg = await startSupergraph({ authEnv: { AUTH_JWT_PRIVATE_KEYS: signingKeys } });
  const seeded: Seeded[] = [];
  let floor: { url: string; stop(): void } | undefined;
  let load: LoadGenerator | undefined;
  let services: Services | undefined;
  try {
    services = await startServices({
      env: {
        auth: { AUTH_JWT_PRIVATE_KEYS: signingKeys },
        // The pool sizes the in-process supergraph runs with (startSupergraph).
        booking: { BOOKING_DATABASE_POOL_SIZE: '20' },
        payment: { PAYMENT_DATABASE_POOL_SIZE: '20' },
      },
    });
    const processes = services;
    log('dashboard: services started, one process each');
    const manager = await signUpAs(sg, 'MANAGER', 'Dana');
    // As many managers as connections: the "managers" contender sends each connection as its own, so no
    // request can share another's subgraph fetches (the gateway shares only under one identity).
    const managers: Array<{ token: string }> = [];
    for (let i = 0; i < CONNECTIONS; i++) managers.push(await signUpAs(sg, 'MANAGER', `Manager${i}`));
    const date = DateTime.now().setZone(SITE_ZONE).plus({ days: 30 }).toISODate()!;
    const tag = randomUUID().slice(0, 8);
    for (const n of SIZES) await seed(sg, n, date, tag, seeded);
    log(`dashboard: seeded ${SIZES.join(', ')} bookings on ${date}`);
    floor = await startFloor();

    const gatewayRequest = (siteId: string) => ({
      method: 'POST' as const,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${manager.token}` },
      body: JSON.stringify({ query: DASHBOARD, variables: { site: siteId, date } }),
    });
    const floorUrl = (siteId: string) => `${floor!.url}/dashboard?site=${siteId}&date=${date}`;
    const viaGateway = async (siteId: string, url = sg.gatewayUrl) => {
      const res = await fetch(url, gatewayRequest(siteId));
      return { status: res.status, text: await res.text() };
    };
    const viaFloor = async (siteId: string) => {
      const res = await fetch(floorUrl(siteId));
      return { status: res.status, text: await res.text() };
    };

    // ── Same data ───────────────────────────────────────────────────────────────────────────────
    for (const [i, n] of SIZES.entries()) {
      const s = seeded[i]!;
      const f = await viaFloor(s.siteId);
      const floorJson = JSON.stringify(normalise(JSON.parse(f.text)));
      for (const [layout, url] of [
        ['one process', sg.gatewayUrl],
        ['process per service', processes.gatewayUrl],
      ] as const) {
        const g = await viaGateway(s.siteId, url);
        const gj = JSON.parse(g.text) as { data?: { site?: { bookings?: unknown[] } }; errors?: unknown };
        const same = JSON.stringify(normalise(gj)) === floorJson;
        const count = gj.data?.site?.bookings?.length ?? 0;
        if (g.status !== 200 || f.status !== 200 || !same || count !== n) {
          ok = false;
          notes.push(
            `the supergraph (${layout}) and the floor DIFFER for ${n} bookings (HTTP ${g.status}/${f.status}, ${count} bookings): ${g.text.slice(0, 300)}`,
          );
        }
      }
    }
    if (ok)
      notes.push(
        `The supergraph (both layouts) and the floor returned the same data (normalised JSON) for ${SIZES.join(', ')} bookings.`,
      );

    // ── N+1 ─────────────────────────────────────────────────────────────────────────────────────
    const statementRows: Array<Array<string | number>> = [];
    const totals: number[] = [];
    for (const [i, n] of SIZES.entries()) {
      const s = seeded[i]!;
      await viaGateway(s.siteId); // warm: key sets, caches
      const before = snapshot();
      await viaGateway(s.siteId);
      const after = snapshot();
      const per = FEATURES.map((f) => after[f] - before[f]);
      const total = per.reduce((a, b) => a + b, 0);
      totals.push(total);
      statementRows.push([n, ...per, total]);
    }
    const constant = totals.every((t) => t === totals[0]);
    if (!constant) ok = false;
    notes.push(
      constant
        ? `SQL statements per dashboard request stay at ${totals[0]} from ${SIZES[0]} to ${SIZES.at(-1)} bookings: no N+1.`
        : `SQL statements per dashboard request GROW with the bookings (${totals.join(' → ')}): an N+1.`,
    );

    // ── Load ────────────────────────────────────────────────────────────────────────────────────
    const loaded = seeded[SIZES.indexOf(LOADED_SIZE)]!;
    const expected = {
      supergraph: (await viaGateway(loaded.siteId, processes.gatewayUrl)).text,
      oneProcess: (await viaGateway(loaded.siteId)).text,
      floor: (await viaFloor(loaded.siteId)).text,
    };
    load = startLoadGenerator();
    const cpu: Partial<Record<ServiceName, number[]>> = {};
    const managersCpu: Partial<Record<ServiceName, number[]>> = {};
    const oneProcessCpu: number[] = [];
    /** The dashboard query through a gateway at `url`, whose every answer must be `expectBody`. */
    const throughGateway = (url: string, expectBody: string, duration: number, bearerTokens?: string[]) =>
      load!.run({
        url,
        ...gatewayRequest(loaded.siteId),
        connections: CONNECTIONS,
        duration,
        expectBody,
        bearerTokens,
      });
    /** The process-per-service supergraph under load, its CPU per request pushed onto `into`. */
    const measured = async (
      into: Partial<Record<ServiceName, number[]>>,
      duration: number,
      bearerTokens?: string[],
    ) => {
      const before = processes.usage();
      const res = await throughGateway(processes.gatewayUrl, expected.supergraph, duration, bearerTokens);
      const after = processes.usage();
      for (const s of SERVICES) {
        const spent = cpuSpent(before[s], after[s]);
        if (spent !== undefined && res.requests > 0) (into[s] ??= []).push(spent / res.requests);
      }
      return res;
    };
    const contenders = {
      supergraph: (duration: number) => measured(cpu, duration),
      managers: (duration: number) =>
        measured(
          managersCpu,
          duration,
          managers.map((m) => m.token),
        ),
      oneProcess: async (duration: number) => {
        // This process hosts those five services (and nothing else that runs meanwhile).
        const before = process.cpuUsage();
        const res = await throughGateway(sg.gatewayUrl, expected.oneProcess, duration);
        const spent = process.cpuUsage(before);
        if (res.requests > 0) oneProcessCpu.push((spent.user + spent.system) / 1000 / res.requests);
        return res;
      },
      floor: (duration: number) =>
        load!.run({
          url: floorUrl(loaded.siteId),
          connections: CONNECTIONS,
          duration,
          expectBody: expected.floor,
        }),
    };
    type Name = keyof typeof contenders;
    const names = Object.keys(contenders) as Name[];
    for (const name of names) {
      const w = await contenders[name](plan.warmupS);
      log(`dashboard: warm-up ${name} ${fixed(w.rps)} req/s`);
    }
    const rounds: Record<Name, LoadResult[]> = { supergraph: [], managers: [], oneProcess: [], floor: [] };
    const failures: string[] = [];
    for (let r = 0; r < plan.rounds; r++) {
      // Alternate who goes first, so neither always runs on a machine the other just warmed.
      for (const name of r % 2 === 0 ? names : [...names].reverse()) {
        const res = await contenders[name](plan.durationS);
        rounds[name].push(res);
        log(
          `dashboard: round ${r + 1} ${name} ${fixed(res.rps)} req/s, p99 ${res.p99} ms, errors ${res.errors}`,
        );
        if (res.errors > 0) failures.push(`${name} round ${r + 1}: ${res.errorKinds}`);
      }
    }
    const rps = (name: Name) => median(rounds[name].map((x) => x.rps));
    const ratio = rps('supergraph') / rps('floor');
    const oneProcessRatio = rps('oneProcess') / rps('floor');
    const managersRatio = rps('managers') / rps('floor');
    const errors = names.reduce((sum, name) => sum + rounds[name].reduce((a, x) => a + x.errors, 0), 0);
    if (errors > 0) {
      ok = false;
      notes.push(
        `${errors} requests failed or answered other bytes than the first response under load (${failures.join('; ')}).`,
      );
    } else
      notes.push('Every response under load was byte-identical to the first one (autocannon expectBody).');
    // The issue's target is on its load: the same query on every connection, as the floor gets it, with the
    // fetch sharing it names (same identity only). Ten managers are reported beside it: no fetch is shared.
    if (ratio < TARGET_RATIO) ok = false;
    const perRequest = (of: Partial<Record<ServiceName, number[]>>) =>
      `${SERVICES.map((s) => `${s} ${fixed(median(of[s] ?? [NaN]), 1)} ms`).join(', ')}; ${fixed(
        SERVICES.reduce((a, s) => a + median(of[s] ?? [NaN]), 0),
        1,
      )} ms in all`;
    notes.push(
      `Supergraph / floor = ${fixed(ratio, 2)}× with one manager on every connection, ${fixed(managersRatio, 2)}× with ${CONNECTIONS} managers, one per connection (target ≥ ${TARGET_RATIO}×, judged on the first: the issue's load, the same query on every connection as the floor gets it; the second is reported, not judged). ${CONNECTIONS} connections, ${plan.rounds} rounds of ${plan.durationS} s each after a ${plan.warmupS} s warm-up, alternating; medians.`,
      `One manager's ${CONNECTIONS} connections send the same query under the same token, so the gateway sends most of their subgraph fetches once for several requests (identical queries in flight, shared only under one identity: SUBGRAPH_DEDUPE); ${CONNECTIONS} managers share nothing, and that is what a dashboard read by many managers costs: sharing their answers needs a cache across identities, which the issue rules out for in-flight sharing (a cache the bus invalidates is the planned remedy). CPU time per request with ${CONNECTIONS} managers: ${perRequest(managersCpu)}.`,
      `Process layout: "supergraph" is five Node processes, one per service (gateway, auth, booking, payment, location; each its compiled dist/main.js with NODE_ENV=production, as the images run them), talking HTTP on 127.0.0.1; "supergraph, one process" is the same five services inside the benchmark's own process, as the e2e tests start them (${fixed(oneProcessRatio, 2)}× the floor). The floor is one process (node:http + pg), autocannon another; PostgreSQL and Redis run on the same 2 cores. The floor does no GraphQL, authentication or authorization.`,
      `CPU time per dashboard request in each service process, one manager (median over the rounds): ${perRequest(cpu)}. The same five services in one process: ${fixed(median(oneProcessCpu), 1)} ms per request.`,
    );
    const label: Record<Name, string> = {
      supergraph: 'supergraph (gateway → 4 subgraphs, a process each), one manager',
      managers: `supergraph, ${CONNECTIONS} managers (a token per connection)`,
      oneProcess: 'supergraph, one process (as the e2e tests)',
      floor: 'SQL floor (node:http + pg, 4 statements)',
    };
    const loadRows = names.map((name) => {
      const rs = rounds[name];
      return [
        label[name],
        fixed(rps(name)),
        spread(rs.map((x) => x.rps)),
        fixed(median(rs.map((x) => x.p50))),
        fixed(median(rs.map((x) => x.p99))),
        rs.reduce((a, x) => a + x.requests, 0),
        rs.reduce((a, x) => a + x.errors, 0),
      ];
    });
    /** A ratio row of the load table: the ratio in the req/s column, the target (if any) beside it. */
    const ratioRow = (label: string, value: number, target?: number) => [
      label,
      `${fixed(value, 2)}×`,
      target === undefined ? '' : `target ≥ ${target}×`,
      ...Array<string>(4).fill(''),
    ];
    loadRows.push(
      ratioRow('ratio supergraph / floor', ratio, TARGET_RATIO),
      ratioRow(`ratio ${CONNECTIONS} managers / floor (reported)`, managersRatio),
      ratioRow('ratio one process / floor', oneProcessRatio),
    );
    return {
      title: `Dashboard: ${LOADED_SIZE} bookings through the supergraph against the SQL floor`,
      tables: [
        {
          title: `Dashboard of ${LOADED_SIZE} bookings: requests/s (median of ${plan.rounds} rounds), latency medians`,
          columns: ['contender', 'req/s', 'spread over rounds', 'p50 ms', 'p99 ms', 'requests', 'errors'],
          rows: loadRows,
        },
        {
          title: 'N+1: SQL statements per dashboard request',
          columns: ['bookings', ...FEATURES, 'total'],
          rows: statementRows,
        },
      ],
      notes,
      ok,
    };
  } finally {
    load?.stop();
    floor?.stop();
    await services
      ?.stop()
      .catch((err: unknown) => log(`dashboard: stopping the services failed: ${String(err)}`));
    for (const s of seeded)
      await unseed(sg, s).catch((err: unknown) => log(`dashboard: cleanup failed: ${String(err)}`));
    await sg.stop();
  }
};
