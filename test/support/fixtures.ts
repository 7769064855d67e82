/**
 * Rows the end-to-end tests create through the gateway, as a manager would: each test makes its own
 * sites and services with these instead of spelling out the same mutations again.
 */
import { randomUUID } from 'node:crypto';
import { DateTime } from 'luxon';
import type { Running } from './supergraph.js';

/** The time zone of the sites these fixtures create (local times of their bookings are in it). */
export const SITE_ZONE = 'Europe/Berlin';

const EVERY_DAY = ['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY', 'SUNDAY'] as const;

/** Fails the test setup with the errors of a mutation that should have worked. */
function created<T>(res: { data?: T | null; errors?: unknown[] }, what: string): T {
  if (res.errors?.length || !res.data) throw new Error(`${what} failed: ${JSON.stringify(res.errors)}`);
  return res.data;
}

export interface SiteOptions {
  name?: string;
  bays?: number;
  /** Local opening time every day (Europe/Berlin). */
  opensAt?: string;
  closesAt?: string;
}

/** A Berlin site, open `opensAt`–`closesAt` every day (06:00–22:00 unless told), created by a manager. */
export async function createOpenSite(
  sg: Pick<Running, 'gql'>,
  managerToken: string,
  {
    name = `Site ${randomUUID().slice(0, 6)}`,
    bays = 1,
    opensAt = '06:00',
    closesAt = '22:00',
  }: SiteOptions = {},
): Promise<string> {
  const site = created(
    await sg.gql<{ createSite: { id: string } }>(
      `mutation($input: CreateSiteInput!) { createSite(input: $input) { id } }`,
      {
        input: {
          name,
          address: { line1: 'x', city: 'Berlin', postalCode: '1', country: 'DE' },
          timeZone: SITE_ZONE,
          location: { latitude: 52.5, longitude: 13.4 },
          bays,
        },
      },
      managerToken,
    ),
    'createSite',
  );
  const id = site.createSite.id;
  created(
    await sg.gql(
      `mutation($id: ID!, $hours: [WeeklyHoursInput!]!) { setWeeklyHours(siteId: $id, hours: $hours) { id } }`,
      { id, hours: EVERY_DAY.map((weekday) => ({ weekday, opensAt, closesAt })) },
      managerToken,
    ),
    'setWeeklyHours',
  );
  return id;
}

export interface ServiceOptions {
  name?: string;
  durationMinutes?: number;
  priceCents?: number;
  isAddOn?: boolean;
}

/** A catalogue entry in EUR (30 minutes, 15.00 unless told), created by a manager. */
export async function createService(
  sg: Pick<Running, 'gql'>,
  managerToken: string,
  {
    name = `Wash ${randomUUID().slice(0, 4)}`,
    durationMinutes = 30,
    priceCents = 1500,
    isAddOn = false,
  }: ServiceOptions = {},
): Promise<string> {
  const res = await sg.gql<{ createService: { id: string } }>(
    `mutation($input: CreateServiceInput!) { createService(input: $input) { id } }`,
    { input: { name, durationMinutes, priceCents, currency: 'EUR', isAddOn } },
    managerToken,
  );
  return created(res, 'createService').createService.id;
}

/** A local date `daysAhead` days from today at the sites (Berlin), and the UTC instant of a local time on it. */
export function siteDay(daysAhead: number): { date: string; at(hhmm: string): string } {
  const date = DateTime.now().setZone(SITE_ZONE).plus({ days: daysAhead }).toISODate()!;
  return { date, at: (hhmm) => DateTime.fromISO(`${date}T${hhmm}`, { zone: SITE_ZONE }).toUTC().toISO()! };
}

/** A card on file for the holder of `token`; `providerToken` picks how the sandbox provider answers. */
export async function addCard(sg: Running, token: string, providerToken = 'tok_visa'): Promise<string> {
  const res = await sg.gql<{ addPaymentMethod: { id: string } }>(
    `mutation($i: AddPaymentMethodInput!) { addPaymentMethod(input: $i) { id } }`,
    { i: { providerToken, brand: 'visa', last4: '4242', expMonth: 12, expYear: 2099 } },
    token,
  );
  return created(res, 'addPaymentMethod').addPaymentMethod.id;
}

/** A booking (HELD until paid) made by the holder of `token`. */
export async function createBooking(
  sg: Running,
  token: string,
  input: { siteId: string; serviceId: string; startsAt: string },
): Promise<string> {
  const res = await sg.gql<{ createBooking: { id: string } }>(
    `mutation($i: CreateBookingInput!) { createBooking(input: $i) { id } }`,
    { i: input },
    token,
  );
  return created(res, 'createBooking').createBooking.id;
}
