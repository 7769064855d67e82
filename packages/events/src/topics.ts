import { randomUUID } from 'node:crypto';

/**
 * Every event topic in the product and its payload, defined once. Topics are
 * `<feature>.<entity>.<pastTense>`; payloads carry ids (and the few values a consumer needs to act
 * without calling back), never whole rows.
 */
export interface EventMap {
  /** A user was deleted: personal data is gone, the id stays valid. */
  'auth.user.deleted': { userId: string };
  /** A session family ended (log-out, refresh-token reuse): its access tokens must die now, not at expiry. */
  'auth.session.revoked': { sessionId: string; userId: string; reason: string };
  /** Every access token of the user below `minVersion` must die now (password or role change, deletion). */
  'auth.user.tokensRevoked': { userId: string; minVersion: number; reason: string };
  'booking.reservation.created': {
    reservationId: string;
    customerId: string;
    siteId: string;
    startsAt: string;
    /** When the bay is free again (the wash and its clean-up buffer); absent in events written before it was added. */
    blockedUntil?: string;
    priceCents: number;
    currency: string;
  };
  'booking.reservation.cancelled': {
    reservationId: string;
    customerId: string;
    cancelledBy: string | null;
    reason: string;
    startsAt: string;
  };
  'booking.reservation.statusChanged': {
    reservationId: string;
    from: string;
    to: string;
    changedBy: string | null;
    /**
     * The reservation's site and the span it holds its bay over, so that every booking replica can evict
     * the free slots the change touched; absent in events written before they were added.
     */
    siteId?: string;
    startsAt?: string;
    blockedUntil?: string;
  };
  /** A catalogue entry changed (name, duration, price, active): every booking replica drops its cached copy. */
  'booking.service.changed': { serviceId: string };
  'payment.charge.captured': {
    transactionId: string;
    reservationId: string;
    customerId: string;
    amountCents: number;
    currency: string;
  };
  'payment.refund.processed': {
    refundId: string;
    transactionId: string;
    reservationId: string | null;
    amountCents: number;
    currency: string;
  };
  'location.site.closed': { siteId: string; from: string; to: string | null; reason: string };
  /** What a booking needs of the site changed: its weekly hours, an exception, its bays, its time zone. */
  'location.site.changed': { siteId: string };
  'location.staff.unassigned': { assignmentId: string; siteId: string; userId: string; endedAt: string };
}

export type Topic = keyof EventMap;

/** The current schema version of each topic's payload; bump it when a payload changes shape. */
export const EVENT_VERSIONS: { readonly [T in Topic]: number } = {
  'auth.user.deleted': 1,
  'auth.session.revoked': 1,
  'auth.user.tokensRevoked': 1,
  'booking.reservation.created': 1,
  'booking.reservation.cancelled': 1,
  'booking.reservation.statusChanged': 1,
  'booking.service.changed': 1,
  'payment.charge.captured': 1,
  'payment.refund.processed': 1,
  'location.site.closed': 1,
  'location.site.changed': 1,
  'location.staff.unassigned': 1,
};

export const TOPICS = Object.keys(EVENT_VERSIONS) as Topic[];

/** The feature that publishes a topic: its first segment. Each producer has one stream. */
export type Producer = Topic extends `${infer P}.${string}` ? P : never;

export function producerOf(topic: Topic): Producer {
  return topic.slice(0, topic.indexOf('.')) as Producer;
}

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

export function createEvent<T extends Topic>(
  producer: string,
  type: T,
  aggregateId: string,
  payload: EventMap[T],
  now = new Date(),
): EventEnvelope<T> {
  return {
    id: randomUUID(),
    type,
    version: EVENT_VERSIONS[type],
    aggregateId,
    occurredAt: now.toISOString(),
    producer,
    payload,
  };
}

export function isTopic(value: string): value is Topic {
  return Object.hasOwn(EVENT_VERSIONS, value);
}

/**
 * The names of public facts a response cache keeps answers under. A subgraph tags an answer that is
 * the same for every caller with the facts it was computed from (booking's free slots: the site and
 * the service); an event below names the facts it changes, and every cache that watches the bus drops
 * what carries one of them.
 */
export const cacheTag = {
  site: (id: string) => `site:${id}`,
  service: (id: string) => `service:${id}`,
} as const;

/**
 * Per topic, the tags of the public facts its event changes (topics absent here change none). Free
 * slots change with a site's bookings, hours, bays and closures and with a service's duration.
 */
const CACHE_TAGS: { readonly [T in Topic]?: (payload: EventMap[T]) => string[] } = {
  'booking.reservation.created': (p) => [cacheTag.site(p.siteId)],
  // Events written before siteId was added name no site: the cache's TTL bounds those.
  'booking.reservation.statusChanged': (p) => (p.siteId ? [cacheTag.site(p.siteId)] : []),
  'booking.service.changed': (p) => [cacheTag.service(p.serviceId)],
  'location.site.changed': (p) => [cacheTag.site(p.siteId)],
  'location.site.closed': (p) => [cacheTag.site(p.siteId)],
};

/** The topics whose events change some tagged fact: what a response cache watches. */
export const CACHE_TAG_TOPICS = Object.keys(CACHE_TAGS) as Topic[];

/** The cache tags an event changes (none for a topic that changes no tagged fact). */
export function cacheTagsOf(event: EventEnvelope): string[] {
  const tags = CACHE_TAGS[event.type] as ((payload: EventEnvelope['payload']) => string[]) | undefined;
  return tags ? tags(event.payload) : [];
}
