import { AppError } from '@carwash/errors';
import { allow, and, deny, or, rule, shield, type IRule } from 'graphql-shield';
import type { RequestContext } from './server.js';

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

/** A shield rule or rule combination (`allow`, `and(…)`, …), as graphql-shield's constructors return it. */
type ShieldRule = typeof allow | IRule | ReturnType<typeof and>;
/** A feature's rule tree: per type, one rule, or one per field (`'*'` for the others). */
export type FeatureRules = Record<string, ShieldRule | Record<string, ShieldRule>>;

/**
 * A feature's shield: its rule tree, denied by default with FORBIDDEN. Federation's own fields are
 * open (`_service`, `_entities` and `_Service`; a shield with `fallbackRule: deny` blocks them
 * otherwise): every entity type is guarded field by field, so a representation cannot read what a
 * query could not. Every other `Query` field is denied unless the feature allows it. Errors our
 * resolvers throw are already coded (and masked later if not), so they pass through.
 */
export function featureShield({ Query, ...types }: FeatureRules & { Query?: Record<string, ShieldRule> }) {
  return shield(
    { Query: { '*': deny, _service: allow, _entities: allow, ...Query }, ...types, _Service: allow },
    { fallbackRule: deny, fallbackError: () => new AppError('FORBIDDEN'), allowExternalErrors: true },
  );
}
