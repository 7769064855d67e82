/**
 * The drill's own Redis: a `redis-server` on a port of its own, without persistence (as the machine's
 * shared Redis runs), that the Redis drill kills and starts again. The shared Redis on 6379 is never
 * touched: other sessions and CI use it.
 */
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import { freePort, killHard, spawnChild, stopGently, until } from './children.js';

/** How long a fresh redis-server may take to answer PING. */
const REDIS_START_TIMEOUT_MS = 10_000;

export interface PrivateRedis {
  url: string;
  port: number;
  /** SIGKILLs the server: everything it held is gone (no persistence). */
  kill(): Promise<void>;
  /** Starts it again, empty, on the same port. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** True when a Redis answers PING on `port`. */
export function pingRedis(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      reply += d.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

export async function startPrivateRedis(logFile: string): Promise<PrivateRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    const started = spawnChild(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
      ],
      { logFile },
    );
    child = started;
    await until(
      () => pingRedis(port),
      REDIS_START_TIMEOUT_MS,
      `redis-server on port ${port}`,
      () => started.exitCode !== null || started.signalCode !== null,
    );
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill: async () => {
      if (child) await killHard(child);
    },
    start,
    stop: async () => {
      if (child) await stopGently(child);
    },
  };
}
