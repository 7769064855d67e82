import { AppError } from '@carwash/errors';
import type { GraphQLNamedType, GraphQLSchema } from 'graphql';
import { middleware, type IMiddlewareFunction, type IMiddlewareGenerator } from 'graphql-middleware';
import { rule, type IRule } from 'graphql-shield';
import type { RequestContext } from './server.js';

/** The one caller that relays end users: its calls are checked as the end user, never by an allow-list. */
export const GATEWAY = 'gateway';

/**
 * What each calling service may read from this subgraph: caller → type → fields, e.g.
 * `{ booking: { Query: ['_entities'], User: ['id', 'role', 'deleted'] } }`. Exactly the fields the
 * caller's own queries select (root and entity fields alike); anything else is refused with
 * SERVICE_ACCESS_DENIED, with or without a user token. A caller that is not listed may read nothing.
 */
export type ServiceAccess = Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;

/**
 * The allow-list as a field middleware, applied in front of the feature's shield by
 * `createSubgraphServer`, so every feature uses the same mechanism. The gateway passes through (its
 * calls are checked as the end user by the shield); a sibling service passes only on its listed
 * fields, and then the shield checks it too — as the user, when it calls on a user's behalf.
 *
 * Only on the fields a sibling can reach: every field of the root types, and every field of each type
 * that a listed field (any caller's) returns, through lists, unions and interfaces, transitively
 * (`_entities` reaches every entity type). A field of any other type runs only below a field that
 * refused the sibling already, so checking it again would only cost the gateway's requests a wrapper
 * per value (availableSlots' ~300 scalars).
 */
export function serviceAccessMiddleware<Ctx extends RequestContext>(
  access: ServiceAccess,
): IMiddlewareGenerator<unknown, Ctx, unknown> {
  const allowed = new Map<string, Set<string>>();
  for (const [caller, types] of Object.entries(access)) {
    const set = new Set<string>();
    for (const [type, fields] of Object.entries(types)) for (const f of fields) set.add(`${type}.${f}`);
    allowed.set(caller, set);
  }
  const check: IMiddlewareFunction<unknown, Ctx, unknown> = (resolve, parent, args, ctx, info) => {
    if (
      ctx.caller !== GATEWAY &&
      !allowed.get(ctx.caller)?.has(`${info.parentType.name}.${info.fieldName}`)
    ) {
      ctx.log.warn(
        { caller: ctx.caller, field: `${info.parentType.name}.${info.fieldName}` },
        'refused a service call outside its allow-list',
      );
      throw new AppError('SERVICE_ACCESS_DENIED');
    }
    return resolve(parent, args, ctx, info);
  };
  return middleware((schema) =>
    Object.fromEntries([...reachableBySiblings(schema, access)].map((type) => [type, check])),
  );
}

/** The kind of a named type. By its tag, not graphql's `is…` checks: the schema may be another copy's. */
const kind = (type: GraphQLNamedType) =>
  (type as unknown as { [Symbol.toStringTag]: string })[Symbol.toStringTag];

/** The object types whose fields a sibling service can reach: the roots, then what listed fields return. */
function reachableBySiblings(schema: GraphQLSchema, access: ServiceAccess): Set<string> {
  const listed = new Map<string, Set<string>>();
  for (const types of Object.values(access))
    for (const [type, fields] of Object.entries(types))
      for (const f of fields) (listed.get(type) ?? listed.set(type, new Set()).get(type)!).add(f);
  const roots = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()];
  const reachable = new Set<string>();
  const queue: GraphQLNamedType[] = [];
  const reach = (type: GraphQLNamedType) => {
    const targets =
      kind(type) === 'GraphQLUnionType' || kind(type) === 'GraphQLInterfaceType'
        ? schema.getPossibleTypes(type as Parameters<GraphQLSchema['getPossibleTypes']>[0])
        : kind(type) === 'GraphQLObjectType'
          ? [type]
          : [];
    for (const target of targets)
      if (!reachable.has(target.name)) {
        reachable.add(target.name);
        queue.push(target);
      }
  };
  for (const root of roots) if (root) reach(root);
  for (let type = queue.pop(); type; type = queue.pop()) {
    const fields = (type as { getFields(): Record<string, { type: unknown }> }).getFields();
    for (const name of listed.get(type.name) ?? []) {
      let returned = fields[name]?.type as { ofType?: unknown } | undefined;
      while (returned?.ofType) returned = returned.ofType as { ofType?: unknown };
      if (returned) reach(returned as GraphQLNamedType);
    }
  }
  return reachable;
}

/** A signed call from a sibling service acting on its own authority: not the gateway, no end user. */
export function actsOnOwnAuthority(ctx: Pick<RequestContext, 'caller' | 'viewer'>): boolean {
  return ctx.caller !== GATEWAY && ctx.viewer === null;
}

/**
 * The shield rule for "a sibling service, on its own authority" (e.g. booking checking a user's role
 * before a booking). A service that forwards a user's token is that user here: the per-user rules
 * apply to it, and the allow-list on top. What the service may read at all is `ServiceAccess`.
 */
export const isServiceOnItsOwnAuthority: IRule = rule({ cache: 'no_cache' })((_p, _a, ctx: RequestContext) =>
  actsOnOwnAuthority(ctx),
);
