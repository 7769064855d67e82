import { AppError } from '@carwash/errors';
import { middleware, type IMiddleware } from 'graphql-middleware';
import { allow, and, deny, or, rule, shield, type IRule } from 'graphql-shield';
import type { RequestContext } from './server.js';
import { isServiceOnItsOwnAuthority } from './service-access.js';

/**
 * The one caching choice of every feature's rules: none. A rule reads only the request's viewer and the
 * parent or arguments, so running it again costs nothing; a per-request cache would be wrong where a
 * mutation sets the viewer mid-request (auth's `signUp` and `logIn`), and a per-parent one buys nothing.
 */
const RULE_CACHE = 'no_cache';

type RuleCheck<Ctx, Parent, Args> = (
  parent: Parent,
  args: Args,
  ctx: Ctx,
) => boolean | AppError | Promise<boolean | AppError>;

/** A feature's own shield rule, with the shared caching choice. */
export function featureRule<Ctx extends RequestContext = RequestContext, Parent = unknown, Args = unknown>(
  check: RuleCheck<Ctx, Parent, Args>,
): IRule {
  return rule({ cache: RULE_CACHE })((parent: Parent, args: Args, ctx: Ctx) => check(parent, args, ctx));
}

type Role = NonNullable<RequestContext['viewer']>['role'];

/** The viewer has one of `roles` (no viewer: false). */
export function hasRole(...roles: Role[]): IRule {
  return featureRule((_p, _a, ctx) => !!ctx.viewer && roles.includes(ctx.viewer.role));
}

/** A signed-in viewer, or UNAUTHENTICATED (not FORBIDDEN: the client should sign in, not give up). */
export const isAuthenticated: IRule = featureRule((_p, _a, ctx) =>
  ctx.viewer ? true : new AppError('UNAUTHENTICATED'),
);
export const isAdmin: IRule = hasRole('ADMIN');
export const isManagerOrAdmin: IRule = hasRole('MANAGER', 'ADMIN');
/** The parent (a `User`) is the viewer. */
export const isSelf: IRule = featureRule<RequestContext, { id?: string }>(
  (parent, _a, ctx) => !!ctx.viewer && parent.id === ctx.viewer.userId,
);

/*
 * The combinations every feature grants with. `isAuthenticated` comes first so that a request with no
 * viewer is told to sign in (UNAUTHENTICATED) rather than refused (FORBIDDEN).
 */
/** A signed-in manager or admin. */
export const isSignedInManager: ReturnType<typeof and> = and(isAuthenticated, isManagerOrAdmin);
/** A signed-in admin. */
export const isSignedInAdmin: ReturnType<typeof and> = and(isAuthenticated, isAdmin);
/** A signed-in viewer reading their own `User` (the parent), or a manager or admin. */
export const isSignedInSelfOrManager: ReturnType<typeof and> = and(
  isAuthenticated,
  or(isSelf, isManagerOrAdmin),
);

/**
 * A `User` field listing the user's own records in another feature (bookings, shifts, cards, charges):
 * a sibling service on its own authority (within its `ServiceAccess`), the user themself, or a manager
 * or admin.
 */
export const isServiceOrSignedInSelfOrManager: ReturnType<typeof or> = or(
  isServiceOnItsOwnAuthority,
  isSignedInSelfOrManager,
);

/** A shield rule or rule combination (`allow`, `and(…)`, …), as graphql-shield's constructors return it. */
type ShieldRule = typeof allow | IRule | ReturnType<typeof and>;
/** A feature's rule tree: per type, one rule, or one per field (`'*'` for the others). */
export type FeatureRules = Record<string, ShieldRule | Record<string, ShieldRule>>;

/** The tree's own rule for `type.field`, as graphql-shield picks it (field, then `'*'`); undefined: the fallback. */
function ruleOf(tree: FeatureRules, type: string, field: string): ShieldRule | undefined {
  const rules = Object.hasOwn(tree, type) ? tree[type] : undefined;
  if (!rules || Object.getPrototypeOf(rules) !== Object.prototype) return rules as ShieldRule | undefined;
  const map = rules as Record<string, ShieldRule>;
  return Object.hasOwn(map, field) ? map[field] : Object.hasOwn(map, '*') ? map['*'] : undefined;
}

/** What a rule decides, as graphql-shield's `IRule.resolve` resolves: pass, refuse, or refuse with this error. */
type Verdict = boolean | Error;
type ShieldOptions = { fallbackError: () => Error; allowExternalErrors: true };
type FieldArgs = [parent: unknown, args: unknown, ctx: unknown, info: unknown];
type Resolve = (...args: FieldArgs) => unknown;

// graphql-shield does not export its rule classes; its constructors make one of each.
const RULE = rule()(() => true).constructor;
const AND = and().constructor;
const OR = or().constructor;
const TRUE = allow.constructor;
const FALSE = deny.constructor;

const isPromise = <T>(value: unknown): value is PromiseLike<T> =>
  typeof (value as PromiseLike<T> | null)?.then === 'function';

/** A rule this module evaluates itself: `allow`, `deny`, an uncached `rule`, and `and`/`or` of those. */
function isPlain(r: unknown): boolean {
  const kind = (r as object).constructor;
  if (kind === TRUE || kind === FALSE) return true;
  if (kind === RULE) return (r as { cache: unknown }).cache === RULE_CACHE;
  if (kind === AND || kind === OR) return (r as { rules: unknown[] }).rules.every(isPlain);
  return false;
}

/** `Rule.resolve`'s reading of a check's answer: an Error or a message refuses with it; only `true` passes. */
function verdictOf(answer: unknown): Verdict {
  if (answer instanceof Error) return answer;
  if (typeof answer === 'string') return new Error(answer);
  return answer === true;
}

/** `and`/`or` as graphql-shield combines its children's verdicts (all of them, in order). */
function combined(kind: unknown, verdicts: Verdict[]): Verdict {
  const passes = kind === AND ? verdicts.every((v) => v === true) : verdicts.some((v) => v === true);
  return passes || (verdicts.find((v) => v instanceof Error) ?? false);
}

/**
 * A plain rule's verdict, with graphql-shield's semantics (a check that throws or rejects refuses; `and`
 * and `or` evaluate every child), but without a promise where no check returns one.
 */
function evaluate(r: unknown, args: FieldArgs): Verdict | Promise<Verdict> {
  const kind = (r as object).constructor;
  if (kind === TRUE) return true;
  if (kind === FALSE) return false;
  if (kind === RULE) {
    let answer: unknown;
    try {
      answer = (r as { func: (...a: FieldArgs) => unknown }).func(...args);
    } catch {
      return false;
    }
    return isPromise(answer) ? Promise.resolve(answer).then(verdictOf, () => false) : verdictOf(answer);
  }
  const children = (r as { rules: unknown[] }).rules.map((child) => evaluate(child, args));
  return children.some(isPromise)
    ? Promise.all(children).then((verdicts) => combined(kind, verdicts))
    : combined(kind, children as Verdict[]);
}

/**
 * graphql-shield's field middleware for a plain rule, synchronous when the rule's checks are: it passes
 * to the resolver on `true`, answers the fallback error on `false` and the rule's own error otherwise,
 * as shield's does, but a field whose checks answer at once (every rule of our features) resolves
 * without the chain of awaits shield puts around every guarded field. On the dashboard that is a
 * promise less per rule and field of 100 bookings, each paying Node 20's promise hooks and the GC.
 * The data is the same; where a refused field is non-null, graphql-js reports the first refusal of
 * the nulled parent and skips its later siblings (shield's awaited refusals each reported theirs).
 */
function plainMiddleware(r: unknown, options: ShieldOptions) {
  const decide = (verdict: Verdict, resolve: Resolve, args: FieldArgs): unknown =>
    verdict === true ? resolve(...args) : verdict === false ? options.fallbackError() : verdict;
  return (resolve: Resolve, ...args: FieldArgs): unknown => {
    const verdict = evaluate(r, args);
    return isPromise<Verdict>(verdict)
      ? verdict.then(
          (v) => decide(v, resolve, args),
          // As shield with allowExternalErrors: the error becomes the field's.
          (error: unknown) => error,
        )
      : decide(verdict, resolve, args);
  };
}

/**
 * The field middleware graphql-shield generated, reworked per field:
 * - dropped where the rule is `allow` (a whole type allowed, `'*': allow`, or the field's own): `allow`
 *   always passes and the middleware would only wrap the resolver in a chain of awaits, turning every
 *   scalar of `Money`, `PageInfo`, … into a promise (the dashboard resolves hundreds of them per
 *   request). A resolver's error then reaches the client as it would through shield with
 *   `allowExternalErrors`;
 * - evaluated by {@link plainMiddleware} where the rule is plain (see {@link isPlain}), the deny
 *   fallback included;
 * - shield's own otherwise (`chain`, `race`, `not`, input rules, cached rules).
 */
function reworked<Ctx>(
  generated: IMiddleware,
  tree: FeatureRules,
  options: ShieldOptions,
): IMiddleware<unknown, Ctx, unknown> {
  const kept: Record<string, Record<string, unknown>> = {};
  for (const [type, fields] of Object.entries(generated as Record<string, Record<string, unknown>>)) {
    kept[type] = {};
    for (const [field, own] of Object.entries(fields)) {
      const r = ruleOf(tree, type, field) ?? deny;
      if (r === allow) continue;
      kept[type][field] = isPlain(r) ? plainMiddleware(r, options) : own;
    }
  }
  return kept as IMiddleware;
}

/**
 * A feature's shield: its rule tree, denied by default with FORBIDDEN. Federation's own fields are
 * open (`_service`, `_entities` and `_Service`; a shield with `fallbackRule: deny` blocks them
 * otherwise): every entity type is guarded field by field, so a representation cannot read what a
 * query could not. Every other `Query` field is denied unless the feature allows it. Errors our
 * resolvers throw are already coded (and masked later if not), so they pass through.
 */
export function featureShield({ Query, ...types }: FeatureRules & { Query?: Record<string, ShieldRule> }) {
  const tree: FeatureRules = {
    Query: { '*': deny, _service: allow, _entities: allow, ...Query },
    ...types,
    _Service: allow,
  };
  const options: ShieldOptions = {
    fallbackError: () => new AppError('FORBIDDEN'),
    allowExternalErrors: true,
  };
  // graphql-shield validates the tree and decides which fields are guarded by which rule.
  const guarded = shield(tree, { fallbackRule: deny, ...options });
  // As shield's own generator is typed (any feature's context).
  return middleware((schema) =>
    reworked(guarded.generate(schema), tree, options),
  ) as unknown as typeof guarded;
}
