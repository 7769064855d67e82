/**
 * autocannon in a process of its own, so the load generator never shares an event loop with a server it
 * measures (in-process supergraphs run in the benchmark's own process). Started with `fork` by
 * `load.ts`; each IPC message is one autocannon run's options, answered with its result.
 */
import autocannon from 'autocannon';

process.on('message', (options: autocannon.Options) => {
  autocannon(options).then(
    (result) => process.send?.({ ok: true, result }),
    (err: unknown) => process.send?.({ ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});
