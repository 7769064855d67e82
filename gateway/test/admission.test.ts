import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { loadGatewayConfig } from '../src/config.js';
import { admission, OperationGate } from '../src/edge/admission.js';
import { createGatewayMetrics } from '../src/edge/metrics.js';

const never = () => {};

describe(OperationGate.name, () => {
  it('admits up to maxOperations at once and the next ones in arrival order', async () => {
    const sut = new OperationGate({ maxOperations: 2, maxQueued: 10 });
    const first = await sut.enter(never)!;
    await sut.enter(never)!;
    const order: number[] = [];
    const third = sut.enter(never)!.then((release) => (order.push(3), release));
    const fourth = sut.enter(never)!.then((release) => (order.push(4), release));
    expect([sut.running, sut.queued]).toEqual([2, 2]);

    first();
    (await third)();
    await fourth;
    expect(order).toEqual([3, 4]);
    expect([sut.running, sut.queued]).toEqual([2, 0]);
  });

  it('refuses at once when every slot and every queue place is taken', async () => {
    const sut = new OperationGate({ maxOperations: 1, maxQueued: 1 });
    await sut.enter(never);
    expect(sut.enter(never)).toBeDefined();
    expect(sut.enter(never)).toBeUndefined();
  });

  it('frees a slot once however often its release is called', async () => {
    const sut = new OperationGate({ maxOperations: 1, maxQueued: 0 });
    const release = await sut.enter(never)!;
    release();
    release();
    expect(sut.running).toBe(0);
    await sut.enter(never);
    expect(sut.enter(never)).toBeUndefined();
  });

  it('drops a waiter that stopped waiting, so it takes no slot', async () => {
    const sut = new OperationGate({ maxOperations: 1, maxQueued: 5 });
    const release = await sut.enter(never)!;
    let cancel = () => {};
    void sut.enter((c) => (cancel = c));
    const next = sut.enter(never)!;
    cancel();
    expect(sut.queued).toBe(1);
    release();
    await next;
    expect([sut.running, sut.queued]).toEqual([1, 0]);
  });
});

describe(admission.name, () => {
  /** An app whose one route answers when the test says so, behind the gate. */
  async function serve(gate: OperationGate) {
    const app = express();
    const pending: Array<() => void> = [];
    let started = 0;
    app.post('/graphql', admission(gate, createGatewayMetrics()), (_req, res) => {
      started++;
      pending.push(() => res.json({ data: { ok: true } }));
    });
    const server = http.createServer(app).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
    return {
      post: (signal?: AbortSignal) =>
        fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', signal }),
      started: () => started,
      answerOne: () => pending.shift()?.(),
      close: () => {
        server.closeAllConnections();
        return new Promise((r) => server.close(r));
      },
    };
  }

  const until = async (check: () => boolean) => {
    for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
    expect(check()).toBe(true);
  };

  /**
   * A gate of `options` in front of `serve`, with one request already in flight (started, not yet
   * answered) when `body` runs; the server is closed afterwards, whatever `body` did.
   */
  async function withOneInFlight(
    options: ConstructorParameters<typeof OperationGate>[0],
    body: (
      gate: OperationGate,
      sut: Awaited<ReturnType<typeof serve>>,
      first: Promise<Response>,
    ) => Promise<void>,
  ): Promise<void> {
    const gate = new OperationGate(options);
    const sut = await serve(gate);
    try {
      const first = sut.post();
      await until(() => sut.started() === 1);
      await body(gate, sut, first);
    } finally {
      await sut.close();
    }
  }

  it('holds a request past the bound until one in flight has answered', async () => {
    await withOneInFlight({ maxOperations: 1, maxQueued: 1 }, async (gate, sut, first) => {
      const second = sut.post();
      await until(() => gate.queued === 1);
      expect(sut.started()).toBe(1);
      sut.answerOne();
      expect((await first).status).toBe(200);
      await until(() => sut.started() === 2);
      sut.answerOne();
      expect(await (await second).json()).toEqual({ data: { ok: true } });
      await until(() => gate.running === 0);
    });
  });

  it('answers 503 GATEWAY_BUSY in JSON with Retry-After when the queue is full too', async () => {
    await withOneInFlight({ maxOperations: 1, maxQueued: 0 }, async (gate, sut, first) => {
      const refused = await sut.post();
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(refused.headers.get('content-type')).toMatch(/json/);
      const body = (await refused.json()) as { errors: Array<{ extensions: { code: string } }> };
      expect(body.errors[0]!.extensions.code).toBe('GATEWAY_BUSY');
      sut.answerOne();
      await first;
    });
  });

  it('forgets a queued request whose client went away, and never runs it', async () => {
    await withOneInFlight({ maxOperations: 1, maxQueued: 5 }, async (gate, sut, first) => {
      const abort = new AbortController();
      const leaving = sut.post(abort.signal).catch((error: unknown) => error);
      await until(() => gate.queued === 1);
      abort.abort();
      await leaving;
      await until(() => gate.queued === 0);
      sut.answerOne();
      await first;
      await until(() => gate.running === 0);
      expect(sut.started()).toBe(1);
    });
  });
});

describe('operation gate settings', () => {
  const load = (env: Record<string, string> = {}) =>
    loadGatewayConfig({ SERVICE_CREDENTIALS: 'development', ...env });

  it('defaults to 32 operations at once and 1024 waiting', () => {
    expect(load()).toMatchObject({ GATEWAY_MAX_OPERATIONS: 32, GATEWAY_MAX_QUEUED: 1024 });
  });

  it('refuses a gate that admits nothing, naming the setting', () => {
    expect(() => load({ GATEWAY_MAX_OPERATIONS: '0' })).toThrow(/GATEWAY_MAX_OPERATIONS/);
  });
});
