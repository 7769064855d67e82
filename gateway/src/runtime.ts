import v8 from 'node:v8';

/**
 * The environment the gateway process is started with wherever it ships (docker-compose.yml and
 * deploy/k8s set these variables; `pnpm --filter @carwash/gateway start:prod`, `pnpm start:prod` and the
 * benchmark's `ours` start it with the same); gateway/test/runtime.test.ts keeps those places in step.
 * Both are read when the process starts, so they cannot be set from inside it.
 * Measured in test/bench/results/tuning-gateway.md ("Memory").
 */
export const GATEWAY_RUNTIME_ENV = {
  /**
   * V8 lets the old generation grow to a multiple of what survived the last full collection: 4× when the
   * heap limit is Node's default on a big machine (2 GiB and more), 1.3× at a 256 MiB limit. The
   * gateway's live heap under load is 50–70 MiB; with the default the heap grew to ~300 MiB of mostly
   * garbage before a full collection (peak RSS 431 MiB). The limit stays well above what the operation
   * gate (GATEWAY_MAX_OPERATIONS) lets live at once and below the pod's memory limit (384 MiB).
   * The young generation's semi-spaces may grow to 32 MiB (V8's default: 16): an operation's objects
   * (subgraph answers, the shaped result) then die young instead of being promoted and collected by
   * full collections, −17 % of the gateway's CPU per dashboard request for +48 MiB of heap limit.
   */
  NODE_OPTIONS: '--max-old-space-size=256 --max-semi-space-size=32',
  /**
   * glibc serves allocations from 128 KiB up with mmap, returned to the system when freed — unless it
   * raises that threshold itself after the first such free (up to 32 MiB), after which large response
   * bodies and documents come from the heap arenas, which keep them: +253 MiB of RSS after 400 distinct
   * 200 KB documents, +66 MiB with the threshold fixed (gateway/test/edge-hostile.e2e.test.ts).
   */
  MALLOC_MMAP_THRESHOLD_: '131072',
} as const;

/** The Node options alone (for `node` arguments). */
export const GATEWAY_NODE_OPTIONS = GATEWAY_RUNTIME_ENV.NODE_OPTIONS;

/** The old-space limit `GATEWAY_NODE_OPTIONS` sets, in MiB. */
const INTENDED_OLD_SPACE_MIB = Number(/--max-old-space-size=(\d+)/.exec(GATEWAY_NODE_OPTIONS)![1]);

/**
 * A warning when this process runs with a heap limit far above the intended one (started without
 * `GATEWAY_NODE_OPTIONS`): it then works, but its heap grows to several times its live set.
 */
export function heapLimitWarning(): string | undefined {
  const limitMiB = v8.getHeapStatistics().heap_size_limit / 2 ** 20;
  // The heap limit is the old-space limit plus the young generation (a few tens of MiB).
  if (limitMiB <= 2 * INTENDED_OLD_SPACE_MIB) return undefined;
  return `V8 heap limit is ${Math.round(limitMiB)} MiB: start the gateway with NODE_OPTIONS="${GATEWAY_NODE_OPTIONS}" (README "Gateway memory"), or its heap grows to several times its live set under load`;
}
