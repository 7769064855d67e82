import type { Handlers } from '@carwash/events';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { assembleFeatureSubgraph, type FeatureEvents, type SubgraphServer } from '../src/index.js';

/** Fakes that record, in order, what the assembled subgraph closes and consumes. */
function fakes() {
  const calls: string[] = [];
  const step = (name: string) => async () => void calls.push(name);
  const server = {
    app: {},
    httpServer: {},
    listen: async () => ({ url: 'http://x', port: 1 }),
    stop: step('server'),
  } as unknown as SubgraphServer;
  const consumed: Handlers[] = [];
  const events = {
    bus: {},
    relay: {},
    consume: async (handlers: Handlers) => {
      consumed.push(handlers);
      return {};
    },
    stop: step('events'),
  } as unknown as FeatureEvents;
  const wiring = {
    db: { $disconnect: step('db') },
    pool: { end: step('pool') } as unknown as pg.Pool,
    events,
    tokens: { close: step('tokens') },
  };
  return { calls, step, server, consumed, wiring };
}

describe(assembleFeatureSubgraph.name, () => {
  it('consumes exactly the topics of the handler map', async () => {
    const { server, consumed, wiring } = fakes();
    const handlers: Handlers = { 'auth.user.deleted': async () => {} };
    await assembleFeatureSubgraph(server, wiring, { service: {}, handlers }).startConsumers();
    expect(consumed).toEqual([handlers]);
  });

  it("stops the feature's timers first, the server next, then its own drain, the bus, the revocation check and the database", async () => {
    const { calls, step, server, wiring } = fakes();
    const subgraph = assembleFeatureSubgraph(server, wiring, {
      service: {},
      handlers: {},
      beforeStop: step('timers'),
      afterServerStop: step('drain'),
    });
    await subgraph.stop();
    expect(calls).toEqual(['timers', 'server', 'drain', 'events', 'tokens', 'db', 'pool']);
  });

  it('stops in the same order without hooks of its own', async () => {
    const { calls, server, wiring } = fakes();
    await assembleFeatureSubgraph(server, wiring, { service: {}, handlers: {} }).stop();
    expect(calls).toEqual(['server', 'events', 'tokens', 'db', 'pool']);
  });
});
