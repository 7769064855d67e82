/**
 * Turns per key within this process: `run(key, fn)` starts `fn` once every earlier `fn` of the same key
 * has settled. createBooking takes its site's turn BEFORE it opens a transaction, so a rush on one site
 * waits here, in memory, instead of in PostgreSQL on the site's advisory lock with a pooled connection
 * held — which starved the pool (Prisma's "Unable to start a transaction in the given time") and kept
 * PostgreSQL busy with lock waiters. The advisory lock stays the guarantee across processes; this only
 * orders one process's own requests, and is always taken before any database lock.
 */
export class Turns {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const mine = previous.then(fn, fn);
    // The chain goes on whether `fn` fails or not; the last one out removes the key.
    const tail = mine.catch(() => {});
    this.tails.set(key, tail);
    try {
      return await mine;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Keys with a turn taken or queued (tests read it). */
  get size(): number {
    return this.tails.size;
  }
}
