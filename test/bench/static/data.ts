/**
 * The static subgraphs' data: users, products and reviews, generated the same on every run (no clock,
 * no randomness), so a response can be byte-compared with a reference computed from the same rows.
 *
 * Sized for the nested workload: 10 users with 3 reviews each, 10 products with 3 reviews each, so
 * `users → reviews → product → reviews → author → reviews → product` fans out to 270 leaf products (~100 KB).
 */

export interface UserRow {
  id: string;
  name: string;
  username: string;
  birthday: number;
}

export interface ProductRow {
  upc: string;
  name: string;
  price: number;
  weight: number;
}

export interface ReviewRow {
  id: string;
  body: string;
  authorId: string;
  productUpc: string;
}

const USERS = 10;
const PRODUCTS = 10;
const REVIEWS = 30;

const FIRST = ['Ada', 'Grace', 'Linus', 'Barbara', 'Edsger', 'Frances', 'Ken', 'Radia', 'Dennis', 'Margaret'];
const LAST = ['Lovelace', 'Hopper', 'Torvalds', 'Liskov', 'Dijkstra', 'Allen', 'Thompson', 'Perlman'];
const THINGS = ['Foam wash', 'Wax polish', 'Tyre shine', 'Interior vacuum', 'Rim cleaner', 'Glass coat'];
const VERDICTS = [
  'Spotless finish and quick service, would book again for the family car',
  'Good value for money, but the queue was longer than the app had promised',
  'The staff were careful with the paint, the mirrors and the roof rack too',
  'Came out shining, the wheels especially; a little pricey for a weekday',
  'A fine wash overall, though a few drops were left on the roof and bonnet',
];

export const users: readonly UserRow[] = Array.from({ length: USERS }, (_, i) => ({
  id: `u${i + 1}`,
  name: `${FIRST[i % FIRST.length]} ${LAST[i % LAST.length]}`,
  username: `${FIRST[i % FIRST.length]!.toLowerCase()}${i + 1}`,
  birthday: 1_000_000_000 + i * 86_400 * 97,
}));

export const products: readonly ProductRow[] = Array.from({ length: PRODUCTS }, (_, i) => ({
  upc: `p${i + 1}`,
  name: `${THINGS[i % THINGS.length]} ${i + 1}`,
  price: 499 + ((i * 731) % 1500),
  weight: 100 + ((i * 37) % 900),
}));

export const reviews: readonly ReviewRow[] = Array.from({ length: REVIEWS }, (_, i) => ({
  id: `r${i + 1}`,
  body: `${VERDICTS[i % VERDICTS.length]} (visit ${i + 1}).`,
  authorId: users[i % USERS]!.id,
  productUpc: products[(i * 7) % PRODUCTS]!.upc,
}));

const byId = <T, K extends keyof T>(rows: readonly T[], key: K) => new Map(rows.map((r) => [r[key], r]));
export const userById = byId(users, 'id');
export const productByUpc = byId(products, 'upc');
export const reviewsByAuthor = groupBy(reviews, (r) => r.authorId);
export const reviewsByProduct = groupBy(reviews, (r) => r.productUpc);

function groupBy<T>(rows: readonly T[], keyOf: (row: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const row of rows) {
    const key = keyOf(row);
    const list = out.get(key) ?? [];
    list.push(row);
    out.set(key, list);
  }
  return out;
}

/** Inventory's rules, on the fields it `@requires` from products. */
export function inStock(upc: string): boolean {
  return Number(upc.slice(1)) % 3 !== 0;
}
export function shippingEstimate(price: number, weight: number): number {
  return price > 1000 ? 0 : Math.round(weight / 2);
}

// The same rows as one object graph, for a plain (non-federated) schema: the reference answers' source.
const userOut = (u: UserRow) => ({
  ...u,
  reviews: () => (reviewsByAuthor.get(u.id) ?? []).map(reviewOutOf),
});
const productOut = (p: ProductRow) => ({
  ...p,
  inStock: inStock(p.upc),
  shippingEstimate: shippingEstimate(p.price, p.weight),
  reviews: () => (reviewsByProduct.get(p.upc) ?? []).map(reviewOutOf),
});
const reviewOutOf = (r: ReviewRow) => ({
  id: r.id,
  body: r.body,
  author: () => userOut(userById.get(r.authorId)!),
  product: () => productOut(productByUpc.get(r.productUpc)!),
});

/** Root value of the supergraph's API schema over the object graph above (graphql-js default resolvers). */
export const graphRoot = {
  me: () => userOut(users[0]!),
  user: ({ id }: { id: string }) => {
    const u = userById.get(id);
    return u ? userOut(u) : null;
  },
  users: () => users.map(userOut),
  topProducts: ({ first }: { first: number }) => products.slice(0, first).map(productOut),
};
