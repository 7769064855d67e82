import { AsyncLocalStorage } from 'node:async_hooks';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import type { ErrorCode } from '@carwash/errors';
import type { RequestHandler } from 'express';
import { LRUCache } from 'lru-cache';
import {
  GraphQLError,
  Kind,
  Lexer,
  parse,
  Source,
  TokenKind,
  type DocumentNode,
  type GraphQLFormattedError,
  type SelectionSetNode,
  type ValidationRule,
} from 'graphql';
import { firstPartyClientOf, type EdgeClient } from './client.js';
import { sendEdgeError } from './http-errors.js';
import type { GatewayMetrics } from './metrics.js';

/** The edge's limits on one GraphQL document (settings `LIMIT_*`, see README). */
export interface DocumentLimits {
  /** Lexical tokens (comments excluded), checked before anything is parsed. */
  maxTokens: number;
  /** Field depth (graphql-armor; introspection ignored). */
  maxDepth: number;
  maxAliases: number;
  /** Top-level fields of an operation, fragments expanded. */
  maxRootFields: number;
  maxDirectives: number;
  /** graphql-armor's estimate: objects 2, scalars 1, times 1.5 per level. */
  maxCost: number;
  /** Fields of an operation once every fragment spread is expanded: bounds fragment doubling. */
  maxSelections: number;
}

/**
 * Brackets (`{`, `[`, `(`) nested deeper than this are refused before parsing: graphql-js parses and
 * validates recursively, and 2,000 nested inline fragments overflow its stack. It is a stack-safety
 * bound, above any real depth limit; `maxDepth` is the policy.
 */
export const MAX_NESTING = 64;
/**
 * One response key (a field's alias or name) written more often than this in one selection set is
 * refused: graphql-js compares every pair of same-keyed fields (OverlappingFieldsCanBeMerged), so 250
 * copies of `child { id }` cost 0.3 s of validation within the token limit, and copies of copies more;
 * real documents write a key once or twice per set (overlaps through fragments are not counted here).
 */
export const MAX_SAME_FIELD = 10;
/** Fragment spreads into one selection set (their fields are compared pairwise too); colocated UI fragments stay well under. */
export const MAX_SPREADS_PER_SET = 20;
/** `variables` and `extensions` nested deeper than this are refused (JSON bombs; no real input nests so). */
export const MAX_JSON_DEPTH = 32;
/**
 * Characters of document text whose verdict the guard remembers (about 8 MB): clients send the same few
 * documents again and again, and lexing and parsing each one per request cost more than the rest of the
 * guard. A stream of distinct documents only evicts; each is then inspected as before.
 */
export const VERDICT_CACHE_CHARS = 4 * 2 ** 20;

export interface Refusal {
  code: ErrorCode;
  message: string;
}

/**
 * Checks a document in time and memory linear in its length, without recursion, BEFORE graphql-js
 * validates it: validation is recursive (fragment cycles overflow the stack) and, through
 * OverlappingFieldsCanBeMerged, exponential in fragment doubling. Returns why it is refused, or
 * `undefined` (a syntax error is left to Apollo Server, which reports it as GRAPHQL_PARSE_FAILED).
 */
export function inspectDocument(query: string, limits: DocumentLimits): Refusal | undefined {
  let tokens = 0;
  let nesting = 0;
  try {
    const lexer = new Lexer(new Source(query));
    for (let token = lexer.advance(); token.kind !== TokenKind.EOF; token = lexer.advance()) {
      if (++tokens > limits.maxTokens)
        return { code: 'QUERY_TOO_LARGE', message: `The query has more than ${limits.maxTokens} tokens.` };
      const kind = token.kind;
      if (kind === TokenKind.BRACE_L || kind === TokenKind.BRACKET_L || kind === TokenKind.PAREN_L) {
        if (++nesting > MAX_NESTING)
          return { code: 'QUERY_TOO_DEEP', message: `The query nests deeper than ${MAX_NESTING} levels.` };
      } else if (kind === TokenKind.BRACE_R || kind === TokenKind.BRACKET_R || kind === TokenKind.PAREN_R) {
        nesting -= 1;
      }
    }
  } catch {
    return undefined;
  }
  let document: DocumentNode;
  try {
    document = parse(query, { noLocation: true, maxTokens: limits.maxTokens });
  } catch {
    return undefined;
  }
  return inspectFragments(document, limits);
}

interface Counts {
  fields: number;
  rootFields: number;
}
interface LocalCounts extends Counts {
  spreads: Array<{ name: string; root: boolean }>;
  /** What is repeated more than `MAX_SAME_FIELD` times in one selection set (a field, or spreads). */
  repeated?: string;
}

/** Fields of one selection set, not following fragment spreads (they are listed instead). */
function countLocal(selectionSet: SelectionSetNode): LocalCounts {
  const counts: LocalCounts = { fields: 0, rootFields: 0, spreads: [] };
  // `keys` counts response keys of one merged selection set: inline fragments share their parent's.
  type Item = { set: SelectionSetNode; root: boolean; keys: Map<string, number> };
  const stack: Item[] = [{ set: selectionSet, root: true, keys: new Map() }];
  for (let item = stack.pop(); item; item = stack.pop()) {
    for (const selection of item.set.selections) {
      if (selection.kind === Kind.FIELD) {
        counts.fields += 1;
        if (item.root) counts.rootFields += 1;
        const key = (selection.alias ?? selection.name).value;
        const seen = (item.keys.get(key) ?? 0) + 1;
        item.keys.set(key, seen);
        if (seen > MAX_SAME_FIELD)
          counts.repeated = `The field "${key.slice(0, 100)}" is selected more than ${MAX_SAME_FIELD} times`;
        if (selection.selectionSet) stack.push({ set: selection.selectionSet, root: false, keys: new Map() });
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        stack.push({ set: selection.selectionSet, root: item.root, keys: item.keys });
      } else {
        counts.spreads.push({ name: selection.name.value, root: item.root });
        // A key no field can have (names are [_A-Za-z][_0-9A-Za-z]*).
        const spreads = (item.keys.get('...') ?? 0) + 1;
        item.keys.set('...', spreads);
        if (spreads > MAX_SPREADS_PER_SET)
          counts.repeated = `Fragments are spread more than ${MAX_SPREADS_PER_SET} times`;
      }
    }
  }
  return counts;
}

/** Expanded field counts of every operation, fragments resolved in dependency order (iterative DFS). */
function inspectFragments(document: DocumentNode, limits: DocumentLimits): Refusal | undefined {
  const local = new Map<string, LocalCounts>();
  const repeated = (what: string): Refusal => ({
    code: 'QUERY_TOO_LARGE',
    message: `${what} in one selection set.`,
  });
  for (const def of document.definitions)
    if (def.kind === Kind.FRAGMENT_DEFINITION && !local.has(def.name.value)) {
      const counts = countLocal(def.selectionSet);
      if (counts.repeated) return repeated(counts.repeated);
      local.set(def.name.value, counts);
    }

  const total = new Map<string, Counts>();
  const expand = (own: LocalCounts): Counts => {
    // Saturates at Infinity for absurd doubling; comparisons with the limits stay right.
    let { fields, rootFields } = own;
    for (const spread of own.spreads) {
      const t = total.get(spread.name);
      if (!t) continue; // unknown fragment: validation reports it
      fields += t.fields;
      if (spread.root) rootFields += t.rootFields;
    }
    return { fields, rootFields };
  };

  const onPath = new Set<string>();
  for (const start of local.keys()) {
    if (total.has(start)) continue;
    const stack: Array<{ name: string; next: number }> = [{ name: start, next: 0 }];
    onPath.add(start);
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const own = local.get(top.name)!;
      if (top.next < own.spreads.length) {
        const dep = own.spreads[top.next++]!.name;
        if (!local.has(dep) || total.has(dep)) continue;
        if (onPath.has(dep))
          return {
            code: 'GRAPHQL_VALIDATION_FAILED',
            message: `Cannot spread fragment "${dep.slice(0, 100)}" within itself.`,
          };
        onPath.add(dep);
        stack.push({ name: dep, next: 0 });
      } else {
        total.set(top.name, expand(own));
        onPath.delete(top.name);
        stack.pop();
      }
    }
  }

  for (const def of document.definitions) {
    if (def.kind !== Kind.OPERATION_DEFINITION) continue;
    const own = countLocal(def.selectionSet);
    if (own.repeated) return repeated(own.repeated);
    const counts = expand(own);
    if (counts.fields > limits.maxSelections)
      return {
        code: 'QUERY_TOO_LARGE',
        message: `The query selects more than ${limits.maxSelections} fields once its fragments are expanded.`,
      };
    if (counts.rootFields > limits.maxRootFields)
      return {
        code: 'QUERY_TOO_MANY_ROOT_FIELDS',
        message: `An operation may select at most ${limits.maxRootFields} root fields.`,
      };
  }
  return undefined;
}

/** True when a JSON value nests deeper than `max` (iterative: the value may be hostile). */
export function jsonDeeperThan(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const [v, depth] = item;
    if (v === null || typeof v !== 'object') continue;
    if (depth >= max) return true;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

const LIMIT_CODES = new Set<string>([
  'QUERY_TOO_LARGE',
  'QUERY_TOO_DEEP',
  'QUERY_TOO_MANY_ALIASES',
  'QUERY_TOO_MANY_ROOT_FIELDS',
  'QUERY_TOO_MANY_DIRECTIVES',
  'QUERY_TOO_COSTLY',
]);

export interface EdgeLimitsOptions {
  limits: DocumentLimits;
  metrics: GatewayMetrics;
  /**
   * Clients whose documents skip these limits (e.g. a partner running only its reviewed manifest). The
   * client is `res.locals.client` when an earlier middleware identified it (API key), else the
   * first-party/anonymous client of the request's headers.
   */
  exempt?: (client: EdgeClient) => boolean;
}

/**
 * The edge's document limits: an Express guard that runs before Apollo Server (tokens, nesting, fragment
 * cycles and expansion, root fields, batching, JSON depth), and graphql-armor's validation rules (depth,
 * aliases, directives, cost) for Apollo Server, with catalogue codes instead of armor's BAD_USER_INPUT.
 */
export function createEdgeLimits({ limits, metrics, exempt }: EdgeLimitsOptions) {
  // Set by the guard for an exempt client; armor's rules run inside Apollo, in the same async context.
  const exemptRequest = new AsyncLocalStorage<boolean>();
  const rejectWith = (code: ErrorCode) => ({
    propagateOnRejection: false,
    onReject: [
      (ctx: { reportError(e: GraphQLError): void } | null, error: GraphQLError) =>
        // armor words its refusals as syntax errors; they are limits.
        ctx?.reportError(
          new GraphQLError(error.message.replace(/^Syntax Error: /, ''), { extensions: { code } }),
        ),
    ],
  });
  const armor = new ApolloArmor({
    // Tokens are counted by the guard (and Apollo's parser), suggestions by the introspection policy.
    maxTokens: { enabled: false },
    blockFieldSuggestion: { enabled: false },
    maxDepth: { n: limits.maxDepth, ...rejectWith('QUERY_TOO_DEEP') },
    maxAliases: { n: limits.maxAliases, ...rejectWith('QUERY_TOO_MANY_ALIASES') },
    maxDirectives: { n: limits.maxDirectives, ...rejectWith('QUERY_TOO_MANY_DIRECTIVES') },
    costLimit: { maxCost: limits.maxCost, ...rejectWith('QUERY_TOO_COSTLY') },
  }).protect();
  const validationRules: ValidationRule[] = (armor.validationRules as ValidationRule[]).map(
    (rule) => (ctx) => (exemptRequest.getStore() ? {} : rule(ctx)),
  );

  // The verdict depends only on the text and this instance's limits; `{}` is "accepted".
  const verdicts = new LRUCache<string, { refusal?: Refusal }>({
    maxSize: VERDICT_CACHE_CHARS,
    sizeCalculation: (_verdict, query) => query.length || 1,
  });
  const verdictOf = (query: string): Refusal | undefined => {
    const known = verdicts.get(query);
    if (known) return known.refusal;
    const refusal = inspectDocument(query, limits);
    verdicts.set(query, refusal ? { refusal } : {});
    return refusal;
  };

  const guard: RequestHandler = (req, res, next) => {
    const client = (res.locals.client as EdgeClient | undefined) ?? firstPartyClientOf(req);
    if (exempt?.(client)) return exemptRequest.run(true, next);
    const body: unknown = req.body;
    if (Array.isArray(body))
      return sendEdgeError(req, res, metrics, 'OPERATION_NOT_SUPPORTED', {
        message: 'Batched operations are not supported: send one operation per request.',
      });
    const params = (req.method === 'POST' ? body : req.query) as Record<string, unknown> | undefined;
    if (params && typeof params === 'object') {
      if (
        jsonDeeperThan(params.variables, MAX_JSON_DEPTH) ||
        jsonDeeperThan(params.extensions, MAX_JSON_DEPTH)
      )
        return sendEdgeError(req, res, metrics, 'BAD_REQUEST', {
          message: `\`variables\` and \`extensions\` may nest at most ${MAX_JSON_DEPTH} levels.`,
        });
      // Apollo's own message for this names library internals.
      if (params.query !== undefined && params.query !== null && typeof params.query !== 'string')
        return sendEdgeError(req, res, metrics, 'BAD_REQUEST', { message: '`query` must be a string.' });
      if (typeof params.query === 'string') {
        const refusal = verdictOf(params.query);
        if (refusal) return sendEdgeError(req, res, metrics, refusal.code, { message: refusal.message });
      }
    }
    next();
  };

  return {
    guard,
    /** Spread into Apollo Server's options. */
    apollo: {
      validationRules,
      // A backstop for documents that bypass the guard (APQ hits, trusted documents).
      parseOptions: { maxTokens: limits.maxTokens },
      allowBatchedHttpRequests: false,
    },
    /**
     * Apollo Server re-codes every validation error GRAPHQL_VALIDATION_FAILED; this restores the limit's
     * own code (kept on the original error), for `formatError`.
     */
    recode(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
      // Duck-typed: graphql-armor (CommonJS) and Apollo Server (ESM) load different copies of graphql.
      const original = (error as { originalError?: { extensions?: { code?: unknown } } } | null)
        ?.originalError;
      const code = original?.extensions?.code;
      if (typeof code !== 'string' || !LIMIT_CODES.has(code)) return formatted;
      // Counted once, by the request-metrics plugin, which sees the response with this code restored.
      return { ...formatted, extensions: { ...formatted.extensions, code } };
    },
  };
}

export type EdgeLimits = ReturnType<typeof createEdgeLimits>;
