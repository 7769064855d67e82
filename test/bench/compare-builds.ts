/**
 * Two builds of the supergraph under one load in one run (rounds alternating, a process per service
 * each, services.ts), or one build alone: requests/s, p99 and CPU time per request in each service
 * process, optionally with a CPU profile of each gateway. The tuning tool behind
 * results/tuning-dashboard.md and tuning-gateway.md. Loads: the dashboard (100 bookings,
 * 10 connections) or availableSlots (one site open all day, 20 connections).
 *
 *   tsx test/bench/compare-builds.ts [<checkout A> [<checkout B>]] [--load dashboard|slots]
 *     [--rounds N] [--seconds S] [--b-flags F] [--b-gateway-env K=V,…] [--gateway-env K=V,…]
 *     [--cpu-prof D [--cpu-prof-services]] [--runtime R] [--connections N]
 *
 * `--connections N` replaces the load's own (10 for the dashboard, 20 for availableSlots), e.g. 1 for the
 * latency of one request alone.
 * `--runtime dist` (default) runs each checkout's build (`pnpm build` in it first), as the images do;
 * `src` runs src/main.ts through tsx; `src,dist` gives A and B each its own (one checkout, both ways).
 * `--b-flags` gives B's service processes Node flags (space-separated, e.g. `--max-semi-space-size=32`):
 * with A and B the same checkout, it measures a runtime setting; `--b-gateway-env` does the same for
 * settings of B's gateway (e.g. `NODE_OPTIONS=` against production's GATEWAY_RUNTIME_ENV), and
 * `--gateway-env` for both gateways (e.g. `SUBGRAPH_DEDUPE=off`: no request shares another's fetch).
 * With `--cpu-prof D` each gateway writes its `.cpuprofile` into D/<A|B> when it stops; with
 * `--cpu-prof-services` too, every subgraph writes its own into D/<A|B>/<service>.
 *
 * A checkout is a folder with this repository's layout (default: this one): a worktree, or a copy of it
 * at another commit whose node_modules/.pnpm links to this one's (generated Prisma clients included).
 * The data is seeded through an in-process supergraph of this checkout, as the dashboard section does.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DateTime } from 'luxon';
import migrate from '../support/global-setup.js';
import { SITE_ZONE } from '../support/fixtures.js';
import { signUpAs, startSupergraph } from '../support/supergraph.js';
import { startLoadGenerator } from './load.js';
import { median } from './report.js';
import { DASHBOARD, seed, unseed } from './sections/dashboard.js';
import {
  authSigningKeys,
  SERVICES,
  startServices,
  type ServiceName,
  type ServiceRuntime,
  type Services,
} from './services.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    load: { type: 'string', default: 'dashboard' },
    rounds: { type: 'string', default: '1' },
    seconds: { type: 'string', default: '12' },
    'b-flags': { type: 'string', default: '' },
    'b-gateway-env': { type: 'string', default: '' },
    'gateway-env': { type: 'string', default: '' },
    'cpu-prof': { type: 'string' },
    'cpu-prof-services': { type: 'boolean', default: false },
    runtime: { type: 'string', default: 'dist' },
    connections: { type: 'string' },
  },
});
const roots = positionals.length ? positionals : [undefined];
const SLOTS = `query($site: ID!, $service: ID!, $date: Date!) { availableSlots(siteId: $site, serviceId: $service, date: $date) { startsAt endsAt freeBays } }`;

migrate();
const signingKeys = await authSigningKeys();
const sg = await startSupergraph({ authEnv: { AUTH_JWT_PRIVATE_KEYS: signingKeys } });
const seeded: Parameters<typeof unseed>[1][] = [];
const load = startLoadGenerator();
const builds: Array<{ name: string; services: Services }> = [];
/** `K=V,K=V` as an environment. */
const envOf = (list: string): Record<string, string> =>
  Object.fromEntries(
    list
      .split(',')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
/** `--gateway-env` for both gateways, then `--b-gateway-env` for B's, over the settings they start with. */
const gatewayEnvOf = (i: number): Record<string, string> => ({
  ...envOf(values['gateway-env']!),
  ...(i === 1 ? envOf(values['b-gateway-env']!) : {}),
});
/** B's `--b-flags` for every service, and `--cpu-prof` for each build's gateway (or every service). */
const nodeFlagsOf = (i: number): Partial<Record<ServiceName, string[]>> => {
  const flags = i === 1 ? values['b-flags']!.split(' ').filter(Boolean) : [];
  const prof = values['cpu-prof'];
  const profiled = (s: ServiceName) => prof && (s === 'gateway' || values['cpu-prof-services']);
  const profFlags = (s: ServiceName) =>
    profiled(s) ? ['--cpu-prof', `--cpu-prof-dir=${join(prof!, 'AB'[i]!, s === 'gateway' ? '' : s)}`] : [];
  return Object.fromEntries(SERVICES.map((s) => [s, [...flags, ...profFlags(s)]]));
};
/** `--runtime dist|src` for both builds, or `A,B` (e.g. `src,dist`: the same checkout run both ways). */
const runtimes = values.runtime!.split(',');
if (runtimes.some((r) => r !== 'dist' && r !== 'src'))
  throw new Error(`--runtime takes dist, src or A,B of them`);
const runtimeOf = (i: number) => (runtimes[i] ?? runtimes[0]) as ServiceRuntime;
const siteIds: string[] = [];
try {
  for (const [i, root] of roots.entries()) {
    const name = `${'AB'[i]} (${root ?? 'this checkout'}, ${runtimeOf(i)})`;
    builds.push({
      name,
      services: await startServices({
        ...(root ? { root } : {}),
        nodeFlags: nodeFlagsOf(i),
        runtime: runtimeOf(i),
        env: {
          auth: { AUTH_JWT_PRIVATE_KEYS: signingKeys },
          booking: { BOOKING_DATABASE_POOL_SIZE: '20' },
          payment: { PAYMENT_DATABASE_POOL_SIZE: '20' },
          gateway: gatewayEnvOf(i),
        },
      }),
    });
  }
  const manager = await signUpAs(sg, 'MANAGER', 'Dana');
  const date = DateTime.now().setZone(SITE_ZONE).plus({ days: 30 }).toISODate()!;
  let body: string;
  let connections = 10;
  if (values.load === 'slots') {
    const created = await sg.gql<{ createSite: { id: string } }>(
      `mutation($input: CreateSiteInput!) { createSite(input: $input) { id } }`,
      {
        input: {
          name: `Profile ${randomUUID().slice(0, 6)}`,
          address: { line1: 'Benchstraße 1', city: 'Berlin', postalCode: '10115', country: 'DE' },
          timeZone: SITE_ZONE,
          location: { latitude: 52.52, longitude: 13.405 },
          bays: 8,
        },
      },
      manager.token,
    );
    const siteId = created.data!.createSite.id;
    siteIds.push(siteId);
    const days = ['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY', 'SUNDAY'];
    await sg.gql(
      `mutation($id: ID!, $hours: [WeeklyHoursInput!]!) { setWeeklyHours(siteId: $id, hours: $hours) { id } }`,
      { id: siteId, hours: days.map((weekday) => ({ weekday, opensAt: '00:00', closesAt: '24:00' })) },
      manager.token,
    );
    const service = await sg.gql<{ createService: { id: string } }>(
      `mutation($input: CreateServiceInput!) { createService(input: $input) { id } }`,
      {
        input: {
          name: `Profile wash ${randomUUID().slice(0, 4)}`,
          durationMinutes: 30,
          priceCents: 1500,
          currency: 'EUR',
        },
      },
      manager.token,
    );
    body = JSON.stringify({
      query: SLOTS,
      variables: { site: siteId, service: service.data!.createService.id, date },
    });
    connections = 20;
  } else {
    const site = await seed(sg, 100, date, randomUUID().slice(0, 8), seeded);
    body = JSON.stringify({ query: DASHBOARD, variables: { site: site.siteId, date } });
  }
  const request = {
    method: 'POST' as const,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${manager.token}` },
    body,
    connections: values.connections ? Number(values.connections) : connections,
  };
  const bodies = await Promise.all(
    builds.map(async (b) => (await fetch(b.services.gatewayUrl, request)).text()),
  );
  if (bodies.some((b) => b !== bodies[0])) console.error('WARNING: the builds answer different bytes');
  const figures = builds.map(() => ({
    rps: [] as number[],
    p99: [] as number[],
    cpu: {} as Record<ServiceName, number[]>,
  }));
  const runRound = async (i: number, duration: number) => {
    const { services, name } = builds[i]!;
    const before = services.usage();
    const res = await load.run({ url: services.gatewayUrl, ...request, duration, expectBody: bodies[i] });
    const after = services.usage();
    if (res.errors) console.error(`${name}: ${res.errorKinds}`);
    return { res, before, after };
  };
  for (const i of builds.keys()) await runRound(i, 3); // warm-up
  for (let r = 0; r < Number(values.rounds); r++)
    for (const i of r % 2 === 0 ? [...builds.keys()] : [...builds.keys()].reverse()) {
      const { res, before, after } = await runRound(i, Number(values.seconds));
      figures[i]!.rps.push(res.rps);
      figures[i]!.p99.push(res.p99);
      for (const s of SERVICES)
        (figures[i]!.cpu[s] ??= []).push((after[s]!.cpuMs - before[s]!.cpuMs) / res.requests);
      console.error(`round ${r + 1} ${builds[i]!.name}: ${res.rps.toFixed(1)} req/s`);
    }
  for (const [i, b] of builds.entries()) {
    const f = figures[i]!;
    const cpu = SERVICES.map((s) => `${s} ${median(f.cpu[s]).toFixed(2)}`);
    console.log(
      `${values.load} ${b.name}: ${median(f.rps).toFixed(1)} req/s (rounds ${f.rps.map((x) => x.toFixed(0)).join(', ')}), p99 ${median(f.p99)} ms; CPU ms/request ${cpu.join(', ')}; gateway per round ${f.cpu.gateway.map((x) => x.toFixed(2)).join(', ')}`,
    );
  }
} finally {
  load.stop();
  for (const b of builds) await b.services.stop();
  for (const s of seeded) await unseed(sg, s);
  for (const id of siteIds) await sg.location.db.washSite.deleteMany({ where: { id } }).catch(() => {});
  await sg.stop();
}
