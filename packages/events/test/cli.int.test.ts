import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventBus, deadLetterKey, streamKey, type EventBus } from '../src/index.js';
import { namespace, userDeleted, waitUntil } from './support.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const fast = { blockMs: 50, retryBaseMs: 50, retryMaxMs: 200 };

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `pnpm events …` as an operator runs it: a process of its own, settings from the environment. */
function cli(ns: string, ...args: string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'packages/events/src/cli.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, REDIS_URL, EVENTS_NAMESPACE: ns },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('events CLI', () => {
  const ns = namespace();
  const group = `cli-${ns.slice(5)}`;
  const poison = userDeleted();
  let bus: EventBus;

  beforeAll(async () => {
    bus = createEventBus({ kind: 'redis', url: REDIS_URL, namespace: ns });
    // A dead letter made the real way: a handler that always fails, two deliveries allowed.
    const failing = await bus.consume({
      group,
      ...fast,
      maxDeliveries: 2,
      handlers: {
        'auth.user.deleted': async () => {
          throw new Error('payment provider said no');
        },
      },
    });
    await bus.publish([poison]);
    await waitUntil(async () => (await bus.deadLetters(group)).length === 1, 10_000, 'dead letter');
    await failing.stop();
  });

  afterAll(async () => {
    await bus?.close();
    const redis = new Redis(REDIS_URL);
    await redis.del(streamKey(ns, 'auth'), deadLetterKey(ns, group));
    await redis.quit();
  });

  it('lists dead letters as JSON and as a table', async () => {
    const json = await cli(ns, 'dlq', 'list', group, '--json');
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    const letters = JSON.parse(json.stdout) as Array<{
      id: string;
      topic: string;
      aggregateId: string;
      deliveries: number;
      error: string;
      deadAt: string;
      event: { id: string };
    }>;
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({
      topic: 'auth.user.deleted',
      aggregateId: poison.aggregateId,
      deliveries: 2,
      error: 'payment provider said no',
      event: { id: poison.id },
    });
    expect(letters[0]!.id).toMatch(/^\d+-\d+$/);
    expect(Number.isNaN(Date.parse(letters[0]!.deadAt))).toBe(false);

    const text = await cli(ns, 'dlq', 'list', group);
    expect(text.code).toBe(0);
    const [header, row] = text.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^ID\s+TOPIC\s+AGGREGATE ID\s+DELIVERIES\s+DEAD AT\s+ERROR$/);
    expect(row).toContain(letters[0]!.id);
    expect(row).toContain(poison.aggregateId);
    expect(row).toContain('payment provider said no');
  });

  it('reports lag per stream for the group', async () => {
    const res = await cli(ns, 'lag', group);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(streamKey(ns, 'auth'));
    expect(res.stdout).toMatch(/PENDING\s+OLDEST PENDING\s+UNDELIVERED/);
  });

  it('refuses an unknown dead-letter id with exit 1 and a clear message', async () => {
    const res = await cli(ns, 'dlq', 'replay', group, '1-0');
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`no dead letter 1-0 for group ${group}`);
    expect(res.stdout).toBe('');
  });

  it('answers a usage mistake with exit 2 and the usage', async () => {
    const res = await cli(ns, 'dlq', 'list');
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('dlq list needs a consumer group');
    expect(res.stderr).toContain('usage:');
  });

  it('replays a dead letter to its group, where a fixed consumer handles it', async () => {
    const [dead] = await bus.deadLetters(group);
    const res = await cli(ns, 'dlq', 'replay', group, dead!.id);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(dead!.id);

    const handled: string[] = [];
    const fixed = await bus.consume({
      group,
      ...fast,
      handlers: { 'auth.user.deleted': async (e) => void handled.push(e.id) },
    });
    try {
      await waitUntil(() => handled.includes(poison.id), 10_000, 'replayed event');
    } finally {
      await fixed.stop();
    }
    expect(handled).toEqual([poison.id]);
    expect(await bus.deadLetters(group)).toEqual([]);
  });
});
