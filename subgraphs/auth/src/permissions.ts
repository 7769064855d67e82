import { AppError } from '@carwash/errors';
import { GATEWAY, isServiceOnItsOwnAuthority as isService, type ServiceAccess } from '@carwash/subgraph-kit';
import { allow, and, deny, or, rule, shield } from 'graphql-shield';
import type { AuthContext } from './context.js';

// Viewer-based rules are not cached: signUp/logIn set the viewer mid-request.
const isAuthenticated = rule({ cache: 'no_cache' })((_p, _a, ctx: AuthContext) =>
  ctx.viewer ? true : new AppError('UNAUTHENTICATED'),
);
const isAdmin = rule({ cache: 'no_cache' })((_p, _a, ctx: AuthContext) => ctx.viewer?.role === 'ADMIN');
const isManagerOrAdmin = rule({ cache: 'no_cache' })(
  (_p, _a, ctx: AuthContext) => ctx.viewer?.role === 'MANAGER' || ctx.viewer?.role === 'ADMIN',
);
/** The parent User is the viewer. */
const isSelf = rule({ cache: 'no_cache' })(
  (parent: { id?: string }, _a, ctx: AuthContext) => !!ctx.viewer && parent.id === ctx.viewer.userId,
);
/** The `id` argument is the viewer. */
const targetsSelf = rule({ cache: 'no_cache' })(
  (_p, args: { id?: string }, ctx: AuthContext) => !!ctx.viewer && args.id === ctx.viewer.userId,
);

/**
 * The gateway itself, signed, with no end user: how it verifies a partner's API key. The field it asks
 * (`apiKeyVerdict`) is `@inaccessible`, so no client request through the gateway can reach it; a sibling
 * service cannot either (it is in no `serviceAccess` list, and this rule names the gateway).
 */
const isGatewayOnItsOwnAuthority = rule({ cache: 'no_cache' })(
  (_p, _a, ctx: AuthContext) => ctx.caller === GATEWAY && ctx.viewer === null,
);

const privateUserField = and(isAuthenticated, or(isSelf, isManagerOrAdmin));

/**
 * What each sibling may read here, on its own authority: booking checks a customer before a booking,
 * location a washer before a shift (`id role deleted`). Nobody reads emails or login times.
 */
export const serviceAccess: ServiceAccess = {
  booking: { Query: ['_entities'], User: ['id', 'role', 'deleted'] },
  location: { Query: ['_entities'], User: ['id', 'role', 'deleted'] },
};

/**
 * Deny by default. `_entities` is open to the gateway, but every `User` field is guarded, so a
 * representation cannot read what `user(id:)` could not.
 */
export const permissions = shield(
  {
    Query: {
      '*': deny,
      _service: allow,
      _entities: allow,
      me: allow,
      user: isAuthenticated,
      users: and(isAuthenticated, isManagerOrAdmin),
      apiKeys: and(isAuthenticated, isAdmin),
      apiKeyVerdict: isGatewayOnItsOwnAuthority,
    },
    Mutation: {
      '*': deny,
      signUp: allow,
      logIn: allow,
      refreshSession: allow,
      logOut: allow,
      changePassword: isAuthenticated,
      requestEmailVerification: isAuthenticated,
      // The mailed token is the credential: the link may be opened signed out, on another device.
      verifyEmail: allow,
      requestPasswordReset: allow,
      resetPassword: allow,
      setUserRole: and(isAuthenticated, isAdmin),
      deleteUser: and(isAuthenticated, or(targetsSelf, isAdmin)),
      createApiKey: and(isAuthenticated, isAdmin),
      revokeApiKey: and(isAuthenticated, isAdmin),
    },
    User: {
      '*': or(isAuthenticated, isService),
      email: privateUserField,
      lastLoginAt: privateUserField,
    },
    AuthPayload: allow,
    UserConnection: isAuthenticated,
    PageInfo: allow,
    DeleteUserPayload: allow,
    // Reached only through the admin-only fields above (or the gateway-only verdict).
    ApiKey: allow,
    CreateApiKeyPayload: allow,
    ApiKeyVerdict: allow,
    _Service: allow,
  },
  {
    fallbackRule: deny,
    fallbackError: () => new AppError('FORBIDDEN'),
    // Errors our resolvers throw are already coded (and masked later if not); let them through.
    allowExternalErrors: true,
  },
);
