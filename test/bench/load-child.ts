/**
 * autocannon in a process of its own, so the load generator never shares an event loop with a server it
 * measures (in-process supergraphs run in the benchmark's own process). Started with `fork` by
 * `load.ts`; each IPC message is one autocannon run's options, answered with its result.
 *
 * `bearerTokens` (ours, not autocannon's): connection i sends `authorization: Bearer <tokens[i mod n]>`
 * on every request, so n connections are n different users (a function cannot cross the IPC channel,
 * so the per-connection setup is made here).
 */
import autocannon from 'autocannon';

type Options = autocannon.Options & { bearerTokens?: string[] };

process.on('message', ({ bearerTokens, ...options }: Options) => {
  let connection = 0;
  const perConnection: Partial<autocannon.Options> = bearerTokens?.length
    ? {
        setupClient: (client) => {
          const token = bearerTokens[connection++ % bearerTokens.length]!;
          client.setHeaders({ ...options.headers, authorization: `Bearer ${token}` });
        },
      }
    : {};
  autocannon({ ...options, ...perConnection }).then(
    (result) => process.send?.({ ok: true, result }),
    (err: unknown) => process.send?.({ ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});
