import type { SubgraphHealth } from './subgraph-health.js';

/** A dependency of the gateway itself: resolves when it answers. */
export type OwnCheck = () => Promise<void>;

export interface Readiness {
  ok: boolean;
  body: {
    status: 'ready' | 'unready';
    supergraph: { loaded: boolean; path: string; hash: string };
    /** The gateway's own dependencies: these decide `status`. */
    checks: Record<string, { ok: boolean; error?: string }>;
    /** Reported, never decisive: a subgraph down costs its fields, not the gateway's place in the pool. */
    subgraphs: Awaited<ReturnType<SubgraphHealth['snapshot']>>;
    /** Some subgraph is down: responses touching it carry partial data. */
    degraded: boolean;
  };
}

/**
 * `GET /ready`: ready when the gateway itself can serve — its supergraph loaded and its own dependencies
 * (the revocation store, when tokens are verified) answering within `timeoutMs`. Subgraph health is
 * reported beside it: every replica sees the same subgraphs, so failing on them would take every replica
 * out of the load balancer at once, turning partial data into a total outage.
 */
export function gatewayReadiness(options: {
  supergraph: Readiness['body']['supergraph'];
  checks: Record<string, OwnCheck>;
  health: SubgraphHealth;
  timeoutMs: number;
}): () => Promise<Readiness> {
  return async () => {
    const checks: Readiness['body']['checks'] = {};
    const [subgraphs] = await Promise.all([
      options.health.snapshot(),
      ...Object.entries(options.checks).map(async ([name, check]) => {
        try {
          await withTimeout(check(), options.timeoutMs);
          checks[name] = { ok: true };
        } catch (err) {
          checks[name] = { ok: false, error: (err as Error).message.slice(0, 200) };
        }
      }),
    ]);
    const ok = options.supergraph.loaded && Object.values(checks).every((c) => c.ok);
    return {
      ok,
      body: {
        status: ok ? 'ready' : 'unready',
        supergraph: options.supergraph,
        checks,
        subgraphs,
        degraded: Object.values(subgraphs).some((s) => !s.ok),
      },
    };
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
