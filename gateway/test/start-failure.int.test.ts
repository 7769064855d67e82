import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@carwash/subgraph-kit';
import { describe, expect, it } from 'vitest';
import { testServiceKeys } from '../../test/support/supergraph.js';
import { createGateway, loadGatewayConfig } from '../src/server.js';

/**
 * A gateway whose start fails after it has connected to Redis (the response cache's bus watch, the rate
 * limiter) must close those connections again: a process that retries its start, or a test runner, would
 * otherwise keep one more set of sockets open per failed attempt.
 */

/** Names a subgraph (so clients and pools are made) but is no supergraph Apollo Gateway accepts. */
const NOT_A_SUPERGRAPH = `
enum join__Graph {
  AUTH @join__graph(name: "auth", url: "http://127.0.0.1:9/graphql")
}
type Query { hello: String }
`;

/** TCP sockets this process holds open (Node's own resource name for them). */
function openSockets(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'TCPSocketWrap').length;
}

async function settled(expected: number, timeoutMs = 3_000): Promise<number> {
  const until = Date.now() + timeoutMs;
  let now = openSockets();
  while (now !== expected && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
    now = openSockets();
  }
  return now;
}

describe('createGateway that fails to start', () => {
  it('refuses the supergraph and leaves no Redis connection open behind it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gateway-start-failure-'));
    const path = join(dir, 'supergraph.graphql');
    writeFileSync(path, NOT_A_SUPERGRAPH);
    const config = loadGatewayConfig({
      ...process.env,
      ...testServiceKeys().envFor('gateway'),
      SUPERGRAPH_PATH: path,
      JWKS_URL: 'none',
      EVENT_BUS: 'redis',
      LOG_LEVEL: 'silent',
      EVENTS_NAMESPACE: `test-start-failure-${randomUUID().slice(0, 8)}`,
    });
    const before = openSockets();

    // Three attempts, as a supervisor retrying a bad deploy would make them.
    for (let attempt = 0; attempt < 3; attempt++) {
      await expect(createGateway(config, createLogger('gateway', 'silent'))).rejects.toThrow();
    }

    expect(await settled(before)).toBe(before);
  });
});
