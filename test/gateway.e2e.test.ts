import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { sqlStatements } from '@carwash/auth';
import { describe, expect, it } from 'vitest';
import { spawnGateway, startProbe, writeSupergraphFile } from './support/probe-subgraph.js';
import { postGraphQL, startSupergraph, type Running } from './support/supergraph.js';
import { startedForSuite } from './support/suite.js';

/** A supergraph of the probe and an auth subgraph whose URL nothing answers. */
const probeWithAuthDown = (tag: string, probeUrl: string) =>
  writeSupergraphFile(tag, [
    { name: 'probe', url: probeUrl },
    { name: 'auth', url: 'http://127.0.0.1:1/graphql' },
  ]);

describe('gateway health and readiness', () => {
  const sg: Running = startedForSuite(() => startSupergraph());

  it('reports alive on GET /health', async () => {
    const res = await fetch(sg.gatewayUrl.replace('/graphql', '/health'));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', service: 'gateway' });
  });

  it('reports ready on GET /ready when the supergraph is loaded and every subgraph answers', async () => {
    const res = await fetch(sg.gatewayUrl.replace('/graphql', '/ready'));
    const body = (await res.json()) as {
      status: string;
      supergraph: { loaded: boolean };
      subgraphs: Record<string, { ok: boolean }>;
    };
    expect(res.status).toBe(200);
    expect(body.status).toBe('ready');
    expect(body.supergraph.loaded).toBe(true);
    expect(body.subgraphs.auth?.ok).toBe(true);
  });

  it('answers GraphQL without an ETag, by POST and by GET', async () => {
    const post = await fetch(sg.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    const get = await fetch(`${sg.gatewayUrl}?query=${encodeURIComponent('{ __typename }')}`, {
      headers: { 'apollo-require-preflight': 'true' },
    });
    for (const res of [post, get]) {
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ data: { __typename: 'Query' } });
      expect(res.headers.get('etag')).toBeNull();
    }
  });

  it('serves Apollo Sandbox at / to browsers', async () => {
    const res = await fetch(sg.gatewayUrl.replace('/graphql', '/'), { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('embeddable-sandbox');
  });
});

describe('gateway on another supergraph', () => {
  it('serves a supergraph with a foreign subgraph, and stays ready (reporting it down) while it is down', async () => {
    const probe = await startProbe();
    const path = probeWithAuthDown('probe', probe.url);
    const sg = await startSupergraph({ supergraphPath: path });
    try {
      const ok = await sg.gql<{ slow: string }>('{ slow(ms: 1) }');
      expect(ok.data).toEqual({ slow: 'slept 1 ms' });
      await probe.stop();
      // Readiness is the gateway's own (a subgraph down must not pull every replica out of the pool).
      const res = await fetch(sg.gatewayUrl.replace('/graphql', '/ready'));
      expect(res.status).toBe(200);
      const body = (await res.json()) as { status: string; subgraphs: Record<string, { ok: boolean }> };
      expect(body.status).toBe('ready');
      expect(body.subgraphs.probe?.ok).toBe(false);
      expect(body.subgraphs.auth?.ok).toBe(true);
      // A subgraph that does not answer surfaces as a coded error with no host, port or stack.
      const down = await sg.gql('{ slow(ms: 1) }');
      expect(down.errors?.[0]?.extensions).toMatchObject({ code: 'SUBGRAPH_UNAVAILABLE', subgraph: 'probe' });
      expect(down.errors?.[0]?.extensions?.requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(JSON.stringify(down)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|at \w+ \(/);
    } finally {
      await sg.stop();
    }
  });

  it('batches User references from another subgraph: 100 users, 200 references, one SQL statement in auth', async () => {
    const probe = await startProbe();
    const path = probeWithAuthDown('batch', probe.url);
    const sg = await startSupergraph({ supergraphPath: path });
    try {
      const ids = Array.from({ length: 100 }, () => randomUUID());
      await sg.auth.db.user.createMany({
        data: ids.map((id, i) => ({
          id,
          firstName: `Batch${i}`,
          lastName: 'Probe',
          email: `${id}@example.test`,
          emailNormalized: `${id}@example.test`,
        })),
      });
      const { token } = await sg.auth.issuer.accessToken({
        userId: ids[0]!,
        role: 'CLIENT',
        sessionId: randomUUID(),
      });
      const before = sqlStatements.count;
      const res = await sg.gql<{ userRefs: Array<{ id: string; firstName: string }> }>(
        'query($ids: [ID!]!) { userRefs(ids: $ids) { id firstName } }',
        { ids: [...ids, ...ids] },
        token,
      );
      const statements = sqlStatements.count - before;
      expect(res.errors).toBeUndefined();
      expect(res.data!.userRefs).toHaveLength(200);
      expect(res.data!.userRefs[199]).toEqual({ id: ids[99], firstName: 'Batch99' });
      expect(statements).toBe(1);
    } finally {
      await sg.stop();
      await probe.stop();
    }
  });
});

describe('gateway shutdown', () => {
  it('finishes in-flight requests on SIGTERM, then exits 0', async () => {
    const probe = await startProbe();
    const { child, port, output } = spawnGateway(
      writeSupergraphFile('shutdown', [{ name: 'probe', url: probe.url }]),
    );
    try {
      await waitFor(() => output().includes('gateway ready'), 20_000);
      const inFlight = postGraphQL<{ slow: string }>(
        `http://127.0.0.1:${port}/graphql`,
        '{ slow(ms: 1500) }',
      );
      await new Promise((r) => setTimeout(r, 300));
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      const res = await inFlight;
      expect(res.status).toBe(200);
      expect(res.data).toEqual({ slow: 'slept 1500 ms' });
      expect(await exited).toBe(0);
      await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await probe.stop();
    }
  });
});

async function waitFor(check: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out waiting for the gateway to start');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('start-up configuration', () => {
  it('refuses to start with a malformed setting and names it', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: fileURLToPath(new URL('../gateway', import.meta.url)),
      env: { ...process.env, GATEWAY_PORT: 'eighty', SERVICE_SIGNING_KEY: 'k1:short' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code).toBe(1);
    expect(stderr).toContain('gateway: invalid configuration');
    expect(stderr).toMatch(/GATEWAY_PORT: /);
    expect(stderr).toMatch(/SERVICE_SIGNING_KEY: .*at least 32 characters/);
  });
});
