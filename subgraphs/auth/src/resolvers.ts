import { DateTime, validate } from '@carwash/subgraph-kit';
import type { Resolvers } from './__generated__/resolvers-types.js';
import type { AuthContext } from './context.js';
import type { AuthPayload } from './service.js';
import * as input from './validation.js';

/** After signUp/logIn the rest of the response is read as the new user (e.g. `user { email }`). */
function signedIn(ctx: AuthContext, payload: AuthPayload): AuthPayload {
  ctx.viewer = { userId: payload.user.id, role: payload.user.role, sessionId: ctx.viewer?.sessionId ?? '' };
  return payload;
}

function client(ctx: AuthContext) {
  return { ip: ctx.clientIp };
}

export const resolvers: Resolvers = {
  DateTime,
  Query: {
    me: (_p, _a, ctx) => (ctx.viewer ? ctx.loaders.user.load(ctx.viewer.userId) : null),
    user: (_p, args, ctx) => ctx.loaders.user.load(validate(input.uuid, args.id, 'id')),
    users: (_p, args, ctx) => ctx.auth.listUsers(args),
    apiKeys: (_p, _a, ctx) => ctx.apiKeys.list(),
    apiKeyVerdict: (_p, args, ctx) => ctx.apiKeys.verify(args.key),
  },
  Mutation: {
    signUp: async (_p, args, ctx) => {
      const payload = await ctx.auth.signUp(args.input, client(ctx));
      await ctx.recovery.welcome(payload.user);
      return signedIn(ctx, payload);
    },
    logIn: async (_p, args, ctx) => signedIn(ctx, await ctx.auth.logIn(args.input, client(ctx))),
    refreshSession: async (_p, args, ctx) =>
      signedIn(ctx, await ctx.auth.refresh(args.refreshToken, client(ctx))),
    logOut: (_p, args, ctx) => ctx.auth.logOut(args.refreshToken),
    changePassword: (_p, args, ctx) => ctx.auth.changePassword(ctx.viewer!, args.input, client(ctx)),
    requestEmailVerification: (_p, _a, ctx) =>
      ctx.recovery.requestEmailVerification(ctx.viewer!, client(ctx)),
    verifyEmail: (_p, args, ctx) => ctx.recovery.verifyEmail(args.token),
    requestPasswordReset: (_p, args, ctx) => ctx.recovery.requestPasswordReset(args.email, client(ctx)),
    resetPassword: (_p, args, ctx) => ctx.recovery.resetPassword(args.token, args.newPassword, client(ctx)),
    setUserRole: (_p, args, ctx) => ctx.auth.setUserRole(ctx.viewer!, args.userId, args.role),
    deleteUser: (_p, args, ctx) => ctx.auth.deleteUser(args.id),
    createApiKey: (_p, args, ctx) => ctx.apiKeys.create(ctx.viewer!, args.input),
    revokeApiKey: (_p, args, ctx) => ctx.apiKeys.revoke(args.id),
  },
  User: {
    __resolveReference: (ref, ctx) => ctx.loaders.user.load(ref.id),
    deleted: (user) => user.deletedAt !== null,
  },
  AuthPayload: {
    user: (payload) => payload.user,
  },
};
