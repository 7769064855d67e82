import { AppError } from '@carwash/errors';
import { isServiceOnItsOwnAuthority as isService, type ServiceAccess } from '@carwash/subgraph-kit';
import { allow, and, deny, or, rule, shield } from 'graphql-shield';
import type { PaymentContext } from './context.js';

const isAuthenticated = rule({ cache: 'contextual' })((_p, _a, ctx: PaymentContext) =>
  ctx.viewer ? true : new AppError('UNAUTHENTICATED'),
);
const isManagerOrAdmin = rule({ cache: 'contextual' })(
  (_p, _a, ctx: PaymentContext) => ctx.viewer?.role === 'MANAGER' || ctx.viewer?.role === 'ADMIN',
);
const isSelf = rule({ cache: 'strict' })(
  (parent: { id?: string }, _a, ctx: PaymentContext) => !!ctx.viewer && parent.id === ctx.viewer.userId,
);
/** The parent transaction is the viewer's own charge. */
const isOwnTransaction = rule({ cache: 'strict' })(
  (parent: { customerId?: string }, _a, ctx: PaymentContext) =>
    !!ctx.viewer && parent.customerId === ctx.viewer.userId,
);

const staffOrService = or(isService, and(isAuthenticated, isManagerOrAdmin));

/**
 * No sibling reads payment data: a user's cards and charges are seen through the gateway only, by
 * their owner, managers and admins. A service calling here gets SERVICE_ACCESS_DENIED on every field.
 */
export const serviceAccess: ServiceAccess = {};

/** Deny by default: money is visible to its owner, managers and admins only — `_entities` included. */
export const permissions = shield(
  {
    Query: { '*': deny, _service: allow, _entities: allow },
    Mutation: {
      '*': isAuthenticated,
      refund: and(isAuthenticated, isManagerOrAdmin),
    },
    User: {
      id: allow,
      paymentMethods: or(staffOrService, and(isAuthenticated, isSelf)),
      transactions: or(staffOrService, and(isAuthenticated, isSelf)),
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
    _Service: allow,
  },
  { fallbackRule: deny, fallbackError: () => new AppError('FORBIDDEN'), allowExternalErrors: true },
);
