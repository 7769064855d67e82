import type { ApolloServerPlugin } from '@apollo/server';
import { Kind, type GraphQLResolveInfo } from 'graphql';

/** The facts (cache tags, see `cacheTag` in @carwash/events) a cacheable answer was computed from. */
export const CACHE_TAGS_HEADER = 'x-cache-tags';
/** The facts a request's writes changed: a cache in front drops what it keeps under them at once. */
export const CACHE_EVICT_HEADER = 'x-cache-evict';

interface PublicAnswer {
  maxAgeSeconds: number;
  tags: readonly string[];
}

/**
 * What one request tells the response cache in front of it (the gateway's): the root fields whose
 * answers are the same for every caller, with the facts they were computed from, and the facts its
 * writes changed. Nothing is cacheable unless a resolver says so: a subgraph's answer gets
 * `Cache-Control: public` only when every root field of the operation was hinted (`cacheHintsPlugin`).
 */
export class CacheHints {
  readonly #answers = new Map<string, PublicAnswer>();
  readonly #evicted = new Set<string>();

  /**
   * This root field's whole answer is the same for every caller — whoever asks, with whatever rights —
   * for `maxAgeSeconds`, or until an event names one of `tags`. Only for fields their rule allows to
   * anyone: a cache serves the answer without asking this subgraph again.
   */
  publicAnswer(info: GraphQLResolveInfo, maxAgeSeconds: number, tags: readonly string[]): void {
    if (info.path.prev !== undefined) throw new Error(`${info.fieldName}: only a root field can be hinted`);
    const maxAge = Math.floor(maxAgeSeconds);
    if (maxAge > 0 && tags.length > 0)
      this.#answers.set(String(info.path.key), { maxAgeSeconds: maxAge, tags });
  }

  /** This request changed these facts (after its write committed). */
  evict(...tags: string[]): void {
    for (const tag of tags) this.#evicted.add(tag);
  }

  get evicted(): ReadonlySet<string> {
    return this.#evicted;
  }

  answerFor(responseKey: string): PublicAnswer | undefined {
    return this.#answers.get(responseKey);
  }
}

/**
 * Writes a request's `CacheHints` onto its HTTP answer: the evicted tags always (a failed request may
 * have committed a write before it failed), and `Cache-Control: public, max-age=<least>` with the tags
 * only for a query answered without errors whose every root field (plain fields only: a fragment at
 * the root is never hinted) said it is public.
 */
export function cacheHintsPlugin<Ctx extends { cache: CacheHints }>(): ApolloServerPlugin<Ctx> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ contextValue, response, operation }) {
          const hints = contextValue.cache;
          const headers = response.http.headers;
          if (hints.evicted.size > 0) headers.set(CACHE_EVICT_HEADER, [...hints.evicted].join(' '));
          if (operation?.operation !== 'query' || response.body.kind !== 'single') return;
          if (response.body.singleResult.errors?.length) return;
          let maxAge = Infinity;
          const tags = new Set<string>();
          for (const selection of operation.selectionSet.selections) {
            if (selection.kind !== Kind.FIELD) return;
            if (selection.name.value === '__typename') continue;
            const answer = hints.answerFor(selection.alias?.value ?? selection.name.value);
            if (!answer) return;
            maxAge = Math.min(maxAge, answer.maxAgeSeconds);
            for (const tag of answer.tags) tags.add(tag);
          }
          if (tags.size === 0) return;
          headers.set('cache-control', `public, max-age=${maxAge}`);
          headers.set(CACHE_TAGS_HEADER, [...tags].join(' '));
        },
      };
    },
  };
}
