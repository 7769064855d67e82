import { copyJson } from './json-copy.js';

/**
 * One entity fetch's representations sent once each: Apollo Gateway builds one representation per
 * position in the result (100 bookings → 100 `{ __typename: "User", id }` for 4 washers), and the
 * subgraph resolves, serialises and the gateway parses every copy. Here the fetch carries the distinct
 * ones, and the answer is spread back over the positions before Apollo Gateway sees it: each position
 * gets an entity of its own (the first its subgraph's object, the others copies) and each error at
 * `_entities.<i>` is repeated at every position of that representation, so the gateway merges exactly
 * what it would have merged from the subgraph's answer to the full list.
 *
 * A representation is only ever answered by what it holds (`__resolveReference` sees nothing else), so
 * two equal representations in one fetch have equal answers: nothing that could differ is shared.
 */
export interface DistinctRepresentations {
  /** The fetch's variables with `representations` narrowed to the distinct ones. */
  variables: Record<string, unknown>;
  /** For each representation Apollo Gateway sent, the index of its distinct one. */
  positions: number[];
  /** How many distinct representations were sent. */
  distinct: number;
}

/** The distinct representations of a fetch's variables, or `undefined` when there is nothing to save. */
export function distinctRepresentations(
  variables: Record<string, unknown> | undefined,
): DistinctRepresentations | undefined {
  const representations = variables?.representations;
  if (!Array.isArray(representations) || representations.length < 2) return undefined;
  const seen: Trie = new Map();
  const distinct: unknown[] = [];
  const positions = new Array<number>(representations.length);
  for (let i = 0; i < representations.length; i++) {
    const leaf = leafOf(seen, representations[i]);
    let index = leaf.get(DISTINCT_INDEX) as number | undefined;
    if (index === undefined) {
      index = distinct.length;
      leaf.set(DISTINCT_INDEX, index);
      distinct.push(representations[i]);
    }
    positions[i] = index;
  }
  if (distinct.length === representations.length) return undefined;
  return { variables: { ...variables, representations: distinct }, positions, distinct: distinct.length };
}

/** Per field of a representation, in order: its name, then its value (see `leafOf`). */
type Trie = Map<unknown, unknown>;
const DISTINCT_INDEX = Symbol('distinct index');
/** Where a non-object representation (never sent by Apollo Gateway) is keyed by its JSON. */
const WHOLE = Symbol('whole representation');

/**
 * The trie node of one representation: one level for each field name and one for its value, in the
 * representation's order. Apollo Gateway writes every representation of a fetch with the same
 * selection, so equal ones reach the same node (a difference in key order would only cost a
 * duplicate, never a wrong answer). Values are Map keys as they are (`1` and `"1"` stay apart); an
 * object value goes by its JSON under a level of its own (a name prefixed with NUL, which no GraphQL
 * name contains), so it never meets a string. Walking Maps with the values the gateway already holds
 * costs a fifth of building one key string per representation (`JSON.stringify` of each was 4 % of
 * the gateway's CPU on the dashboard).
 */
function leafOf(trie: Trie, representation: unknown): Trie {
  if (representation === null || typeof representation !== 'object' || Array.isArray(representation))
    return child(child(trie, WHOLE), JSON.stringify(representation));
  let node = trie;
  for (const name in representation) {
    const value = (representation as Record<string, unknown>)[name];
    node =
      value !== null && typeof value === 'object'
        ? child(child(node, `\u0000${name}`), JSON.stringify(value))
        : child(child(node, name), value);
  }
  return node;
}

function child(node: Trie, key: unknown): Trie {
  let next = node.get(key) as Trie | undefined;
  if (next === undefined) {
    next = new Map();
    node.set(key, next);
  }
  return next;
}

interface GraphQLErrorLike {
  path?: unknown;
}

/**
 * The subgraph's answer to the distinct representations, as the answer to all of them: `_entities`
 * and the errors at `_entities.<i>` spread back over every position. An answer of another shape is
 * left as it is (Apollo Gateway then reports it as it would have).
 */
export function spreadEntities(body: Record<string, unknown>, sent: DistinctRepresentations): void {
  const data = body.data as Record<string, unknown> | null | undefined;
  const entities = data?._entities;
  if (Array.isArray(entities) && entities.length === sent.distinct) {
    const used = new Uint8Array(sent.distinct);
    data!._entities = sent.positions.map((i) => {
      if (used[i]) return copyJson(entities[i]);
      used[i] = 1;
      return entities[i];
    });
  }
  if (!Array.isArray(body.errors)) return;
  let atPositions: Map<number, number[]> | undefined;
  const errors: Array<{ error: unknown; position: number }> = [];
  for (const error of body.errors as unknown[]) {
    const path = (error as GraphQLErrorLike | null)?.path;
    if (!Array.isArray(path) || path[0] !== '_entities' || typeof path[1] !== 'number') {
      errors.push({ error, position: -1 });
      continue;
    }
    atPositions ??= positionsOf(sent);
    for (const position of atPositions.get(path[1]) ?? [])
      errors.push({
        error: { ...(error as object), path: ['_entities', position, ...path.slice(2)] },
        position,
      });
  }
  // In position order, as the subgraph would have reported them for the full list.
  body.errors = errors.sort((a, b) => a.position - b.position).map((e) => e.error);
}

function positionsOf(sent: DistinctRepresentations): Map<number, number[]> {
  const at = new Map<number, number[]>();
  sent.positions.forEach((distinct, position) => {
    const list = at.get(distinct);
    if (list) list.push(position);
    else at.set(distinct, [position]);
  });
  return at;
}
