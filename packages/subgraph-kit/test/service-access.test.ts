import { createRequire } from 'node:module';
import { applyMiddleware } from 'graphql-middleware';
import { describe, expect, it } from 'vitest';
import { actsOnOwnAuthority, serviceAccessMiddleware, type ServiceAccess } from '../src/service-access.js';
import { CacheHints } from '../src/cache-hints.js';
import type { RequestContext } from '../src/server.js';

// graphql-middleware is CommonJS: use the CommonJS graphql it uses (as @apollo/subgraph does), not the ESM copy.
const { buildSchema, graphql } = createRequire(import.meta.url)('graphql') as typeof import('graphql');
const ACCESS: ServiceAccess = { booking: { Query: ['user', 'entities'], User: ['id', 'role'] } };
/**
 * A tiny stand-in for a subgraph: a user with a private field, a root secret, a vault reachable only
 * through a listed union field (as `_entities` reaches entity types), and public slots no sibling lists.
 */
const schema = applyMiddleware(
  buildSchema(`
    type User { id: ID! role: String! email: String! }
    type Vault { code: String! }
    type Slot { at: String! }
    union Entity = User | Vault
    type Query { user: User secret: String entities: [Entity] slots: [Slot] }
  `),
  serviceAccessMiddleware(ACCESS),
);
const ROOT = {
  user: { id: 'u1', role: 'CLIENT', email: 'u1@example.test' },
  secret: 's',
  entities: [{ __typename: 'Vault', code: 'v1' }],
  slots: [{ at: '09:00' }],
};
const silent = { warn: () => undefined } as unknown as RequestContext['log'];

async function run(caller: string, query: string) {
  const ctx: RequestContext = {
    requestId: 'r',
    viewer: null,
    caller,
    clientIp: undefined,
    log: silent,
    cache: new CacheHints(),
  };
  const res = await graphql({ schema, source: query, rootValue: ROOT, contextValue: ctx });
  return { data: res.data, codes: (res.errors ?? []).map((e) => e.extensions.code) };
}

describe(serviceAccessMiddleware.name, () => {
  it('lets a service read exactly its listed fields', async () => {
    expect(await run('booking', '{ user { id role } }')).toEqual({
      data: { user: { id: 'u1', role: 'CLIENT' } },
      codes: [],
    });
  });

  it('refuses a service a field outside its list, with SERVICE_ACCESS_DENIED', async () => {
    const res = await run('booking', '{ user { id email } }');
    expect(res.codes).toEqual(['SERVICE_ACCESS_DENIED']);
    expect(JSON.stringify(res.data)).not.toContain('@');
  });

  it('refuses a service with no list everything, root fields included', async () => {
    expect((await run('payment', '{ user { id } }')).codes).toEqual(['SERVICE_ACCESS_DENIED']);
  });

  it('checks the types a listed union field reaches (as _entities reaches entity types)', async () => {
    const res = await run('booking', '{ entities { ... on Vault { code } } }');
    expect(res.codes).toEqual(['SERVICE_ACCESS_DENIED']);
    expect(JSON.stringify(res.data)).not.toContain('v1');
  });

  it('refuses the field above a type no sibling reaches, and leaves that type unwrapped', async () => {
    const res = await run('booking', '{ slots { at } }');
    expect(res).toEqual({ data: { slots: null }, codes: ['SERVICE_ACCESS_DENIED'] });
    const fields = (type: string) =>
      (schema.getType(type) as unknown as { getFields(): Record<string, { resolve?: unknown }> }).getFields();
    // Slot is returned by no listed field: its scalars resolve as graphql's default, no wrapper per value.
    expect(fields('Slot').at!.resolve).toBeUndefined();
    expect(fields('Vault').code!.resolve).toBeTypeOf('function');
    expect(fields('User').email!.resolve).toBeTypeOf('function');
    expect(await run('gateway', '{ slots { at } }')).toEqual({
      data: { slots: [{ at: '09:00' }] },
      codes: [],
    });
  });

  it('leaves the gateway to the per-user rules (no allow-list for it)', async () => {
    expect(await run('gateway', '{ user { id email } secret }')).toEqual({
      data: { user: { id: 'u1', email: 'u1@example.test' }, secret: 's' },
      codes: [],
    });
  });
});

describe(actsOnOwnAuthority.name, () => {
  it('is true only for a sibling service calling without a user', () => {
    expect(actsOnOwnAuthority({ caller: 'booking', viewer: null })).toBe(true);
    expect(
      actsOnOwnAuthority({ caller: 'booking', viewer: { userId: 'u1', role: 'CLIENT', sessionId: 's1' } }),
    ).toBe(false);
    expect(actsOnOwnAuthority({ caller: 'gateway', viewer: null })).toBe(false);
  });
});
