import { randomUUID } from 'node:crypto';

/** The columns of a wash site row a test writes straight to the database. */
export interface SiteRow {
  id: string;
  name: string;
  addressLine1: string;
  city: string;
  postalCode: string;
  country: string;
  timeZone: string;
  latitude: number;
  longitude: number;
  bays: number;
}

/**
 * A wash site row that passes every CHECK constraint, with a fresh id (each test creates its own rows);
 * a test overrides only the columns it is about (`siteRow({ bays: 0 })`).
 */
export function siteRow(overrides: Partial<SiteRow> = {}): SiteRow {
  return {
    id: randomUUID(),
    name: 'int-site',
    addressLine1: 'x',
    city: 'y',
    postalCode: '1',
    country: 'DE',
    timeZone: 'UTC',
    latitude: 0,
    longitude: 0,
    bays: 1,
    ...overrides,
  };
}
