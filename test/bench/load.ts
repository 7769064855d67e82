/**
 * Load generation for `pnpm bench` sections: autocannon runs in a child process (load-child.ts), so
 * it takes no CPU from the event loop of an in-process server under test, and its results come back
 * summarised to what the report shows.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type autocannon from 'autocannon';

export interface LoadResult {
  /** Requests per second over the run (autocannon's mean of its per-second samples). */
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  /** Connection errors, timeouts, non-2xx answers and (with `expectBody`) bodies that differed. */
  errors: number;
  /** The errors by kind, e.g. "non-2xx 3, other body 1" (empty when there were none). */
  errorKinds: string;
}

/** autocannon's options, and `bearerTokens`: connection i sends as `tokens[i mod n]` (load-child.ts). */
export type LoadOptions = autocannon.Options & { bearerTokens?: string[] };

/** A long-lived autocannon child; `run` queues one load at a time; `stop` ends the child. */
export interface LoadGenerator {
  run(options: LoadOptions): Promise<LoadResult>;
  stop(): void;
}

/** Starts the child that runs autocannon (through tsx, as the benchmarks run). */
export function startLoadGenerator(): LoadGenerator {
  const child: ChildProcess = fork(new URL('./load-child.ts', import.meta.url), {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let queue: Promise<unknown> = Promise.resolve();
  const once = (options: LoadOptions) =>
    new Promise<LoadResult>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`the load generator exited (${code})`));
      child.once('exit', onExit);
      child.once('message', (msg: { ok: boolean; result?: autocannon.Result; error?: string }) => {
        child.off('exit', onExit);
        if (!msg.ok || !msg.result) return reject(new Error(`autocannon failed: ${msg.error}`));
        const r = msg.result;
        resolve({
          rps: r.requests.mean,
          p50: r.latency.p50,
          p99: r.latency.p99,
          requests: r.requests.total,
          // autocannon counts a timeout among its errors too.
          errors: r.errors + r.non2xx + r.mismatches,
          errorKinds: Object.entries({
            'connection errors': r.errors - r.timeouts,
            timeouts: r.timeouts,
            'non-2xx': r.non2xx,
            'other body': r.mismatches,
          })
            .filter(([, n]) => n > 0)
            .map(([kind, n]) => `${kind} ${n}`)
            .join(', '),
        });
      });
      child.send(options);
    });
  return {
    run(options) {
      const next = queue.then(() => once(options));
      queue = next.catch(() => undefined);
      return next;
    },
    stop: () => void child.kill(),
  };
}
