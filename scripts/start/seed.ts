/**
 * The demo data of `pnpm start`, made through the supergraph's public API (the gateway) as a manager
 * and clients would make it — so every feature's own rules and events apply. The one exception is
 * the first admin, made by the auth feature's operator route (`provisionAdmin`, what `pnpm admin:create`
 * runs), because no API call may create an admin out of nothing.
 */
import { randomUUID } from 'node:crypto';
import { DateTime } from 'luxon';
import { provisionAdmin } from '../../subgraphs/auth/src/admin.js';
import { AuthRepository } from '../../subgraphs/auth/src/repository.js';
import type { Services } from './services.js';

/** Every demo account's password (they are demo accounts on a local, embedded database). */
export const DEMO_PASSWORD = 'Demo-carwash-2026';

/** The demo logins the banner prints, one per role. */
export const DEMO_LOGINS = {
  admin: 'admin@demo.carwash.test',
  manager: 'manager@demo.carwash.test',
  washer: 'washer.berlin@demo.carwash.test',
  client: 'alice@demo.carwash.test',
} as const;

const WASHER_NYC = 'washer.brooklyn@demo.carwash.test';
const CLIENT_2 = 'bob@demo.carwash.test';

/** Days of washer shifts seeded ahead, from today. */
const SHIFT_DAYS = 14;
/** How long the seed waits for a payment's event to confirm its booking. */
const CONFIRM_TIMEOUT_MS = 15_000;

interface GqlError {
  message: string;
  extensions?: { code?: string };
}

export type Gql = <T = Record<string, unknown>>(
  query: string,
  variables?: Record<string, unknown>,
  token?: string,
) => Promise<T>;

/** A GraphQL client of the gateway that throws on any error (the seed must not half-succeed silently). */
export function gatewayClient(url: string): Gql {
  return async <T>(query: string, variables?: Record<string, unknown>, token?: string) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data?: T; errors?: GqlError[] };
    if (body.errors?.length) {
      const e = body.errors[0]!;
      throw new Error(`${e.extensions?.code ?? 'ERROR'}: ${e.message} (in ${query.slice(0, 60)}…)`);
    }
    return body.data as T;
  };
}

export async function logIn(gql: Gql, email: string): Promise<string> {
  const r = await gql<{ logIn: { accessToken: string } }>(
    `mutation($i: LogInInput!) { logIn(input: $i) { accessToken } }`,
    { i: { email, password: DEMO_PASSWORD } },
  );
  return r.logIn.accessToken;
}

/** True when the supergraph holds no site and no service yet: then (and only then) the demo is seeded. */
export async function isEmpty(gql: Gql): Promise<boolean> {
  const r = await gql<{ sites: { nodes: unknown[] }; services: unknown[] }>(
    `{ sites(first: 1) { nodes { id } } services { id } }`,
  );
  return r.sites.nodes.length === 0 && r.services.length === 0;
}

const ALL_WEEK = ['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY', 'SUNDAY'] as const;

const SITES = [
  {
    key: 'berlin',
    input: {
      name: 'Berlin Mitte',
      address: { line1: 'Torstraße 101', city: 'Berlin', postalCode: '10119', country: 'DE' },
      timeZone: 'Europe/Berlin',
      location: { latitude: 52.5295, longitude: 13.4012 },
      bays: 3,
    },
    hours: ALL_WEEK.map((weekday) =>
      weekday === 'SUNDAY'
        ? { weekday, opensAt: '10:00', closesAt: '18:00' }
        : { weekday, opensAt: '07:00', closesAt: '21:00' },
    ),
    shift: { from: 7, to: 21 },
  },
  {
    key: 'brooklyn',
    input: {
      name: 'Brooklyn Navy Yard',
      address: { line1: '63 Flushing Ave', city: 'Brooklyn', postalCode: '11205', country: 'US' },
      timeZone: 'America/New_York',
      location: { latitude: 40.7003, longitude: -73.9712 },
      bays: 2,
    },
    hours: ALL_WEEK.map((weekday) => ({ weekday, opensAt: '06:00', closesAt: '22:00' })),
    shift: { from: 6, to: 22 },
  },
] as const;

const SERVICES = [
  { key: 'express', name: 'Express exterior', durationMinutes: 20, priceCents: 1200, currency: 'EUR' },
  { key: 'deluxe', name: 'Deluxe wash', durationMinutes: 45, priceCents: 2900, currency: 'EUR' },
  { key: 'valet', name: 'Full valet', durationMinutes: 90, priceCents: 6900, currency: 'EUR' },
  { key: 'wax', name: 'Hot wax', durationMinutes: 10, priceCents: 800, currency: 'EUR', isAddOn: true },
  { key: 'tyres', name: 'Tyre shine', durationMinutes: 5, priceCents: 400, currency: 'EUR', isAddOn: true },
  {
    key: 'us-express',
    name: 'Express exterior (US)',
    durationMinutes: 20,
    priceCents: 1500,
    currency: 'USD',
  },
  {
    key: 'us-interior',
    name: 'Interior vacuum (US)',
    durationMinutes: 15,
    priceCents: 1000,
    currency: 'USD',
    isAddOn: true,
  },
] as const;

async function signUp(gql: Gql, email: string, firstName: string, lastName: string): Promise<string> {
  const r = await gql<{ signUp: { user: { id: string } } }>(
    `mutation($i: SignUpInput!) { signUp(input: $i) { user { id } } }`,
    { i: { email, password: DEMO_PASSWORD, firstName, lastName } },
  );
  return r.signUp.user.id;
}

/** The first free slots of `serviceId` at a site from its local `date` on, looking a week ahead. */
async function freeSlots(
  gql: Gql,
  siteId: string,
  serviceId: string,
  timeZone: string,
  fromDaysAhead: number,
): Promise<string[]> {
  for (let d = fromDaysAhead; d < fromDaysAhead + 7; d++) {
    const date = DateTime.now().setZone(timeZone).plus({ days: d }).toISODate()!;
    const r = await gql<{ availableSlots: Array<{ startsAt: string; freeBays: number }> }>(
      `query($s: ID!, $v: ID!, $d: Date!) { availableSlots(siteId: $s, serviceId: $v, date: $d) { startsAt freeBays } }`,
      { s: siteId, v: serviceId, d: date },
    );
    const soon = Date.now() + 5 * 60_000;
    const slots = r.availableSlots.filter((s) => s.freeBays > 0 && Date.parse(s.startsAt) > soon);
    if (slots.length) return slots.map((s) => s.startsAt);
  }
  throw new Error(`no free slot at site ${siteId} within a week`);
}

/** The partner of the shipped manifest `schema/persisted-queries/sample-partner.json`. */
export const DEMO_PARTNER = { name: 'Demo partner', client: 'sample-partner', tier: 'gold' } as const;

/** A partner API key as `createApiKey` returns it: the key itself is shown this once. */
export interface PartnerKey {
  key: string;
  prefix: string;
  client: string;
  tier: string;
}

/** What the seed made that the banner shows. */
export interface Seeded {
  bookings: number;
  partnerKey: PartnerKey;
}

/**
 * Seeds the demo. Steps that do not depend on each other run side by side (people, the partner key,
 * sites and the catalogue, shifts, payment methods, bookings on distinct days): the requests wait on
 * four databases and five services, so overlapping them roughly halves the seed on two cores.
 */
export async function seedDemo(services: Services, gql: Gql): Promise<Seeded> {
  await provisionAdmin(new AuthRepository(services.auth.db), DEMO_LOGINS.admin, DEMO_PASSWORD);
  const admin = await logIn(gql, DEMO_LOGINS.admin);

  const partner = gql<{ createApiKey: { key: string; apiKey: { prefix: string } } }>(
    `mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { key apiKey { prefix } } }`,
    { i: DEMO_PARTNER },
    admin,
  ).then((r): PartnerKey => ({
    key: r.createApiKey.key,
    prefix: r.createApiKey.apiKey.prefix,
    client: DEMO_PARTNER.client,
    tier: DEMO_PARTNER.tier,
  }));
  // Awaited at the end; until then a failure must not surface as an unhandled rejection (which would
  // end the process before the start script stops the services and closes the databases).
  partner.catch(() => undefined);

  const [manager, washerBerlin, washerNyc, alice, bob] = await Promise.all([
    signUp(gql, DEMO_LOGINS.manager, 'Maria', 'Manager'),
    signUp(gql, DEMO_LOGINS.washer, 'Wim', 'Washer'),
    signUp(gql, WASHER_NYC, 'Wanda', 'Washer'),
    signUp(gql, DEMO_LOGINS.client, 'Alice', 'Client'),
    signUp(gql, CLIENT_2, 'Bob', 'Client'),
  ]);
  const people = { manager, washerBerlin, washerNyc, alice, bob };
  const setRole = `mutation($u: ID!, $r: Role!) { setUserRole(userId: $u, role: $r) { id } }`;
  await Promise.all([
    gql(setRole, { u: people.manager, r: 'MANAGER' }, admin),
    gql(setRole, { u: people.washerBerlin, r: 'WASHER' }, admin),
    gql(setRole, { u: people.washerNyc, r: 'WASHER' }, admin),
  ]);
  const managerToken = await logIn(gql, DEMO_LOGINS.manager);

  const sites: Record<string, { id: string; timeZone: string }> = {};
  const catalogue: Record<string, string> = {};
  await Promise.all([
    ...SITES.map(async (s) => {
      const r = await gql<{ createSite: { id: string } }>(
        `mutation($i: CreateSiteInput!) { createSite(input: $i) { id } }`,
        { i: s.input },
        managerToken,
      );
      await gql(
        `mutation($id: ID!, $h: [WeeklyHoursInput!]!) { setWeeklyHours(siteId: $id, hours: $h) { id } }`,
        { id: r.createSite.id, h: s.hours },
        managerToken,
      );
      sites[s.key] = { id: r.createSite.id, timeZone: s.input.timeZone };
    }),
    ...SERVICES.map(async ({ key, ...input }) => {
      const r = await gql<{ createService: { id: string } }>(
        `mutation($i: CreateServiceInput!) { createService(input: $i) { id } }`,
        { i: input },
        managerToken,
      );
      catalogue[key] = r.createService.id;
    }),
  ]);

  // Washers on shifts: every opening day of the next two weeks, in the site's local time.
  const shiftsOf = [
    { site: SITES[0], washer: people.washerBerlin },
    { site: SITES[1], washer: people.washerNyc },
  ];
  const shifts: Array<Promise<unknown>> = [];
  for (const { site, washer } of shiftsOf) {
    for (let d = 0; d < SHIFT_DAYS; d++) {
      const day = DateTime.now().setZone(site.input.timeZone).startOf('day').plus({ days: d });
      const sunday = day.weekday === 7 && site.key === 'berlin';
      const startsAt = day.set({ hour: sunday ? 10 : site.shift.from });
      const endsAt = day.set({ hour: sunday ? 18 : site.shift.to });
      if (endsAt <= DateTime.now()) continue;
      shifts.push(
        gql(
          `mutation($s: ID!, $u: ID!, $sh: ShiftInput!) { assignStaff(siteId: $s, userId: $u, shift: $sh) { id } }`,
          {
            s: sites[site.key]!.id,
            u: washer,
            sh: { startsAt: startsAt.toUTC().toISO(), endsAt: endsAt.toUTC().toISO() },
          },
          managerToken,
        ),
      );
    }
  }
  await Promise.all(shifts);

  const [aliceToken, bobToken] = await Promise.all([logIn(gql, DEMO_LOGINS.client), logIn(gql, CLIENT_2)]);
  const clients = {
    alice: { token: aliceToken, card: 'tok_visa', brand: 'visa', last4: '4242' },
    bob: { token: bobToken, card: 'tok_mastercard', brand: 'mastercard', last4: '4444' },
  };
  const methods: Record<string, string> = {};
  await Promise.all(
    Object.entries(clients).map(async ([name, c]) => {
      const r = await gql<{ addPaymentMethod: { id: string } }>(
        `mutation($i: AddPaymentMethodInput!) { addPaymentMethod(input: $i) { id } }`,
        { i: { providerToken: c.card, brand: c.brand, last4: c.last4, expMonth: 12, expYear: 2030 } },
        c.token,
      );
      methods[name] = r.addPaymentMethod.id;
    }),
  );

  /** Books, pays (the payment's event confirms the hold) and, when asked, washes it through to the end. */
  const book = async (
    client: keyof typeof clients,
    siteKey: string,
    serviceKey: string,
    addOns: string[],
    daysAhead: number,
    after: 'confirmed' | 'completed' | 'held',
    washer?: { id: string; email: string },
  ) => {
    const site = sites[siteKey]!;
    const [startsAt] = await freeSlots(gql, site.id, catalogue[serviceKey]!, site.timeZone, daysAhead);
    const { token } = clients[client];
    const r = await gql<{ createBooking: { id: string } }>(
      `mutation($i: CreateBookingInput!) { createBooking(input: $i) { id } }`,
      {
        i: {
          siteId: site.id,
          serviceId: catalogue[serviceKey],
          startsAt,
          addOnIds: addOns.map((a) => catalogue[a]),
        },
      },
      token,
    );
    const id = r.createBooking.id;
    if (after === 'held') return;
    await gql(
      `mutation($b: ID!, $m: ID!, $k: String!) { payForBooking(bookingId: $b, methodId: $m, idempotencyKey: $k) { id } }`,
      { b: id, m: methods[client], k: `demo-${randomUUID()}` },
      token,
    );
    const deadline = Date.now() + CONFIRM_TIMEOUT_MS;
    for (;;) {
      const s = await gql<{ booking: { status: string } }>(
        `query($id: ID!) { booking(id: $id) { status } }`,
        { id },
        token,
      );
      if (s.booking.status === 'CONFIRMED') break;
      if (Date.now() > deadline) throw new Error(`booking ${id} was not confirmed by its payment`);
      await new Promise((res) => setTimeout(res, 100));
    }
    if (washer)
      await gql(
        `mutation($id: ID!, $w: ID!) { assignWasher(id: $id, washerId: $w) { id } }`,
        { id, w: washer.id },
        managerToken,
      );
    if (after === 'completed') {
      await gql(`mutation($id: ID!) { startBooking(id: $id) { id } }`, { id }, managerToken);
      await gql(`mutation($id: ID!) { completeBooking(id: $id) { id } }`, { id }, managerToken);
    }
  };
  const wim = { id: people.washerBerlin, email: DEMO_LOGINS.washer };
  const wanda = { id: people.washerNyc, email: WASHER_NYC };
  // Side by side: each client's bookings are on distinct days, and even if two land on one slot the
  // site has a bay for each (Berlin 3 bookings, 3 bays; Brooklyn 2 and 2).
  await Promise.all([
    // Washed already (the API books only future slots, so "past" is the earliest one, completed).
    book('alice', 'berlin', 'deluxe', ['wax'], 0, 'completed', wim),
    book('bob', 'brooklyn', 'us-express', ['us-interior'], 0, 'completed', wanda),
    // Coming up: paid and confirmed, with a washer; and one unpaid hold.
    book('alice', 'berlin', 'valet', ['wax', 'tyres'], 2, 'confirmed', wim),
    book('bob', 'brooklyn', 'us-express', [], 3, 'confirmed', wanda),
    book('bob', 'berlin', 'express', [], 4, 'held'),
  ]);
  return { bookings: 5, partnerKey: await partner };
}
