import { AppError } from '@carwash/errors';
import type { Redis } from 'ioredis';
import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';

export interface ThrottleLimits {
  maxPerEmail: number;
  maxPerClient: number;
  windowSeconds: number;
}

/**
 * Fixed-window counters for recovery mails, one per email and one per client network, kept in Redis
 * (or in memory for the single-process mode) by rate-limiter-flexible. Both count every request,
 * whether or not the email has an account, so the throttle itself reveals nothing.
 */
export class RecoveryThrottle {
  private readonly perEmail: RateLimiterAbstract;
  private readonly perClient: RateLimiterAbstract;

  constructor(limits: ThrottleLimits, store: { redis: Redis; keyPrefix: string } | 'memory') {
    const base = { duration: limits.windowSeconds };
    if (store === 'memory') {
      this.perEmail = new RateLimiterMemory({ ...base, points: limits.maxPerEmail });
      this.perClient = new RateLimiterMemory({ ...base, points: limits.maxPerClient });
    } else {
      this.perEmail = new RateLimiterRedis({
        ...base,
        points: limits.maxPerEmail,
        storeClient: store.redis,
        keyPrefix: `${store.keyPrefix}:email`,
      });
      this.perClient = new RateLimiterRedis({
        ...base,
        points: limits.maxPerClient,
        storeClient: store.redis,
        keyPrefix: `${store.keyPrefix}:client`,
      });
    }
  }

  /**
   * Counts one request of `purpose` for this email and client; throws AUTH_RECOVERY_THROTTLED with
   * `retryAfterSeconds` past either limit. A store failure is not a pass: it surfaces as an error.
   */
  async consume(purpose: string, emailNormalized: string, clientKey: string): Promise<void> {
    const results = await Promise.allSettled([
      this.perClient.consume(`${purpose}:${clientKey}`),
      this.perEmail.consume(`${purpose}:${emailNormalized}`),
    ]);
    let waitMs = 0;
    for (const r of results) {
      if (r.status === 'fulfilled') continue;
      if (!(r.reason instanceof RateLimiterRes)) throw r.reason;
      waitMs = Math.max(waitMs, r.reason.msBeforeNext);
    }
    if (waitMs > 0)
      throw new AppError('AUTH_RECOVERY_THROTTLED', {
        extensions: { retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) },
      });
  }
}
