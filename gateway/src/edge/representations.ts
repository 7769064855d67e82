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
  const seen = new Map<string, number>();
  const distinct: unknown[] = [];
  const positions = new Array<number>(representations.length);
  for (let i = 0; i < representations.length; i++) {
    // Apollo Gateway writes every representation of a fetch with the same selection, so equal ones
    // serialise alike (a difference in key order would only cost a duplicate, never a wrong answer).
    const key = JSON.stringify(representations[i]);
    let index = seen.get(key);
    if (index === undefined) {
      index = distinct.length;
      seen.set(key, index);
      distinct.push(representations[i]);
    }
    positions[i] = index;
  }
  if (distinct.length === representations.length) return undefined;
  return { variables: { ...variables, representations: distinct }, positions, distinct: distinct.length };
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

/** A deep copy of a value parsed from JSON (objects, arrays, scalars). */
function copyJson(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(copyJson);
  const copy: Record<string, unknown> = {};
  for (const key in value) {
    const item = copyJson((value as Record<string, unknown>)[key]);
    // JSON.parse makes "__proto__" an own property; an assignment would set the prototype instead.
    if (key === '__proto__')
      Object.defineProperty(copy, key, { value: item, enumerable: true, writable: true, configurable: true });
    else copy[key] = item;
  }
  return copy;
}
