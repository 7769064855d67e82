/**
 * Four static subgraphs shaped like The Guild's federation benchmark (accounts, inventory, products,
 * reviews): `User` and `Product` are entities joined by `@key` across them, inventory `@requires` the
 * product's price and weight, reviews `@provides` the author's username. Our own SDL and data (data.ts).
 */
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { SubgraphResolvers } from '@carwash/subgraph-kit';
import { parse, type GraphQLSchema } from 'graphql';
import {
  inStock,
  productByUpc,
  products,
  reviewsByAuthor,
  reviewsByProduct,
  shippingEstimate,
  userById,
  users,
  type ReviewRow,
} from './data.js';

export const SUBGRAPH_NAMES = ['accounts', 'inventory', 'products', 'reviews'] as const;
export type SubgraphName = (typeof SUBGRAPH_NAMES)[number];

const LINK = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@external", "@requires", "@provides", "@shareable"])`;

export const SDL: Record<SubgraphName, string> = {
  accounts: /* GraphQL */ `
    ${LINK}
    type Query {
      me: User
      user(id: ID!): User
      users: [User]
    }
    type User @key(fields: "id") {
      id: ID!
      name: String
      username: String @shareable
      birthday: Int
    }
  `,
  inventory: /* GraphQL */ `
    ${LINK}
    type Product @key(fields: "upc") {
      upc: String!
      price: Int @external
      weight: Int @external
      inStock: Boolean
      shippingEstimate: Int @requires(fields: "price weight")
    }
  `,
  products: /* GraphQL */ `
    ${LINK}
    type Query {
      topProducts(first: Int = 5): [Product]
    }
    type Product @key(fields: "upc") {
      upc: String!
      name: String
      price: Int
      weight: Int
    }
  `,
  reviews: /* GraphQL */ `
    ${LINK}
    type Review @key(fields: "id") {
      id: ID!
      body: String
      author: User @provides(fields: "username")
      product: Product
    }
    type User @key(fields: "id") {
      id: ID!
      username: String @external
      reviews: [Review]
    }
    type Product @key(fields: "upc") {
      upc: String!
      reviews: [Review]
    }
  `,
};

type Ref = Record<string, unknown>;
const reviewOut = (r: ReviewRow) => ({
  id: r.id,
  body: r.body,
  authorId: r.authorId,
  productUpc: r.productUpc,
});

const RESOLVERS = {
  accounts: {
    Query: {
      me: () => users[0],
      user: (_: unknown, { id }: { id: string }) => userById.get(id) ?? null,
      users: () => users,
    },
    User: { __resolveReference: (ref: Ref) => userById.get(String(ref.id)) ?? null },
  },
  inventory: {
    Product: {
      __resolveReference: (ref: Ref) => ({ ...ref, upc: String(ref.upc) }),
      inStock: (p: Ref) => inStock(String(p.upc)),
      shippingEstimate: (p: Ref) => shippingEstimate(Number(p.price), Number(p.weight)),
    },
  },
  products: {
    Query: { topProducts: (_: unknown, { first }: { first: number }) => products.slice(0, first) },
    Product: { __resolveReference: (ref: Ref) => productByUpc.get(String(ref.upc)) ?? null },
  },
  reviews: {
    Review: {
      author: (r: ReviewRow) => ({ id: r.authorId, username: userById.get(r.authorId)?.username }),
      product: (r: ReviewRow) => ({ upc: r.productUpc }),
    },
    User: {
      __resolveReference: (ref: Ref) => ({ id: String(ref.id) }),
      reviews: (u: { id: string }) => (reviewsByAuthor.get(u.id) ?? []).map(reviewOut),
    },
    Product: {
      __resolveReference: (ref: Ref) => ({ upc: String(ref.upc) }),
      reviews: (p: { upc: string }) => (reviewsByProduct.get(p.upc) ?? []).map(reviewOut),
    },
  },
};

/** The executable subgraph schema of `name`. */
export function subgraphSchema(name: SubgraphName): GraphQLSchema {
  return buildSubgraphSchema({
    typeDefs: parse(SDL[name]),
    resolvers: RESOLVERS[name] as SubgraphResolvers,
  });
}
