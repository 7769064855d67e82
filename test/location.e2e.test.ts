import { randomUUID } from 'node:crypto';
import { sqlStatements as authStatements } from '@carwash/auth';
import { createEvent } from '@carwash/events';
import { sqlStatements as locationStatements } from '@carwash/location';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, signUpAs, startSupergraph, type Running } from './support/supergraph.js';

let sg: Running;
let manager: string;
let client: string;

const CREATE_SITE = `mutation($input: CreateSiteInput!) { createSite(input: $input) { id name timeZone bays active address { city country } location { latitude longitude } } }`;
const SET_HOURS = `mutation($id: ID!, $hours: [WeeklyHoursInput!]!) { setWeeklyHours(siteId: $id, hours: $hours) { id openingHours { weekday opensAt closesAt } } }`;
const ASSIGN = `mutation($site: ID!, $user: ID!, $shift: ShiftInput!) { assignStaff(siteId: $site, userId: $user, shift: $shift) { id role startsAt endsAt } }`;

function siteInput(overrides: Record<string, unknown> = {}) {
  return {
    name: `Wash ${randomUUID().slice(0, 6)}`,
    address: { line1: 'Hauptstraße 1', city: 'Berlin', postalCode: '10115', country: 'DE' },
    timeZone: 'Europe/Berlin',
    location: { latitude: 52.52, longitude: 13.405 },
    bays: 3,
    ...overrides,
  };
}

function user(role: 'CLIENT' | 'WASHER' | 'MANAGER' | 'ADMIN', firstName = 'Sam') {
  return signUpAs(sg, role, firstName);
}

async function createSite(overrides: Record<string, unknown> = {}): Promise<string> {
  const res = await sg.gql<{ createSite: { id: string } }>(
    CREATE_SITE,
    { input: siteInput(overrides) },
    manager,
  );
  expect(res.errors).toBeUndefined();
  return res.data!.createSite.id;
}

function hoursIn(days: number, hour = 9) {
  const d = new Date(Date.now() + days * 86_400_000);
  d.setUTCHours(hour, 0, 0, 0);
  return d.toISOString();
}

/** `assignStaff` as the manager: `userId` on `site`, `days` from now, from `from` to `to` o'clock UTC. */
function assign<T = { assignStaff: { id: string; role: string } }>(
  site: string,
  userId: string,
  days: number,
  from: number,
  to: number,
) {
  return sg.gql<T>(
    ASSIGN,
    { site, user: userId, shift: { startsAt: hoursIn(days, from), endsAt: hoursIn(days, to) } },
    manager,
  );
}

beforeAll(async () => {
  sg = await startSupergraph();
  manager = (await user('MANAGER')).token;
  client = (await user('CLIENT')).token;
});
afterAll(async () => {
  await sg?.stop();
});

describe('sites', () => {
  it('lets a manager create a site that anyone can read', async () => {
    const res = await sg.gql<{ createSite: Record<string, unknown> }>(
      CREATE_SITE,
      { input: siteInput({ name: 'Mitte Wash' }) },
      manager,
    );
    expect(res.data!.createSite).toMatchObject({
      name: 'Mitte Wash',
      timeZone: 'Europe/Berlin',
      bays: 3,
      active: true,
      address: { city: 'Berlin', country: 'DE' },
    });
    const id = (res.data!.createSite as { id: string }).id;
    const anonymous = await sg.gql<{ site: { name: string } }>(`query($id: ID!) { site(id: $id) { name } }`, {
      id,
    });
    expect(anonymous.data!.site.name).toBe('Mitte Wash');
  });

  it('refuses a client creating a site', async () => {
    const res = await sg.gql(CREATE_SITE, { input: siteInput() }, client);
    expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it.each([
    ['an unknown time zone', { timeZone: 'Mars/Olympus_Mons' }, 'input.timeZone'],
    ['negative bays', { bays: -2 }, 'input.bays'],
    ['a latitude off the globe', { location: { latitude: 123, longitude: 0 } }, 'input.location.latitude'],
    [
      'a country that is not ISO alpha-2',
      { address: { line1: 'x', city: 'y', postalCode: '1', country: 'Germany' } },
      'input.address.country',
    ],
  ])('refuses %s with BAD_USER_INPUT naming the field', async (_label, overrides, field) => {
    const res = await sg.gql(CREATE_SITE, { input: siteInput(overrides) }, manager);
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
  });

  it('finds the nearest sites first, with distances, within a radius', async () => {
    const tag = randomUUID().slice(0, 6);
    // Around a random point in the South Atlantic, so no other run's sites are near it.
    const origin = { latitude: -50 + Math.random() * 10, longitude: -30 + Math.random() * 10 };
    const near = await createSite({
      name: `near-${tag}`,
      location: { latitude: origin.latitude + 0.01, longitude: origin.longitude },
    });
    const mid = await createSite({
      name: `mid-${tag}`,
      location: { latitude: origin.latitude + 0.1, longitude: origin.longitude },
    });
    await createSite({
      name: `far-${tag}`,
      location: { latitude: origin.latitude + 5, longitude: origin.longitude },
    });
    type Page = {
      sites: {
        nodes: Array<{ id: string; distanceKm: number }>;
        totalCount: number;
        pageInfo: { hasNextPage: boolean; endCursor: string | null };
      };
    };
    const q = `query($near: GeoPointInput!, $first: Int, $after: String) { sites(near: $near, radiusKm: 50, first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { id distanceKm(from: $near) } } }`;
    const res = await sg.gql<Page>(q, { near: origin });
    expect(res.errors).toBeUndefined();
    expect(res.data!.sites.nodes.map((n) => n.id)).toEqual([near, mid]);
    expect(res.data!.sites.nodes[0]!.distanceKm).toBeCloseTo(1.112, 2);
    expect(res.data!.sites.nodes[1]!.distanceKm).toBeCloseTo(11.12, 1);
    expect(res.data!.sites.pageInfo.hasNextPage).toBe(false);
    // One at a time: the offset cursor of the distance order resumes at the second site.
    const first = await sg.gql<Page>(q, { near: origin, first: 1 });
    expect(first.data!.sites.nodes.map((n) => n.id)).toEqual([near]);
    expect(first.data!.sites.pageInfo.hasNextPage).toBe(true);
    const second = await sg.gql<Page>(q, {
      near: origin,
      first: 1,
      after: first.data!.sites.pageInfo.endCursor,
    });
    expect(second.data!.sites.nodes.map((n) => n.id)).toEqual([mid]);
    expect(second.data!.sites.pageInfo.hasNextPage).toBe(false);
    expect(second.data!.sites.totalCount).toBe(2);
    expect(res.data!.sites.totalCount).toBe(2);
  });
});

describe('paging sites', () => {
  type Page = {
    sites: {
      nodes: Array<{ id: string; name: string }>;
      pageInfo: { hasNextPage: boolean; endCursor: string };
    };
  };
  const BY_NAME = `query($first: Int, $after: String) { sites(first: $first, after: $after) { pageInfo { hasNextPage endCursor } nodes { id name } } }`;

  it('pages by name after the last site seen, so a site added meanwhile repeats none', async () => {
    await createSite({ name: `0 page ${randomUUID().slice(0, 6)}` });
    await createSite({ name: `0 page ${randomUUID().slice(0, 6)}` });
    await createSite({ name: `0 page ${randomUUID().slice(0, 6)}` });
    const page1 = await sg.gql<Page>(BY_NAME, { first: 2 });
    expect(page1.errors).toBeUndefined();
    expect(page1.data!.sites.nodes).toHaveLength(2);
    expect(page1.data!.sites.pageInfo.hasNextPage).toBe(true);
    // Sorts ahead of the whole first page: an offset cursor would now show page 1's last site again.
    await createSite({ name: `0 ${randomUUID().slice(0, 6)}` });
    const page2 = await sg.gql<Page>(BY_NAME, { first: 2, after: page1.data!.sites.pageInfo.endCursor });
    expect(page2.errors).toBeUndefined();
    const seen = new Set(page1.data!.sites.nodes.map((n) => n.id));
    expect(page2.data!.sites.nodes.some((n) => seen.has(n.id))).toBe(false);
    expect(page2.data!.sites.nodes).toHaveLength(2);
  });

  it('refuses an edited cursor, a cursor of the distance order and a page above 100, naming the argument', async () => {
    const page = await sg.gql<Page>(BY_NAME, { first: 1 });
    const cursor = page.data!.sites.pageInfo.endCursor;
    const edited = `${cursor.slice(0, -2)}${cursor.endsWith('A') ? 'B' : 'A'}A`;
    const near = await sg.gql<{ sites: { pageInfo: { endCursor: string } } }>(
      `query($near: GeoPointInput!) { sites(first: 1, near: $near) { pageInfo { endCursor } } }`,
      { near: { latitude: 52.52, longitude: 13.405 } },
    );
    for (const after of [edited, 'garbage', near.data!.sites.pageInfo.endCursor]) {
      const res = await sg.gql(BY_NAME, { first: 1, after });
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
      expect((res.data as { sites?: unknown } | null)?.sites ?? null).toBeNull();
    }
    const tooMany = await sg.gql(BY_NAME, { first: 101 });
    expect(tooMany.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
  });
});

describe('opening hours in the site time zone', () => {
  it('refuses closing before opening and overlapping windows', async () => {
    const id = await createSite();
    const backwards = await sg.gql(
      SET_HOURS,
      { id, hours: [{ weekday: 'MONDAY', opensAt: '18:00', closesAt: '08:00' }] },
      manager,
    );
    expect(backwards.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'hours.0.closesAt',
    });
    const overlap = await sg.gql(
      SET_HOURS,
      {
        id,
        hours: [
          { weekday: 'MONDAY', opensAt: '08:00', closesAt: '12:00' },
          { weekday: 'MONDAY', opensAt: '11:00', closesAt: '15:00' },
        ],
      },
      manager,
    );
    expect(overlap.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(String(overlap.errors?.[0]?.extensions?.field)).toMatch(/^hours\.1\./);
  });

  it('returns UTC windows across the spring-forward and fall-back days in Berlin', async () => {
    const id = await createSite();
    const everyDay = ['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY', 'SUNDAY'].map(
      (weekday) => ({ weekday, opensAt: '08:00', closesAt: '20:00' }),
    );
    expect((await sg.gql(SET_HOURS, { id, hours: everyDay }, manager)).errors).toBeUndefined();
    const q = `query($id: ID!, $from: DateTime!, $to: DateTime!) { openingWindows(siteId: $id, from: $from, to: $to) { start end } }`;
    const windows = async (from: string, to: string) =>
      (await sg.gql<{ openingWindows: Array<{ start: string; end: string }> }>(q, { id, from, to })).data!
        .openingWindows;
    // 2026-03-29: clocks jump from 02:00 to 03:00 (+01:00 → +02:00).
    expect(await windows('2026-03-28T00:00:00Z', '2026-03-30T00:00:00Z')).toEqual([
      { start: '2026-03-28T07:00:00.000Z', end: '2026-03-28T19:00:00.000Z' },
      { start: '2026-03-29T06:00:00.000Z', end: '2026-03-29T18:00:00.000Z' },
    ]);
    // 2026-10-25: clocks fall back from 03:00 to 02:00 (+02:00 → +01:00).
    expect(await windows('2026-10-24T00:00:00Z', '2026-10-26T00:00:00Z')).toEqual([
      { start: '2026-10-24T06:00:00.000Z', end: '2026-10-24T18:00:00.000Z' },
      { start: '2026-10-25T07:00:00.000Z', end: '2026-10-25T19:00:00.000Z' },
    ]);
    const open = await sg.gql<{ a: boolean; b: boolean }>(
      `query($id: ID!) { a: isOpen(siteId: $id, at: "2026-03-29T06:00:00Z") b: isOpen(siteId: $id, at: "2026-03-29T05:59:59Z") }`,
      { id },
    );
    expect(open.data).toEqual({ a: true, b: false });
  });

  it('honours a dated closure with its reason', async () => {
    const id = await createSite();
    await sg.gql(
      SET_HOURS,
      { id, hours: [{ weekday: 'FRIDAY', opensAt: '08:00', closesAt: '18:00' }] },
      manager,
    );
    const set = await sg.gql(
      `mutation($id: ID!, $e: HoursExceptionInput!) { setHoursException(siteId: $id, exception: $e) { id } }`,
      { id, e: { date: '2026-12-25', closed: true, reason: 'Christmas' } },
      manager,
    );
    expect(set.errors).toBeUndefined();
    const res = await sg.gql<{ site: { exceptions: unknown[] }; openingWindows: unknown[] }>(
      `query($id: ID!) { site(id: $id) { exceptions(from: "2026-12-01", to: "2026-12-31") { date closed reason } } openingWindows(siteId: $id, from: "2026-12-25T00:00:00Z", to: "2026-12-26T00:00:00Z") { start } }`,
      { id },
    );
    expect(res.data!.site.exceptions).toEqual([{ date: '2026-12-25', closed: true, reason: 'Christmas' }]);
    expect(res.data!.openingWindows).toEqual([]);
  });
});

describe('staff shifts', () => {
  it('assigns a washer and lists the site staff with their names from auth, in one query', async () => {
    const site = await createSite({ name: `Staffed ${randomUUID().slice(0, 4)}` });
    const washer = await user('WASHER', 'Wanda');
    const res = await assign<{ assignStaff: { role: string } }>(site, washer.id, 1, 8, 16);
    expect(res.errors).toBeUndefined();
    expect(res.data!.assignStaff.role).toBe('WASHER');
    const q = await sg.gql<{
      site: { name: string; staff: Array<{ user: { firstName: string; lastName: string } }> };
    }>(
      `query($id: ID!) { site(id: $id) { name staff { user { firstName lastName } } } }`,
      { id: site },
      manager,
    );
    expect(q.data!.site.staff).toEqual([{ user: { firstName: 'Wanda', lastName: 'WASHER' } }]);
    const mine = await sg.gql<{ me: { assignments: Array<{ site: { id: string } }> } }>(
      `{ me { assignments { site { id } } } }`,
      {},
      washer.token,
    );
    expect(mine.data!.me.assignments.map((a) => a.site.id)).toEqual([site]);
    const clientView = await sg.gql(
      `query($id: ID!) { site(id: $id) { staff { id } } }`,
      { id: site },
      client,
    );
    expect(clientView.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('refuses a client as staff, a shift ending before it starts, and an unknown user', async () => {
    const site = await createSite();
    const someClient = (await user('CLIENT')).id;
    // What is refused, the user, the shift's hours (tomorrow, UTC), and the refusal.
    const refusals: Array<[string, string, number, number, { code: string; field: string }]> = [
      ['a client', someClient, 8, 12, { code: 'BAD_USER_INPUT', field: 'userId' }],
      ['a backwards shift', someClient, 12, 8, { code: 'BAD_USER_INPUT', field: 'shift.endsAt' }],
      ['an unknown user', randomUUID(), 8, 12, { code: 'NOT_FOUND', field: 'userId' }],
    ];
    for (const [what, userId, from, to, refused] of refusals) {
      const res = await assign(site, userId, 1, from, to);
      expect(res.errors?.[0]?.extensions, what).toMatchObject(refused);
    }
  });

  it('lets the database refuse overlapping shifts, even when 10 arrive at once', async () => {
    const [a, b] = [await createSite(), await createSite()];
    const washer = await user('WASHER');
    const attempts = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        sg.gql(
          ASSIGN,
          {
            site: i % 2 ? a : b,
            user: washer.id,
            shift: { startsAt: hoursIn(2, 8 + (i % 3)), endsAt: hoursIn(2, 14) },
          },
          manager,
        ),
      ),
    );
    const codes = attempts.map(errorCode);
    expect(codes.filter((c) => c === 'OK')).toHaveLength(1);
    expect(codes.filter((c) => c === 'LOCATION_SHIFT_OVERLAP')).toHaveLength(9);
    expect(await sg.location.db.staffAssignment.count({ where: { userId: washer.id } })).toBe(1);
    // Back to back is not an overlap.
    const next = await assign(a, washer.id, 2, 14, 18);
    expect(next.errors).toBeUndefined();
  });

  it('ends shifts on unassign and announces location.staff.unassigned', async () => {
    const site = await createSite();
    const washer = await user('WASHER');
    const assigned = await assign<{ assignStaff: { id: string } }>(site, washer.id, 3, 8, 12);
    const id = assigned.data!.assignStaff.id;
    const res = await sg.gql<{ unassignStaff: { endedAt: string; endedReason: string } }>(
      `mutation($id: ID!) { unassignStaff(assignmentId: $id, reason: "sick") { endedAt endedReason } }`,
      { id },
      manager,
    );
    expect(res.data!.unassignStaff.endedReason).toBe('sick');
    const events = await sg.location.db.outboxEvent.findMany({ where: { aggregateId: id } });
    expect(events.map((e) => e.topic)).toEqual(['location.staff.unassigned']);
    expect(events[0]!.payload).toMatchObject({ assignmentId: id, siteId: site, userId: washer.id });
  });

  it('closes a site: inactive, its shifts ended, location.site.closed in the outbox', async () => {
    const site = await createSite();
    const washer = await user('WASHER');
    await assign(site, washer.id, 4, 8, 12);
    const res = await sg.gql<{ closeSite: { active: boolean; closedReason: string } }>(
      `mutation($id: ID!) { closeSite(id: $id, reason: "Flooded") { active closedReason } }`,
      { id: site },
      manager,
    );
    expect(res.data!.closeSite).toEqual({ active: false, closedReason: 'Flooded' });
    const topics = (
      await sg.location.db.outboxEvent.findMany({
        where: { OR: [{ aggregateId: site }, { payload: { path: ['siteId'], equals: site } }] },
      })
    )
      .map((e) => e.topic)
      .sort();
    expect(topics).toEqual(['location.site.closed', 'location.staff.unassigned']);
    const again = await assign(site, washer.id, 5, 8, 12);
    expect(again.errors?.[0]?.extensions?.code).toBe('LOCATION_SITE_CLOSED');
  });
});

describe('auth.user.deleted through the bus', () => {
  it("ends a deleted washer's shifts exactly once, even when the event is delivered twice", async () => {
    const site = await createSite();
    const washer = await user('WASHER');
    await assign(site, washer.id, 6, 8, 12);
    await sg.gql(
      `mutation($id: ID!) { deleteUser(id: $id) { deletedUserId } }`,
      { id: washer.id },
      washer.token,
    );
    const consumer = await sg.location.startConsumers({ blockMs: 50, retryBaseMs: 100 });
    while ((await sg.auth.relay.runOnce()) > 0);
    const until = Date.now() + 10_000;
    const ended = () =>
      sg.location.db.staffAssignment.findMany({ where: { userId: washer.id, endedReason: 'user_deleted' } });
    while ((await ended()).length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
    // The same event again (a relay re-send): absorbed by the inbox.
    const [original] = await sg.auth.db.outboxEvent.findMany({ where: { aggregateId: washer.id } });
    await sg.auth.bus.publish([
      { ...createEvent('auth', 'auth.user.deleted', washer.id, { userId: washer.id }), id: original!.id },
    ]);
    await new Promise((r) => setTimeout(r, 300));
    await consumer.stop();
    expect(await ended()).toHaveLength(1);
    expect(await sg.location.db.inboxEntry.count({ where: { eventId: original!.id } })).toBe(1);
    expect(
      await sg.location.db.outboxEvent.count({
        where: { topic: 'location.staff.unassigned', payload: { path: ['userId'], equals: washer.id } },
      }),
    ).toBe(1);
  });
});

describe('batching', () => {
  it('costs a constant number of SQL statements for 10 or 100 sites with hours, staff and staff names', async () => {
    const tag = randomUUID().slice(0, 8);
    const users = Array.from({ length: 100 }, () => ({
      id: randomUUID(),
      firstName: `W${tag}`,
      lastName: 'Batch',
      role: 'WASHER' as const,
    }));
    await sg.auth.db.user.createMany({ data: users });
    // A spot of its own (random, in the Pacific) so that only this test's sites are near it.
    const spot = { latitude: -30 + Math.random() * 20, longitude: -150 + Math.random() * 20 };
    const sites = Array.from({ length: 100 }, (_, i) => ({
      id: randomUUID(),
      name: `batch-${tag}-${String(i).padStart(3, '0')}`,
      addressLine1: 'x',
      city: 'Berlin',
      postalCode: '1',
      country: 'DE',
      timeZone: 'Europe/Berlin',
      latitude: spot.latitude,
      longitude: spot.longitude + i * 0.0001,
      bays: 2,
    }));
    await sg.location.db.washSite.createMany({ data: sites });
    await sg.location.db.operatingHours.createMany({
      data: sites.map((s) => ({ siteId: s.id, weekday: 1, opensAt: '08:00', closesAt: '18:00' })),
    });
    await sg.location.db.staffAssignment.createMany({
      data: sites.map((s, i) => ({
        siteId: s.id,
        userId: users[i]!.id,
        role: 'WASHER',
        startsAt: new Date(Date.now() + 86_400_000),
        endsAt: new Date(Date.now() + 90_000_000),
      })),
    });

    const q = `query($first: Int!, $near: GeoPointInput!) { sites(first: $first, near: $near, radiusKm: 5) { nodes { name openingHours { weekday } staff { user { firstName } } } } }`;
    const measure = async (first: number) => {
      const before = { location: locationStatements.count, auth: authStatements.count };
      const res = await sg.gql<{
        sites: { nodes: Array<{ name: string; staff: Array<{ user: { firstName: string } }> }> };
      }>(q, { first, near: spot }, manager);
      expect(res.errors).toBeUndefined();
      expect(res.data!.sites.nodes).toHaveLength(first);
      expect(res.data!.sites.nodes.every((n) => n.staff[0]?.user.firstName === `W${tag}`)).toBe(true);
      return {
        location: locationStatements.count - before.location,
        auth: authStatements.count - before.auth,
      };
    };
    const ten = await measure(10);
    const hundred = await measure(100);
    // location: page + count + sites by id + hours + staff; auth: the staff users.
    expect(hundred).toEqual(ten);
    expect(hundred).toEqual({ location: 5, auth: 1 });
  });
});
