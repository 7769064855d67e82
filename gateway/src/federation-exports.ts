import { createRequire } from 'node:module';

/**
 * Makes `@apollo/federation-internals`' exports a plain object before Apollo Gateway loads it.
 *
 * Why: that package's compiled `index.js` re-exports ~300 names through TypeScript's `__exportStar`,
 * which defines each one as a getter (`get: () => m[k]`) on the exports object; with that many
 * accessors V8 keeps the object in dictionary mode. Apollo Gateway's result shaping and plan execution
 * read `federation_internals_1.<name>` for every field of every response (`isNonNullType`, `assert`,
 * `typenameFieldName`, …), so each read is a hash lookup plus a getter call: 7.7 % of the gateway's CPU
 * under the dashboard load, 4 % under availableSlots (test/bench/results/tuning-gateway.md, "CPU per
 * request"). A copy of the same values as plain properties keeps fast properties (reads ~5× faster in a
 * micro-benchmark).
 *
 * Safe because the copy holds the very same values: the package never reassigns an export after it
 * has loaded (no live binding is lost), and nothing imports its files by deep path. Importing this
 * module must come before anything loads `@apollo/gateway` (server.ts imports it first); a consumer
 * that loaded the package earlier keeps the original object, which works as before.
 */
const fromGateway = createRequire(createRequire(import.meta.url).resolve('@apollo/gateway'));
const path = fromGateway.resolve('@apollo/federation-internals');
const loaded = fromGateway('@apollo/federation-internals') as Record<string, unknown>;
const cached = fromGateway.cache[path];

/** Whether the exports Apollo Gateway gets are plain data properties (false: already loaded, left alone). */
export const federationExportsFlattened = ((): boolean => {
  if (!cached || cached.exports !== loaded) return false;
  const flat: Record<string, unknown> = { ...loaded };
  Object.defineProperty(flat, '__esModule', { value: true });
  cached.exports = flat;
  return true;
})();
