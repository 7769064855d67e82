/**
 * Helpers that tests of several packages and features share. Test-only: production code never imports
 * this package (it is a devDependency wherever it is used, and it is not built).
 */
import { expect } from 'vitest';

/**
 * The error `run` throws, checked to be an instance of `type` (failing the test otherwise, or when `run`
 * throws nothing), so a test can go on to assert its code, message or fields.
 */
export function thrown<E extends Error>(run: () => unknown, type: abstract new (...args: never[]) => E): E {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(type);
    return err as E;
  }
  throw new Error(`expected a ${type.name} to be thrown, but nothing was`);
}
