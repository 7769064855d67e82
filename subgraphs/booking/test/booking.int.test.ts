import { randomUUID } from 'node:crypto';
import { generateServiceKeys } from '@carwash/config';
import { signedFetch } from '@carwash/service-trust';
import { createLogger, pgErrorCode } from '@carwash/subgraph-kit';
import { integrationEnv } from '@carwash/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBookingConfig } from '../src/config.js';
import { createBookingSubgraph, type BookingSubgraph } from '../src/server.js';

const keys = generateServiceKeys();
const config = loadBookingConfig(integrationEnv(keys.envFor('booking')));
let sut: BookingSubgraph;
let url: string;
let serviceId: string;

beforeAll(async () => {
  sut = await createBookingSubgraph(config, createLogger('booking', 'silent'));
  url = (await sut.listen(0)).url;
  serviceId = (
    await sut.db.service.create({
      data: { name: 'Int wash', durationMinutes: 30, priceCents: 1000, currency: 'EUR' },
    })
  ).id;
});
afterAll(async () => {
  await sut?.stop();
});

const t = (h: number, m = 0) => new Date(Date.UTC(2031, 0, 1, h, m));

function reservation(over: Record<string, unknown> = {}) {
  return {
    customerId: randomUUID(),
    siteId: randomUUID(),
    serviceId,
    bay: 1,
    startsAt: t(9),
    endsAt: t(9, 30),
    blockedUntil: t(9, 40),
    status: 'CONFIRMED' as const,
    serviceName: 'Int wash',
    priceCents: 1000,
    currency: 'EUR',
    ...over,
  };
}

describe('booking database rules', () => {
  /** The SQLSTATE the database refuses `data` with (undefined if it accepts it). */
  const clashCode = (data: ReturnType<typeof reservation>) =>
    sut.db.reservation.create({ data }).then(
      () => undefined,
      (e: unknown) => pgErrorCode(e),
    );

  it('refuses a second live reservation of the same bay in an overlapping time, buffer included', async () => {
    const siteId = randomUUID();
    await sut.db.reservation.create({ data: reservation({ siteId }) });
    expect(
      await clashCode(reservation({ siteId, startsAt: t(9, 35), endsAt: t(10, 5), blockedUntil: t(10, 15) })),
    ).toBe('23P01');
    // Another bay, or a cancelled row, does not clash.
    await expect(sut.db.reservation.create({ data: reservation({ siteId, bay: 2 }) })).resolves.toBeTruthy();
    await expect(
      sut.db.reservation.create({ data: reservation({ siteId, status: 'CANCELLED' }) }),
    ).resolves.toBeTruthy();
    await expect(
      sut.db.reservation.create({
        data: reservation({ siteId, startsAt: t(9, 40), endsAt: t(10, 10), blockedUntil: t(10, 20) }),
      }),
    ).resolves.toBeTruthy();
  });

  it('refuses one washer in two live jobs at once, at any site', async () => {
    const washerId = randomUUID();
    await sut.db.reservation.create({ data: reservation({ washerId }) });
    expect(
      await clashCode(
        reservation({ washerId, startsAt: t(9, 15), endsAt: t(9, 45), blockedUntil: t(9, 55) }),
      ),
    ).toBe('23P01');
  });
});

describe('Booking references', () => {
  it('lets a sibling service read a booking through _entities, but not the gateway without a viewer', async () => {
    const r = await sut.db.reservation.create({ data: reservation({ siteId: randomUUID() }) });
    const body = JSON.stringify({
      query:
        'query($r: [_Any!]!) { _entities(representations: $r) { ... on Booking { id price { amountCents currency } } } }',
      variables: { r: [{ __typename: 'Booking', id: r.id }] },
    });
    const call = async (caller: string) =>
      (await (
        await signedFetch(keys.credentials[caller]!, 'booking')(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        })
      ).json()) as { data: { _entities: unknown[] }; errors?: Array<{ extensions: { code: string } }> };
    const asPayment = await call('payment');
    expect(asPayment.errors).toBeUndefined();
    expect(asPayment.data._entities).toEqual([{ id: r.id, price: { amountCents: 1000, currency: 'EUR' } }]);
    const asAnonymousClient = await call('gateway');
    expect(asAnonymousClient.errors?.[0]?.extensions.code).toBe('FORBIDDEN');
  });
});
