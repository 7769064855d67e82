import type { SubgraphClient } from './subgraph-fetch.js';

/** One subgraph's last known state, as `/ready` reports it. */
export interface SubgraphStatus {
  ok: boolean;
  latencyMs?: number;
  /** `timeout`, `unreachable`, or `HTTP <status>`. */
  error?: string;
  /** When this was observed (ISO time). */
  at: string;
}

export interface SubgraphHealth {
  /** Records an observation: a probe's, or a real request's (the data source reports every fetch). */
  report(subgraph: string, status: Omit<SubgraphStatus, 'at'>): void;
  /**
   * Every subgraph's last known state. Probes run at most once per `maxAgeMs` and, after the first, in
   * the background: the answer never waits on a subgraph that hangs, so `/ready` stays fast.
   */
  snapshot(): Promise<Record<string, SubgraphStatus>>;
}

/**
 * Subgraph health for `/ready`, *reported beside* the gateway's own readiness and never part of it: a
 * subgraph that is down costs its own fields (partial data), while failing readiness would pull every
 * gateway replica out of the load balancer at once.
 */
export function createSubgraphHealth(
  clients: readonly SubgraphClient[],
  { probeTimeoutMs, maxAgeMs = 1000 }: { probeTimeoutMs: number; maxAgeMs?: number },
): SubgraphHealth {
  const state = new Map<string, SubgraphStatus>();
  let probedAt = 0;
  let probing: Promise<void> | undefined;

  const report: SubgraphHealth['report'] = (subgraph, status) => {
    const latencyMs = status.latencyMs === undefined ? undefined : Math.round(status.latencyMs);
    state.set(subgraph, {
      ok: status.ok,
      ...(latencyMs === undefined ? {} : { latencyMs }),
      ...(status.error ? { error: status.error } : {}),
      at: new Date().toISOString(),
    });
  };

  async function probe(client: SubgraphClient): Promise<void> {
    const started = performance.now();
    try {
      const res = await client.fetch(client.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ __typename }' }),
        signal: AbortSignal.timeout(probeTimeoutMs),
      });
      const body = (await res.json()) as { data?: { __typename?: string } };
      const ok = res.ok && body.data?.__typename === 'Query';
      report(client.name, {
        ok,
        latencyMs: performance.now() - started,
        ...(ok ? {} : { error: `HTTP ${res.status}` }),
      });
    } catch (err) {
      const name = (err as Error).name;
      report(client.name, { ok: false, error: name === 'TimeoutError' ? 'timeout' : 'unreachable' });
    }
  }

  function probeAll(): Promise<void> {
    probing ??= Promise.all(clients.map(probe)).then(() => {
      probedAt = Date.now();
      probing = undefined;
    });
    return probing;
  }

  return {
    report,
    async snapshot() {
      if (probedAt === 0) await probeAll();
      else if (Date.now() - probedAt > maxAgeMs) void probeAll();
      return Object.fromEntries(
        clients.map((c) => [c.name, state.get(c.name) ?? { ok: false, error: 'unknown', at: '' }]),
      );
    },
  };
}
