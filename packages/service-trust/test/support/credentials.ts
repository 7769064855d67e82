import type { ServiceCredential, TrustedKey } from '../../src/index.js';

/** A service's signing credential for tests: key `id` with a secret long enough to pass validation. */
function credential(service: string, id: string): ServiceCredential {
  return { service, key: { id, secret: `${id}-secret-0123456789-0123456789-0123456789` } };
}

/** The keys a verifier trusts: one per credential, under its service's name. */
export function trust(...creds: ServiceCredential[]): TrustedKey[] {
  return creds.map((c) => ({ service: c.service, ...c.key }));
}

/** The services the tests sign as: one key each, and the gateway's next key for rotation. */
export const GATEWAY = credential('gateway', 'gw1');
export const GATEWAY_NEXT = credential('gateway', 'gw2');
export const BOOKING = credential('booking', 'bk1');
export const PAYMENT = credential('payment', 'pm1');
