/**
 * A CPU profile of the gateway process (a process per service, services.ts) under one load: the
 * dashboard (100 bookings, 10 connections) or availableSlots (one site open all day, 20 connections).
 *
 *   tsx test/bench/profile-gateway.ts [--load dashboard|slots] [--seconds S] [--dir D] [--root R]
 *
 * Writes the gateway's `.cpuprofile` into D (default /tmp/gateway-profile) when it stops.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { DateTime } from 'luxon';
import migrate from '../support/global-setup.js';
import { SITE_ZONE } from '../support/fixtures.js';
import { signUpAs, startSupergraph } from '../support/supergraph.js';
import { startLoadGenerator } from './load.js';
import { DASHBOARD, seed, unseed } from './sections/dashboard.js';
import { authSigningKeys, startServices } from './services.js';

const { values } = parseArgs({
  options: {
    load: { type: 'string', default: 'dashboard' },
    seconds: { type: 'string', default: '12' },
    dir: { type: 'string', default: '/tmp/gateway-profile' },
    root: { type: 'string' },
  },
});
const SLOTS = `query($site: ID!, $service: ID!, $date: Date!) { availableSlots(siteId: $site, serviceId: $service, date: $date) { startsAt endsAt freeBays } }`;

migrate();
const signingKeys = await authSigningKeys();
const sg = await startSupergraph({ authEnv: { AUTH_JWT_PRIVATE_KEYS: signingKeys } });
const seeded: Parameters<typeof unseed>[1][] = [];
const load = startLoadGenerator();
const services = await startServices({
  ...(values.root ? { root: values.root } : {}),
  nodeFlags: { gateway: ['--cpu-prof', `--cpu-prof-dir=${values.dir}`] },
  env: {
    auth: { AUTH_JWT_PRIVATE_KEYS: signingKeys },
    booking: { BOOKING_DATABASE_POOL_SIZE: '20' },
    payment: { PAYMENT_DATABASE_POOL_SIZE: '20' },
  },
});
const siteIds: string[] = [];
try {
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
    url: services.gatewayUrl,
    method: 'POST' as const,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${manager.token}` },
    body,
    connections,
  };
  await load.run({ ...request, duration: 3 });
  const before = services.usage().gateway!;
  const res = await load.run({ ...request, duration: Number(values.seconds) });
  const after = services.usage().gateway!;
  console.log(
    `${values.load}: ${res.rps.toFixed(1)} req/s, p99 ${res.p99} ms, errors ${res.errors} ${res.errorKinds}; gateway CPU ${((after.cpuMs - before.cpuMs) / res.requests).toFixed(2)} ms/request`,
  );
} finally {
  load.stop();
  await services.stop();
  for (const s of seeded) await unseed(sg, s);
  for (const id of siteIds) await sg.location.db.washSite.deleteMany({ where: { id } }).catch(() => {});
  await sg.stop();
}
