import { afterAll, beforeAll } from 'vitest';

/**
 * Something a suite starts once and stops at the end: a supergraph, an edge, a replica. The returned
 * handle reads through to it, so tests use it as the thing itself (`sg.gatewayUrl`); touching it before
 * the suite's `beforeAll` has run is a test bug and throws.
 */
export function startedForSuite<T extends { stop(): Promise<void> }>(start: () => Promise<T>): T {
  let started: T | undefined;
  beforeAll(async () => {
    started = await start();
  });
  afterAll(async () => {
    await started?.stop();
  });
  return new Proxy({} as T, {
    get(_target, key) {
      if (!started) throw new Error(`startedForSuite: ${String(key)} read before the suite started`);
      const value: unknown = Reflect.get(started, key, started);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(started) : value;
    },
  });
}
