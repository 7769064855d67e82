import {
  allow,
  and,
  deny,
  featureRule,
  featureShield,
  GATEWAY,
  isAdmin,
  isAuthenticated,
  isServiceOnItsOwnAuthority as isService,
  isSignedInAdmin,
  isSignedInManager,
  isSignedInSelfOrManager,
  or,
  type ServiceAccess,
} from '@carwash/subgraph-kit';
import type { AuthContext } from './context.js';

/** The `id` argument is the viewer. */
const targetsSelf = featureRule<AuthContext, unknown, { id?: string }>(
  (_p, args, ctx) => !!ctx.viewer && args.id === ctx.viewer.userId,
);

/**
 * The gateway itself, signed, with no end user: how it verifies a partner's API key. The field it asks
 * (`apiKeyVerdict`) is `@inaccessible`, so no client request through the gateway can reach it; a sibling
 * service cannot either (it is in no `serviceAccess` list, and this rule names the gateway).
 */
const isGatewayOnItsOwnAuthority = featureRule<AuthContext>(
  (_p, _a, ctx) => ctx.caller === GATEWAY && ctx.viewer === null,
);

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
export const permissions = featureShield({
  Query: {
    me: allow,
    user: isAuthenticated,
    users: isSignedInManager,
    apiKeys: isSignedInAdmin,
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
    setUserRole: isSignedInAdmin,
    deleteUser: and(isAuthenticated, or(targetsSelf, isAdmin)),
    createApiKey: isSignedInAdmin,
    revokeApiKey: isSignedInAdmin,
  },
  User: {
    '*': or(isAuthenticated, isService),
    email: isSignedInSelfOrManager,
    lastLoginAt: isSignedInSelfOrManager,
  },
  AuthPayload: allow,
  UserConnection: isAuthenticated,
  PageInfo: allow,
  DeleteUserPayload: allow,
  // Reached only through the admin-only fields above (or the gateway-only verdict).
  ApiKey: allow,
  CreateApiKeyPayload: allow,
  ApiKeyVerdict: allow,
});
