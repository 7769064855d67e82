import type { ServiceCredential, TrustedKey } from '../../src/index.js';

/** A service's signing credential for tests: key `id` with a secret long enough to pass validation. */
export function credential(service: string, id: string): ServiceCredential {
  return { service, key: { id, secret: `${id}-secret-0123456789-0123456789-0123456789` } };
}

/** The keys a verifier trusts: one per credential, under its service's name. */
export function trust(...creds: ServiceCredential[]): TrustedKey[] {
  return creds.map((c) => ({ service: c.service, ...c.key }));
}
