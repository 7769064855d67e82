import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import type { Viewer } from '@carwash/service-trust';
import { actsOnOwnAuthority, DateTime } from '@carwash/subgraph-kit';
import type { PaymentContext } from './context.js';
import type { Refund, Transaction } from './repository.js';
import { PAID_STATES } from './rules.js';

/** A DB row or the stored first answer of payForBooking: both carry these fields. */
type TransactionLike = Pick<Transaction, 'id' | 'customerId' | 'bookingId' | 'amountCents' | 'currency' | 'capturedCents' | 'refundedCents' | 'status' | 'failureCode'> & { createdAt: Date | string };

const money = (amountCents: number, currency: string) => ({ amountCents, currency });
const visible = (viewer: Viewer | null, caller: string, t: { customerId: string }) =>
  actsOnOwnAuthority({ caller, viewer }) || viewer?.role === 'MANAGER' || viewer?.role === 'ADMIN' || viewer?.userId === t.customerId;

export const resolvers: GraphQLResolverMap<PaymentContext> = {
  DateTime: DateTime as never,
  Mutation: {
    addPaymentMethod: (_p, args: { input: unknown }, ctx) => ctx.payment.addMethod(ctx.viewer!, args.input),
    removePaymentMethod: (_p, args: { id: string }, ctx) => ctx.payment.removeMethod(ctx.viewer!, args.id),
    setDefaultPaymentMethod: (_p, args: { id: string }, ctx) => ctx.payment.setDefault(ctx.viewer!, args.id),
    payForBooking: (_p, args: { bookingId: string; methodId: string; idempotencyKey: string }, ctx) => ctx.payment.payForBooking(ctx.viewer!, args.bookingId, args.methodId, args.idempotencyKey, ctx.requestId),
    refund: (_p, args: { transactionId: string; amountCents?: number | null; currency?: string | null; reason: string; idempotencyKey: string }, ctx) =>
      ctx.payment.refund(ctx.viewer!.userId, args.transactionId, args.amountCents, args.reason, args.idempotencyKey, args.currency),
  },
  Transaction: {
    __resolveReference: (ref: { id: string }, ctx: PaymentContext) => ctx.loaders.transaction.load(ref.id),
    booking: (t: TransactionLike) => (t.bookingId ? { __typename: 'Booking', id: t.bookingId } : null),
    customer: (t: TransactionLike) => ({ __typename: 'User', id: t.customerId }),
    amount: (t: TransactionLike) => money(t.amountCents, t.currency),
    captured: (t: TransactionLike) => money(t.capturedCents, t.currency),
    refunded: (t: TransactionLike) => money(t.refundedCents, t.currency),
    refunds: (t: TransactionLike, _a, ctx) => ctx.loaders.refunds.load(t.id),
  },
  Refund: {
    amount: (r: Refund) => money(r.amountCents, r.currency),
  },
  User: {
    __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
    paymentMethods: (u: { id: string }, _a, ctx) => ctx.loaders.methods.load(u.id),
    transactions: (u: { id: string }, args: { first?: number | null; after?: string | null }, ctx) => ctx.payment.transactionsOf(u.id, args),
  },
  Booking: {
    __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
    payment: async (b: { id: string }, _a, ctx) => {
      const paid = (await ctx.loaders.byBooking.load(b.id)).find((t) => PAID_STATES.includes(t.status));
      return paid && visible(ctx.viewer, ctx.caller, paid) ? paid : null;
    },
    transactions: async (b: { id: string }, _a, ctx) => (await ctx.loaders.byBooking.load(b.id)).filter((t) => visible(ctx.viewer, ctx.caller, t)),
  },
};
