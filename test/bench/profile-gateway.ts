/**
 * The gateway's CPU per request under one load, for one checkout or two side by side (rounds
 * alternating, a process per service each, services.ts), optionally with a CPU profile of each
 * gateway: the dashboard (100 bookings, 10 connections) or availableSlots (one site open all day, 20
 * connections). compare-dashboard.ts does the dashboard for two checkouts; this adds availableSlots.
 *
 *   tsx test/bench/profile-gateway.ts [<checkout A> [<checkout B>]] [--load dashboard|slots]
 *     [--rounds N] [--seconds S] [--cpu-prof D]
 *
 * With `--cpu-prof D` each gateway writes its `.cpuprofile` into D/<A|B> when it stops. A checkout is
 * as compare-dashboard.ts takes it (default: this one).
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
import { authSigningKeys, SERVICES, startServices, type ServiceName, type Services } from './services.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    load: { type: 'string', default: 'dashboard' },
    rounds: { type: 'string', default: '1' },
    seconds: { type: 'string', default: '12' },
    'cpu-prof': { type: 'string' },
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
const siteIds: string[] = [];
try {
  for (const [i, root] of roots.entries()) {
    const name = `${'AB'[i]} (${root ?? 'this checkout'})`;
    const prof = values['cpu-prof'];
    builds.push({
      name,
      services: await startServices({
        ...(root ? { root } : {}),
        ...(prof ? { nodeFlags: { gateway: ['--cpu-prof', `--cpu-prof-dir=${join(prof, 'AB'[i]!)}`] } } : {}),
        env: {
          auth: { AUTH_JWT_PRIVATE_KEYS: signingKeys },
          booking: { BOOKING_DATABASE_POOL_SIZE: '20' },
          payment: { PAYMENT_DATABASE_POOL_SIZE: '20' },
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
    connections,
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
