import type { Redis } from 'ioredis';

/** Options of `whenReady`. */
export interface WhenReadyOptions {
  /**
   * Resolve at once while the client is `reconnecting` (a connection known to be down), instead of
   * waiting for it: for a per-request check that must fail closed without adding a wait to every request.
   */
  skipWhileReconnecting?: boolean;
}

/**
 * Resolves when `redis` is ready, or after `waitMs`, whichever comes first; never rejects. Commands
 * sent right after start then find the connection up instead of failing, and with the offline queue
 * off a command on a connection that stays down fails at once, its caller seeing its own error.
 */
export async function whenReady(redis: Redis, waitMs: number, options: WhenReadyOptions = {}): Promise<void> {
  if (redis.status === 'ready') return;
  if (options.skipWhileReconnecting && redis.status === 'reconnecting') return;
  await new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, waitMs);
    redis.once('ready', done);
  });
}
