/**
 * `pnpm keys:generate`: fresh service credentials for a deployment — one key per service, each bound
 * to its service name. Prints, per service, its SERVICE_SIGNING_KEY and the SERVICE_TRUSTED_KEYS it
 * accepts (every service's key; the allow-lists in each feature's permissions.ts decide what each may
 * read). Store them in your secret manager; nothing is written to disk.
 */
import { generateServiceKeys, SERVICE_NAMES } from '@carwash/config';

const tag = new Date().toISOString().slice(0, 10).replaceAll('-', '');
const keys = generateServiceKeys(SERVICE_NAMES, tag);
for (const service of SERVICE_NAMES) {
  const env = keys.envFor(service);
  console.log(`# ${service}`);
  console.log(`SERVICE_SIGNING_KEY=${env.SERVICE_SIGNING_KEY}`);
  // The gateway only signs; it receives no signed calls.
  if (service !== 'gateway') console.log(`SERVICE_TRUSTED_KEYS=${env.SERVICE_TRUSTED_KEYS}`);
  console.log();
}
