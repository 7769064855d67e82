import {
  allow,
  and,
  featureRule,
  featureShield,
  isAuthenticated,
  isServiceOrSignedInSelfOrManager,
  isServiceOnItsOwnAuthority as isService,
  isSignedInManager,
  or,
  type ServiceAccess,
} from '@carwash/subgraph-kit';
import type { PaymentContext } from './context.js';

/** The parent transaction is the viewer's own charge. */
const isOwnTransaction = featureRule<PaymentContext, { customerId?: string }>(
  (parent, _a, ctx) => !!ctx.viewer && parent.customerId === ctx.viewer.userId,
);

const staffOrService = or(isService, isSignedInManager);

/**
 * No sibling reads payment data: a user's cards and charges are seen through the gateway only, by
 * their owner, managers and admins. A service calling here gets SERVICE_ACCESS_DENIED on every field.
 */
export const serviceAccess: ServiceAccess = {};

/** Deny by default: money is visible to its owner, managers and admins only — `_entities` included. */
export const permissions = featureShield({
  Mutation: {
    '*': isAuthenticated,
    refund: isSignedInManager,
  },
  User: {
    id: allow,
    paymentMethods: isServiceOrSignedInSelfOrManager,
    transactions: isServiceOrSignedInSelfOrManager,
  },
  // A booking's payment is filtered per transaction below; the list itself needs a viewer.
  Booking: {
    id: allow,
    payment: or(isService, isAuthenticated),
    transactions: or(isService, isAuthenticated),
  },
  Transaction: { '*': or(staffOrService, and(isAuthenticated, isOwnTransaction)) },
  PaymentMethod: allow,
  Refund: allow,
  Money: allow,
  TransactionConnection: allow,
  PageInfo: allow,
});
