import { describe, expect, it } from 'vitest';
import { loadGatewayConfig } from '../src/config.js';

const load = (env: Record<string, string> = {}) =>
  loadGatewayConfig({ SERVICE_CREDENTIALS: 'development', ...env });

describe('subgraph transport settings', () => {
  it('defaults to a 10 s deadline, 64 connections and a 4 s keep-alive per subgraph', () => {
    const config = load();
    expect(config.SUBGRAPH_TIMEOUT_MS).toBe(10_000);
    expect(config.SUBGRAPH_MAX_CONNECTIONS).toBe(64);
    expect(config.SUBGRAPH_KEEPALIVE_MS).toBe(4_000);
    expect(config.subgraphTimeoutsMs).toEqual({});
  });

  it('reads a per-subgraph deadline from SUBGRAPH_<NAME>_TIMEOUT_MS', () => {
    const config = load({ SUBGRAPH_TIMEOUT_MS: '3000', SUBGRAPH_BOOKING_TIMEOUT_MS: '750' });
    expect(config.SUBGRAPH_TIMEOUT_MS).toBe(3000);
    expect(config.subgraphTimeoutsMs).toEqual({ booking: 750 });
  });

  it('refuses a per-subgraph deadline it cannot read, naming the setting', () => {
    expect(() => load({ SUBGRAPH_BOOKING_TIMEOUT_MS: 'soon' })).toThrow(
      /SUBGRAPH_BOOKING_TIMEOUT_MS: must be/,
    );
    expect(() => load({ SUBGRAPH_AUTH_TIMEOUT_MS: '10' })).toThrow(/SUBGRAPH_AUTH_TIMEOUT_MS/);
  });

  it('refuses a pool of no connections', () => {
    expect(() => load({ SUBGRAPH_MAX_CONNECTIONS: '0' })).toThrow(/SUBGRAPH_MAX_CONNECTIONS/);
  });
});
