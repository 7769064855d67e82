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

/**
 * Drops the middleware of every field whose rule is `allow` (a whole type allowed, `'*': allow`, or
 * the field's own): `allow` always passes and the middleware would only wrap the resolver in a chain
 * of awaits, turning every scalar of `Money`, `PageInfo`, … into a promise (the dashboard resolves
 * hundreds of them per request). A resolver's error then reaches the client as it would through
 * shield with `allowExternalErrors`. Fields under any other rule, or the deny fallback, keep theirs.
 */
function withoutAllowed<Ctx>(generated: IMiddleware, tree: FeatureRules): IMiddleware<unknown, Ctx, unknown> {
  const kept: Record<string, Record<string, unknown>> = {};
  for (const [type, fields] of Object.entries(generated as Record<string, Record<string, unknown>>)) {
    kept[type] = Object.fromEntries(
      Object.entries(fields).filter(([field]) => ruleOf(tree, type, field) !== allow),
    );
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
  const guarded = shield(tree, {
    fallbackRule: deny,
    fallbackError: () => new AppError('FORBIDDEN'),
    allowExternalErrors: true,
  });
  // As shield's own generator is typed (any feature's context).
  return middleware((schema) => withoutAllowed(guarded.generate(schema), tree)) as unknown as typeof guarded;
}
