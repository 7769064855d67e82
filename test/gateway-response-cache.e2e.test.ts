/**
 * The gateway's response cache (gateway/src/edge/response-cache.ts) over the real supergraph and buses:
 * booking's free slots — public, the same for every caller — are answered by the gateway without asking
 * booking again, until a booking through this gateway (at once) or an event (on every replica) changes
 * the site; an answer that depends on who asks, or that carries an error, is never kept.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpenSite, createService, siteDay } from './support/fixtures.js';
import { eventually } from './support/eventually.js';
import { metricValue, scrapeMetrics } from './support/metrics.js';
import { postGraphQL } from './support/graphql.js';
import {
  signUpAs,
  startGatewayReplica,
  startSupergraph,
  type GatewayReplica,
  type Running,
} from './support/supergraph.js';

let sg: Running;
let replica: GatewayReplica;
let manager: { id: string; token: string };

const SLOTS = `query($site: ID!, $service: ID!, $date: Date!) { availableSlots(siteId: $site, serviceId: $service, date: $date) { startsAt freeBays } }`;
const CREATE = `mutation($input: CreateBookingInput!) { createBooking(input: $input) { id } }`;
const CANCEL = `mutation($id: ID!) { cancelBooking(id: $id, reason: "cache test") { id status } }`;

type Slots = Array<{ startsAt: string; freeBays: number }>;

/** Fetches sent to booking and answers kept or served, as the gateway at `url` counts them. */
async function counters(url: string) {
  const text = await scrapeMetrics(url);
  return {
    bookingFetches: metricValue(text, 'gateway_subgraph_fetch_duration_seconds_count', {
      subgraph: 'booking',
    }),
    hits: metricValue(text, 'gateway_response_cache_total', { result: 'hit' }),
    stored: metricValue(text, 'gateway_response_cache_total', { result: 'stored' }),
  };
}

async function slotsAt(url: string, site: string, service: string, date: string, token?: string) {
  const res = await postGraphQL<{ availableSlots: Slots }>(url, SLOTS, { site, service, date }, token);
  expect(res.errors).toBeUndefined();
  return res.data!.availableSlots;
}

const freeAt = (slots: Slots, iso: string) =>
  slots.find((s) => Date.parse(s.startsAt) === Date.parse(iso))?.freeBays;

beforeAll(async () => {
  sg = await startSupergraph();
  replica = await startGatewayReplica(sg);
  manager = await signUpAs(sg, 'MANAGER');
});
afterAll(async () => {
  await replica?.stop();
  await sg?.stop();
});

describe("the gateway's response cache", () => {
  it('answers the same free slots again without asking booking, byte for byte, to anyone', async () => {
    const site = await createOpenSite(sg, manager.token, { bays: 2 });
    const svc = await createService(sg, manager.token, { durationMinutes: 30 });
    const { date } = siteDay(20);
    const client = await signUpAs(sg, 'CLIENT', 'Cached');
    const first = await slotsAt(sg.gatewayUrl, site, svc, date);
    const before = await counters(sg.gatewayUrl);
    const again = [
      await slotsAt(sg.gatewayUrl, site, svc, date),
      await slotsAt(sg.gatewayUrl, site, svc, date, client.token),
      await slotsAt(sg.gatewayUrl, site, svc, date, manager.token),
    ];
    const after = await counters(sg.gatewayUrl);
    expect(first.length).toBeGreaterThan(0);
    for (const answer of again) expect(JSON.stringify(answer)).toBe(JSON.stringify(first));
    expect(after.bookingFetches - before.bookingFetches).toBe(0);
    expect(after.hits - before.hits).toBe(3);
    // Another day is another answer, asked of booking.
    const other = await slotsAt(sg.gatewayUrl, site, svc, siteDay(21).date);
    expect(other.length).toBeGreaterThan(0);
    expect((await counters(sg.gatewayUrl)).bookingFetches - after.bookingFetches).toBe(1);
  });

  it('shows a booking and its cancellation through this gateway at once, and on another replica once the event arrives', async () => {
    const site = await createOpenSite(sg, manager.token, { bays: 2 });
    const svc = await createService(sg, manager.token, { durationMinutes: 30 });
    const { date, at } = siteDay(22);
    const start = at('10:00');
    const client = await signUpAs(sg, 'CLIENT', 'Booker');
    expect(freeAt(await slotsAt(sg.gatewayUrl, site, svc, date), start)).toBe(2);
    expect(freeAt(await slotsAt(replica.url, site, svc, date), start)).toBe(2);

    const booked = await sg.gql<{ createBooking: { id: string } }>(
      CREATE,
      { input: { siteId: site, serviceId: svc, startsAt: start } },
      client.token,
    );
    expect(booked.errors).toBeUndefined();
    // This gateway carried the write: its cached answer is gone before the mutation's answer came back.
    expect(freeAt(await slotsAt(sg.gatewayUrl, site, svc, date), start)).toBe(1);
    // The other replica still has its own copy until the event reaches it (the proof that it is cached).
    expect(freeAt(await slotsAt(replica.url, site, svc, date), start)).toBe(2);
    while ((await sg.booking.relay.runOnce()) > 0);
    expect(
      await eventually(async () => freeAt(await slotsAt(replica.url, site, svc, date), start) === 1),
    ).toBe(true);

    const cancelled = await sg.gql(CANCEL, { id: booked.data!.createBooking.id }, client.token);
    expect(cancelled.errors).toBeUndefined();
    expect(freeAt(await slotsAt(sg.gatewayUrl, site, svc, date), start)).toBe(2);
    while ((await sg.booking.relay.runOnce()) > 0);
    expect(
      await eventually(async () => freeAt(await slotsAt(replica.url, site, svc, date), start) === 2),
    ).toBe(true);
  });

  it('drops a site’s slots when location announces new hours', async () => {
    const site = await createOpenSite(sg, manager.token, { bays: 1 });
    const svc = await createService(sg, manager.token, { durationMinutes: 30 });
    const { date } = siteDay(23);
    expect((await slotsAt(sg.gatewayUrl, site, svc, date)).length).toBeGreaterThan(1);
    const hours = ['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY', 'SUNDAY'].map(
      (weekday) => ({ weekday, opensAt: '14:00', closesAt: '14:30' }),
    );
    const changed = await sg.gql(
      `mutation($id: ID!, $hours: [WeeklyHoursInput!]!) { setWeeklyHours(siteId: $id, hours: $hours) { id } }`,
      { id: site, hours },
      manager.token,
    );
    expect(changed.errors).toBeUndefined();
    while ((await sg.location.relay.runOnce()) > 0);
    expect(await eventually(async () => (await slotsAt(sg.gatewayUrl, site, svc, date)).length === 1)).toBe(
      true,
    );
  });

  it('never keeps an answer that depends on who asks, even beside public slots', async () => {
    const site = await createOpenSite(sg, manager.token, { bays: 1 });
    const svc = await createService(sg, manager.token, { durationMinutes: 30 });
    const { date } = siteDay(24);
    const alice = await signUpAs(sg, 'CLIENT', 'Alice');
    const bob = await signUpAs(sg, 'CLIENT', 'Bob');
    const MIXED = `query($site: ID!, $service: ID!, $date: Date!) { me { id } availableSlots(siteId: $site, serviceId: $service, date: $date) { startsAt } }`;
    const before = await counters(sg.gatewayUrl);
    const answers = [];
    for (const who of [alice, bob, alice, bob]) {
      const res = await sg.gql<{ me: { id: string } }>(MIXED, { site, service: svc, date }, who.token);
      expect(res.errors).toBeUndefined();
      answers.push(res.data!.me.id);
    }
    expect(answers).toEqual([alice.id, bob.id, alice.id, bob.id]);
    const after = await counters(sg.gatewayUrl);
    expect(after.stored - before.stored).toBe(0);
    expect(after.hits - before.hits).toBe(0);
  });

  it('never keeps an answer with an error', async () => {
    const site = await createOpenSite(sg, manager.token, { bays: 1 });
    const unknownService = '00000000-0000-4000-8000-000000000000';
    const before = await counters(sg.gatewayUrl);
    for (let i = 0; i < 2; i++) {
      const res = await sg.gql(SLOTS, { site, service: unknownService, date: siteDay(25).date });
      expect(res.errors?.[0]?.extensions?.code).toBe('BOOKING_SERVICE_UNAVAILABLE');
    }
    const after = await counters(sg.gatewayUrl);
    expect(after.stored - before.stored).toBe(0);
    expect(after.bookingFetches - before.bookingFetches).toBe(2);
  });

  it('is off at GATEWAY_RESPONSE_CACHE_MIB=0: every answer asks booking', async () => {
    const off = await startGatewayReplica(sg, { GATEWAY_RESPONSE_CACHE_MIB: '0' });
    try {
      const site = await createOpenSite(sg, manager.token, { bays: 1 });
      const svc = await createService(sg, manager.token, { durationMinutes: 30 });
      const { date } = siteDay(26);
      const before = await counters(off.url);
      for (let i = 0; i < 3; i++) await slotsAt(off.url, site, svc, date);
      const after = await counters(off.url);
      expect(after.bookingFetches - before.bookingFetches).toBe(3);
      expect(after.hits).toBe(0);
    } finally {
      await off.stop();
    }
  });
});
