/**
 * Helpers that tests of several packages and features share. Test-only: production code never imports
 * this package (it is a devDependency wherever it is used, and it is not built).
 */
import { randomUUID } from 'node:crypto';
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

/**
 * The environment of one feature under an integration test: this machine's settings (its databases,
 * Redis), then `settings` (service keys, overrides), with silent logs and an event namespace of its own
 * so that no other test's consumers see its events.
 */
export function integrationEnv(settings: Record<string, string> = {}): Record<string, string | undefined> {
  return {
    ...process.env,
    LOG_LEVEL: 'silent',
    EVENTS_NAMESPACE: `int-${randomUUID().slice(0, 8)}`,
    ...settings,
  };
}
