import { randomUUID } from 'node:crypto';

/**
 * Every event topic in the product and its payload, defined once. Topics are
 * `<feature>.<entity>.<pastTense>`; payloads carry ids, never whole rows.
 * The bus that delivers them (outbox relay → Redis Streams → consumer groups) builds on this map.
 */
export interface EventMap {
  'auth.user.deleted': { userId: string };
}

export type Topic = keyof EventMap;

/** The versioned envelope every event travels in. */
export interface EventEnvelope<T extends Topic = Topic> {
  id: string;
  type: T;
  version: number;
  aggregateId: string;
  occurredAt: string;
  producer: string;
  payload: EventMap[T];
}

/** The current schema version of each topic's payload; bump it when a payload changes shape. */
export const EVENT_VERSIONS: { [T in Topic]: number } = {
  'auth.user.deleted': 1,
};

export function createEvent<T extends Topic>(producer: string, type: T, aggregateId: string, payload: EventMap[T], now = new Date()): EventEnvelope<T> {
  return { id: randomUUID(), type, version: EVENT_VERSIONS[type], aggregateId, occurredAt: now.toISOString(), producer, payload };
}
