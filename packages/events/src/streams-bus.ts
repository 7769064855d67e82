import type { Fields, StreamBackend, StreamEntry } from './backend.js';
import {
  backoffMs,
  DEFAULT_CONCURRENCY,
  deadLetterKey,
  DEFAULT_NAMESPACE,
  defaultConsumerName,
  streamKey,
  type ConsumeOptions,
  type Consumer,
  type DeadLetter,
  type EventBus,
  type GroupLag,
  type WatchOptions,
} from './bus.js';
import { runByKey } from './lanes.js';
import { isTopic, producerOf, TOPICS, type EventEnvelope, type Topic } from './topics.js';

const EVENT_FIELDS = ['id', 'type', 'version', 'aggregateId', 'occurredAt', 'producer', 'payload'] as const;

export function encode(event: EventEnvelope): Fields {
  return {
    id: event.id,
    type: event.type,
    version: String(event.version),
    aggregateId: event.aggregateId,
    occurredAt: event.occurredAt,
    producer: event.producer,
    payload: JSON.stringify(event.payload),
  };
}

/** Decodes a stream entry; throws on anything malformed (such an entry is dead-lettered at once). */
export function decode(fields: Fields): EventEnvelope {
  for (const k of EVENT_FIELDS)
    if (typeof fields[k] !== 'string') throw new Error(`malformed event: missing ${k}`);
  if (!isTopic(fields.type!)) throw new Error(`unknown topic ${fields.type}`);
  return {
    id: fields.id!,
    type: fields.type,
    version: Number(fields.version),
    aggregateId: fields.aggregateId!,
    occurredAt: fields.occurredAt!,
    producer: fields.producer!,
    payload: JSON.parse(fields.payload!),
  } as EventEnvelope;
}

function eventFields(fields: Fields): Fields {
  const out: Fields = {};
  for (const k of EVENT_FIELDS) if (fields[k] !== undefined) out[k] = fields[k];
  return out;
}

/**
 * What serialises entries in a batch: the aggregate (the order the bus promises). An entry without one
 * (malformed, to be dead-lettered) is keyed by its own id.
 */
const laneKey = (entry: StreamEntry): string =>
  entry.fields.aggregateId === undefined ? `id:${entry.id}` : `aggregate:${entry.fields.aggregateId}`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Default takeover idle time, in retry bases (see `ConsumeOptions.takeoverAfterMs`). */
export const TAKEOVER_AFTER_RETRY_BASES = 30;

/**
 * The event bus on a stream backend: one stream per producing feature (so events of one aggregate
 * stay in order), one consumer group per consuming feature, acknowledgement only after the handler
 * (and so its transaction) succeeded, exponential back-off for retries, dead letters after
 * `maxDeliveries`.
 *
 * Retries are driven by XPENDING + XCLAIM rather than XAUTOCLAIM: XAUTOCLAIM neither reports delivery
 * counts nor lets each entry wait its own back-off, and claiming resets the idle time it would be judged by.
 */
export class StreamsEventBus implements EventBus {
  constructor(
    private readonly backend: StreamBackend,
    private readonly namespace = DEFAULT_NAMESPACE,
  ) {}

  private streamOf(producer: string): string {
    return streamKey(this.namespace, producer);
  }

  async publish(events: readonly EventEnvelope[]): Promise<void> {
    // Group consecutive events by stream, keeping the overall order inside each stream.
    const byStream = new Map<string, Fields[]>();
    for (const e of events) {
      const stream = this.streamOf(e.producer);
      let list = byStream.get(stream);
      if (!list) byStream.set(stream, (list = []));
      list.push(encode(e));
    }
    for (const [stream, entries] of byStream) await this.backend.append(stream, entries);
  }

  async consume(options: ConsumeOptions): Promise<Consumer> {
    const { group, handlers } = options;
    const batchHandlers = options.batchHandlers ?? {};
    for (const topic of Object.keys(batchHandlers))
      if (!isTopic(topic) || !handlers[topic])
        throw new Error(`batch handler for ${topic} needs a handler of its own (the fallback)`);
    const consumer = options.consumer ?? defaultConsumerName(group);
    const batchSize = options.batchSize ?? 100;
    const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new Error(`concurrency must be a positive integer, not ${concurrency}`);
    const blockMs = options.blockMs ?? 1000;
    const base = options.retryBaseMs ?? 1000;
    const max = options.retryMaxMs ?? 60_000;
    const maxDeliveries = options.maxDeliveries ?? 5;
    const takeoverMs = options.takeoverAfterMs ?? TAKEOVER_AFTER_RETRY_BASES * base;
    const topics = Object.keys(handlers).filter(isTopic);
    if (topics.length === 0) throw new Error('consume() needs at least one handler');
    const streams = [...new Set(topics.map((t) => this.streamOf(producerOf(t))))];
    const dlq = deadLetterKey(this.namespace, group);
    const backend = this.backend;
    for (const s of streams) await backend.ensureGroup(s, group);

    /**
     * Handles one entry; entries to acknowledge are collected and acknowledged together once per batch
     * (one XACK round trip instead of one per event). A crash before that XACK only means redelivery,
     * which the inbox absorbs.
     */
    const acks = new Map<string, string[]>();
    const toAck = (entry: StreamEntry) => {
      const list = acks.get(entry.stream);
      if (list) list.push(entry.id);
      else acks.set(entry.stream, [entry.id]);
    };
    const flushAcks = async () => {
      for (const [stream, ids] of acks) {
        acks.delete(stream);
        await backend.ack(stream, group, ids);
      }
    };

    const handle = async (entry: StreamEntry, deliveries: number): Promise<void> => {
      let event: EventEnvelope;
      try {
        event = decode(entry.fields);
      } catch (err) {
        await backend.deadLetter(entry.stream, group, entry.id, dlq, deadFields(entry, err, deliveries));
        return;
      }
      const only = entry.fields.onlyGroup;
      const handler = handlers[event.type] as
        ((e: EventEnvelope, i: { deliveries: number }) => Promise<void>) | undefined;
      if ((only && only !== group) || !handler) {
        toAck(entry);
        return;
      }
      try {
        await handler(event, { deliveries });
      } catch (err) {
        options.onError?.(err, event, { deliveries });
        // Left pending: retried after its back-off, by this or another instance.
        if (deliveries >= maxDeliveries)
          await backend.deadLetter(entry.stream, group, entry.id, dlq, deadFields(entry, err, deliveries));
        return;
      }
      toAck(entry);
    };

    /** The topic of an entry that goes to a batch handler, if it does. */
    const batchTopic = (entry: StreamEntry): Topic | undefined => {
      const type = entry.fields.type;
      return type && !entry.fields.onlyGroup && isTopic(type) && batchHandlers[type] ? type : undefined;
    };
    /** One transaction for a run of one topic; false (nothing applied) when the batch handler threw. */
    const applyRun = async (topic: Topic, run: StreamEntry[]): Promise<boolean> => {
      let events: EventEnvelope[];
      try {
        events = run.map((entry) => decode(entry.fields));
      } catch {
        return false; // the one-by-one path dead-letters the malformed entry
      }
      try {
        await (batchHandlers[topic] as (events: readonly EventEnvelope[]) => Promise<void>)(events);
      } catch (err) {
        options.onBatchError?.(err, events);
        return false;
      }
      for (const entry of run) toAck(entry);
      return true;
    };
    /**
     * A read batch in stream order: runs of consecutive events of a batch-handled topic go to its batch
     * handler (falling back to one by one), everything else to the per-event handlers in lanes by
     * aggregate. Runs are handled one after another, so an aggregate's order holds across them.
     */
    const handleBatch = async (batch: StreamEntry[]): Promise<void> => {
      for (let i = 0; i < batch.length;) {
        const topic = batchTopic(batch[i]!);
        let j = i + 1;
        while (j < batch.length && batchTopic(batch[j]!) === topic) j++;
        const run = batch.slice(i, j);
        if (!topic || run.length === 1 || !(await applyRun(topic, run)))
          await runByKey(run, laneKey, concurrency, (entry) => handle(entry, 1));
        i = j;
      }
    };

    const retryDue = async (): Promise<void> => {
      for (const stream of streams) {
        for (const p of await backend.pending(stream, group, base, batchSize)) {
          if (p.deliveries >= maxDeliveries) {
            // Its last consumer died while handling it for the last allowed time.
            const fields = (await backend.entry(stream, p.id)) ?? {};
            await backend.deadLetter(
              stream,
              group,
              p.id,
              dlq,
              deadFields({ stream, id: p.id, fields }, new Error('delivery limit reached'), p.deliveries),
            );
            continue;
          }
          const backoff = backoffMs(p.deliveries, base, max);
          // Ours: retry after the back-off. Another instance's: only once it looks dead (or stuck).
          const wait = p.consumer === consumer ? backoff : Math.max(backoff, takeoverMs);
          if (p.idleMs < wait) continue;
          const claimed = await backend.claim(stream, group, consumer, wait, p.id);
          if (claimed && running) await handle(claimed, p.deliveries + 1);
        }
      }
      await flushAcks();
    };

    let running = true;
    const loop = (async () => {
      let failures = 0;
      let lastRetry = 0;
      while (running) {
        try {
          if (Date.now() - lastRetry >= Math.min(base, 1000)) {
            lastRetry = Date.now();
            await retryDue();
          }
          const batch = await backend.readNew(group, consumer, {
            streams,
            count: batchSize,
            blockMs: Math.min(blockMs, base),
          });
          // The whole batch is ours now: finish it even when stopping, so nothing waits for a reclaim.
          await handleBatch(batch);
          await flushAcks();
          failures = 0;
        } catch {
          // Redis unreachable, or the group vanished with a Redis restart: recreate, back off, go on.
          // Unsent acknowledgements are dropped: those events come back and the inbox absorbs them.
          acks.clear();
          failures += 1;
          await sleep(Math.min(5000, 50 * 2 ** failures));
          if (!running) break;
          for (const s of streams) await backend.ensureGroup(s, group).catch(() => {});
        }
      }
    })();

    return {
      stop: async () => {
        running = false;
        await loop;
      },
    };
  }

  async watch(options: WatchOptions): Promise<Consumer> {
    const { handlers } = options;
    const blockMs = options.blockMs ?? 1000;
    const topics = Object.keys(handlers).filter(isTopic);
    if (topics.length === 0) throw new Error('watch() needs at least one handler');
    const streams = [...new Set(topics.map((t) => this.streamOf(producerOf(t))))];
    const backend = this.backend;
    const reader = `watch-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    // From the newest entry now on: what was published before the watch is not this watcher's. When
    // the backend cannot be reached now, the loop asks again (and misses what was published meanwhile).
    const starts = () => Promise.all(streams.map((s) => backend.lastId(s)));
    let after: string[] | null = await starts().catch((err: unknown) => {
      options.onError?.(err);
      return null;
    });
    let running = true;
    const loop = (async () => {
      let failures = 0;
      while (running) {
        try {
          after ??= await starts();
          const batch = await backend.readAfter(reader, after, { streams, count: 100, blockMs });
          for (const entry of batch) {
            after[streams.indexOf(entry.stream)] = entry.id;
            let event: EventEnvelope;
            try {
              event = decode(entry.fields);
            } catch (err) {
              options.onError?.(err);
              continue;
            }
            const handler = handlers[event.type] as
              ((e: EventEnvelope, i: { deliveries: number }) => Promise<void>) | undefined;
            try {
              await handler?.(event, { deliveries: 1 });
            } catch (err) {
              options.onError?.(err);
            }
          }
          failures = 0;
        } catch (err) {
          // Redis unreachable: back off and read on from the last entry seen.
          options.onError?.(err);
          failures += 1;
          await sleep(Math.min(5000, 50 * 2 ** failures));
        }
      }
    })();
    return {
      stop: async () => {
        running = false;
        await loop;
      },
    };
  }

  async lag(group: string): Promise<GroupLag[]> {
    const out: GroupLag[] = [];
    for (const stream of [...new Set(TOPICS.map((t) => this.streamOf(producerOf(t))))]) {
      const info = await this.backend.groupInfo(stream, group);
      if (!info) continue;
      const oldest = info.oldestPendingId ? Number(info.oldestPendingId.split('-')[0]) : null;
      out.push({
        stream,
        group,
        pending: info.pending,
        oldestPendingAgeMs: oldest === null ? 0 : Math.max(0, Date.now() - oldest),
        undelivered: info.undelivered,
      });
    }
    return out;
  }

  async deadLetters(group: string, limit = 100): Promise<DeadLetter[]> {
    const rows = await this.backend.range(deadLetterKey(this.namespace, group), limit);
    return rows.map(({ id, fields }) => {
      let event: EventEnvelope;
      try {
        event = decode(fields);
      } catch {
        event = {
          ...(eventFields(fields) as unknown as EventEnvelope),
          payload: safeJson(fields.payload) as never,
        };
      }
      return {
        id,
        group,
        event,
        sourceStream: fields.sourceStream ?? '',
        error: fields.error ?? '',
        deliveries: Number(fields.deliveries ?? 0),
        deadAt: fields.deadAt ?? '',
      };
    });
  }

  async replayDeadLetter(group: string, id: string): Promise<void> {
    const dlq = deadLetterKey(this.namespace, group);
    const fields = await this.backend.entry(dlq, id);
    if (!fields?.sourceStream) throw new Error(`no dead letter ${id} for group ${group}`);
    // Back on its stream, for this group only: other groups already handled it.
    await this.backend.move(dlq, id, fields.sourceStream, { ...eventFields(fields), onlyGroup: group });
  }

  ping(): Promise<void> {
    return this.backend.ping();
  }

  generation(): Promise<string> {
    return this.backend.generation();
  }

  close(): Promise<void> {
    return this.backend.close();
  }
}

function deadFields(entry: StreamEntry, err: unknown, deliveries: number): Fields {
  return {
    ...entry.fields,
    sourceStream: entry.stream,
    sourceId: entry.id,
    error: String(err instanceof Error ? err.message : err).slice(0, 500),
    deliveries: String(deliveries),
    deadAt: new Date().toISOString(),
  };
}

function safeJson(text: string | undefined): unknown {
  try {
    return text === undefined ? null : JSON.parse(text);
  } catch {
    return text;
  }
}

export type { Topic };
