import type { RequestHandler } from 'express';
import { sendEdgeError } from './http-errors.js';
import type { GatewayMetrics } from './metrics.js';

/** How many GraphQL operations one gateway process works on at once, and how many may wait for a slot. */
export interface AdmissionLimits {
  /** Operations executing at once (body read, planned, fetched, shaped, serialized). */
  maxOperations: number;
  /** Requests waiting for a slot, first come first served; past that a request is refused at once. */
  maxQueued: number;
}

/** Seconds a refused client is asked to wait (`Retry-After`): slots free up within an operation's time. */
const BUSY_RETRY_AFTER_SECONDS = 1;

/**
 * A bound on the operations in flight in this process, with a FIFO queue in front of it. Each nested
 * operation holds about a megabyte of parsed subgraph replies and result objects for as long as it runs;
 * with the gateway's CPU the bottleneck, letting every connection in at once does not finish operations
 * sooner, it only makes each one live longer, so more of its objects survive young-generation collections
 * into the old space and the heap grows (test/bench/results/tuning-gateway.md, "Memory"). With a bound,
 * the live set is the bound's, whatever the number of connections.
 *
 * Hand-written rather than p-limit/p-queue: the queue must be bounded (refuse, not grow) and a waiting
 * request must leave the queue when its client goes away; neither library does both.
 */
export class OperationGate {
  #running = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(readonly limits: AdmissionLimits) {}

  /**
   * Takes a slot: resolves with its release when one is free (at once, or in arrival order), or returns
   * `undefined` when the queue is full too. `cancelled` fires when the caller stops waiting.
   */
  enter(onCancel: (cancel: () => void) => void): Promise<() => void> | undefined {
    if (this.#running < this.limits.maxOperations) {
      this.#running++;
      return Promise.resolve(this.#releaser());
    }
    if (this.#waiting.length >= this.limits.maxQueued) return undefined;
    return new Promise((resolve) => {
      const admit = () => resolve(this.#releaser());
      this.#waiting.push(admit);
      onCancel(() => {
        const at = this.#waiting.indexOf(admit);
        if (at >= 0) this.#waiting.splice(at, 1);
      });
    });
  }

  /** Operations holding a slot now. */
  get running(): number {
    return this.#running;
  }

  /** Requests waiting for a slot now. */
  get queued(): number {
    return this.#waiting.length;
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      // The slot passes straight to the next in line: `running` stays the same.
      if (next) next();
      else this.#running--;
    };
  }
}

/**
 * Express middleware in front of GraphQL: waits for a slot of `gate` before the body is read (a queued
 * request costs its socket, not its parsed body), frees it when the response is done or the client has
 * gone; answers `503 GATEWAY_BUSY` with `Retry-After` when the queue is full.
 */
export function admission(gate: OperationGate, metrics: GatewayMetrics): RequestHandler {
  return (req, res, next) => {
    let cancel: (() => void) | undefined;
    let release: (() => void) | undefined;
    let gone = false;
    res.once('close', () => {
      gone = true;
      cancel?.();
      release?.();
    });
    const entered = gate.enter((c) => (cancel = c));
    if (!entered)
      return sendEdgeError(req, res, metrics, 'GATEWAY_BUSY', {
        headers: { 'retry-after': String(BUSY_RETRY_AFTER_SECONDS) },
      });
    void entered.then((r) => {
      release = r;
      // The client left while it waited (the queue entry is gone, but a slot may have been handed over).
      if (gone) return r();
      next();
    });
  };
}
