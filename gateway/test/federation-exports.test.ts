import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { federationExportsFlattened } from '../src/federation-exports.js';

const fromGateway = createRequire(createRequire(import.meta.url).resolve('@apollo/gateway'));
const path = fromGateway.resolve('@apollo/federation-internals');

describe('federation-exports', () => {
  it("hands Apollo Gateway @apollo/federation-internals' exports as plain properties", () => {
    expect(federationExportsFlattened).toBe(true);
    const exports = fromGateway('@apollo/federation-internals') as object;
    const accessors = Object.entries(Object.getOwnPropertyDescriptors(exports)).filter(
      ([, d]) => d.get !== undefined || d.set !== undefined,
    );
    expect(accessors.map(([name]) => name)).toEqual([]);
    expect((exports as { __esModule?: boolean }).__esModule).toBe(true);
  });

  it('holds the very values the package defines (the same functions, classes and constants)', () => {
    const exports = fromGateway('@apollo/federation-internals') as Record<string, unknown>;
    // Every name the index re-exports, as its own file defines it.
    const defined = new Map<string, unknown>();
    const dist = dirname(path);
    for (const [file, mod] of Object.entries(fromGateway.cache))
      if (file !== path && file.startsWith(dist) && mod)
        for (const [name, value] of Object.entries(mod.exports as object))
          if (!defined.has(name)) defined.set(name, value);
    const names = Object.keys(exports);
    expect(names.length).toBeGreaterThan(250);
    expect(names.filter((name) => defined.get(name) !== exports[name])).toEqual([]);
  });
});
