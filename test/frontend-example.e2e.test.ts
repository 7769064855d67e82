import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MyBookings } from '../examples/frontend/src/operations.js';
import { describeMyBookings, request } from '../examples/frontend/src/usage.js';
import { createOpenSite, createService } from './support/fixtures.js';
import { signUpAs, startSupergraph, type Running } from './support/supergraph.js';

/**
 * The example frontend (examples/frontend) against a real supergraph: its generated, typed `MyBookings`
 * runs through the gateway and reads one client's booking with its site (location), service (booking)
 * and payment (payment), as the README's "Frontend teams" section promises.
 */
let sg: Running;

beforeAll(async () => {
  sg = await startSupergraph();
});
afterAll(async () => {
  await sg?.stop();
});

describe('examples/frontend', () => {
  it("reads a client's paid booking across three features with the generated MyBookings", async () => {
    const manager = await signUpAs(sg, 'MANAGER');
    const client = await signUpAs(sg, 'CLIENT');
    const siteName = `Example wash ${randomUUID().slice(0, 6)}`;
    const siteId = await createOpenSite(sg, manager.token, {
      name: siteName,
      opensAt: '00:00',
      closesAt: '24:00',
    });
    const serviceName = `Example ${randomUUID().slice(0, 4)}`;
    const serviceId = await createService(sg, manager.token, { name: serviceName, priceCents: 2900 });
    const startsAt = new Date(Date.now() + 3 * 86_400_000);
    startsAt.setUTCHours(12, 0, 0, 0);

    const booked = await sg.gql<{ createBooking: { id: string } }>(
      `mutation($i: CreateBookingInput!) { createBooking(input: $i) { id } }`,
      { i: { siteId, serviceId, startsAt: startsAt.toISOString() } },
      client.token,
    );
    expect(booked.errors).toBeUndefined();
    const card = await sg.gql<{ addPaymentMethod: { id: string } }>(
      `mutation { addPaymentMethod(input: { providerToken: "tok_visa", brand: visa, last4: "4242", expMonth: 12, expYear: 2099 }) { id } }`,
      {},
      client.token,
    );
    const paid = await sg.gql<{ payForBooking: { status: string } }>(
      `mutation($b: ID!, $m: ID!, $k: String!) { payForBooking(bookingId: $b, methodId: $m, idempotencyKey: $k) { status } }`,
      { b: booked.data!.createBooking.id, m: card.data!.addPaymentMethod.id, k: randomUUID() },
      client.token,
    );
    expect(paid.data?.payForBooking.status).toBe('CAPTURED');

    const lines = await describeMyBookings(sg.gatewayUrl, client.token);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(`^${startsAt.toISOString()} (HELD|CONFIRMED) ${serviceName} at ${siteName}`),
    );
    expect(lines[0]).toContain('(2900 EUR, CAPTURED)');
  });

  it('hands back the catalogue code of a refusal, not a message', async () => {
    await expect(describeMyBookings(sg.gatewayUrl, 'not-a-token')).rejects.toThrow('UNAUTHENTICATED');
  });

  it('reads no bookings for an anonymous caller (me is null)', async () => {
    const { data, errors } = await request(sg.gatewayUrl, MyBookings, {});
    expect(errors).toBeUndefined();
    expect(data?.me).toBeNull();
  });
});
