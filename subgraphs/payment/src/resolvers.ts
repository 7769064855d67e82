import type { Viewer } from '@carwash/service-trust';
import { actsOnOwnAuthority, DateTime } from '@carwash/subgraph-kit';
import type { Resolvers } from './__generated__/resolvers-types.js';
import { PAID_STATES } from './rules.js';

const money = (amountCents: number, currency: string) => ({ amountCents, currency });
const visible = (viewer: Viewer | null, caller: string, t: { customerId: string }) =>
  actsOnOwnAuthority({ caller, viewer }) ||
  viewer?.role === 'MANAGER' ||
  viewer?.role === 'ADMIN' ||
  viewer?.userId === t.customerId;

export const resolvers: Resolvers = {
  DateTime,
  Mutation: {
    addPaymentMethod: (_p, args, ctx) => ctx.payment.addMethod(ctx.viewer!, args.input),
    removePaymentMethod: (_p, args, ctx) => ctx.payment.removeMethod(ctx.viewer!, args.id),
    setDefaultPaymentMethod: (_p, args, ctx) => ctx.payment.setDefault(ctx.viewer!, args.id),
    payForBooking: (_p, args, ctx) =>
      ctx.payment.payForBooking(
        ctx.viewer!,
        args.bookingId,
        args.methodId,
        args.idempotencyKey,
        ctx.requestId,
      ),
    refund: (_p, args, ctx) =>
      ctx.payment.refund(
        ctx.viewer!.userId,
        args.transactionId,
        args.amountCents,
        args.reason,
        args.idempotencyKey,
        args.currency,
      ),
  },
  Transaction: {
    __resolveReference: (ref, ctx) => ctx.loaders.transaction.load(ref.id),
    booking: (t) => (t.bookingId ? { __typename: 'Booking', id: t.bookingId } : null),
    customer: (t) => ({ __typename: 'User', id: t.customerId }),
    amount: (t) => money(t.amountCents, t.currency),
    captured: (t) => money(t.capturedCents, t.currency),
    refunded: (t) => money(t.refundedCents, t.currency),
    refunds: (t, _a, ctx) => ctx.loaders.refunds.load(t.id),
  },
  Refund: {
    amount: (r) => money(r.amountCents, r.currency),
  },
  User: {
    __resolveReference: (ref) => ({ id: ref.id }),
    paymentMethods: (u, _a, ctx) => ctx.loaders.methods.load(u.id),
    transactions: (u, args, ctx) => ctx.payment.transactionsOf(ctx.loaders, u.id, args),
  },
  Booking: {
    __resolveReference: (ref) => ({ id: ref.id }),
    payment: async (b, _a, ctx) => {
      const paid = (await ctx.loaders.byBooking.load(b.id)).find((t) => PAID_STATES.includes(t.status));
      return paid && visible(ctx.viewer, ctx.caller, paid) ? paid : null;
    },
    transactions: async (b, _a, ctx) =>
      (await ctx.loaders.byBooking.load(b.id)).filter((t) => visible(ctx.viewer, ctx.caller, t)),
  },
};
