/**
 * Runs `work` over `items` with at most `concurrency` calls in flight, keeping the items that share a
 * key strictly one after another in their original order (items of different keys overlap). The
 * consumer uses it with the aggregate id as key: per-aggregate order is what the bus promises, and
 * events of different aggregates have no order between them already (relay instances publish their
 * partitions side by side; a retried event comes after those behind it).
 *
 * Keys are taken in order of first appearance, a lane keeps a key until its items are done, so a key
 * never runs in two lanes. `work` must not throw (the consumer's handler catches everything itself);
 * if it does, the first error is rethrown once every lane has stopped.
 */
export async function runByKey<T>(
  items: readonly T[],
  key: (item: T) => string,
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  if (items.length === 0) return;
  if (!(concurrency > 1) || items.length === 1) {
    for (const item of items) await work(item);
    return;
  }
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list) list.push(item);
    else groups.set(k, [item]);
  }
  const queue = [...groups.values()];
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async (): Promise<void> => {
    while (!failure && next < queue.length) {
      const group = queue[next++]!;
      for (const item of group) {
        try {
          await work(item);
        } catch (error) {
          failure ??= { error };
          return;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, lane));
  if (failure) throw failure.error;
}
