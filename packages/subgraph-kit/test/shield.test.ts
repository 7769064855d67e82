import { createRequire } from 'node:module';
import { applyMiddleware } from 'graphql-middleware';
import { allow, deny } from 'graphql-shield';
import { describe, expect, it } from 'vitest';
import type { RequestContext } from '../src/server.js';
import { featureShield, isAuthenticated } from '../src/shield.js';

// graphql-middleware is CommonJS: use the CommonJS graphql it uses (as @apollo/subgraph does), not the ESM copy.
const { buildSchema, execute, parse } = createRequire(import.meta.url)('graphql') as typeof import('graphql');

/** A tiny stand-in for a subgraph: an allowed leaf type, a type with mixed rules, and one with none. */
const schema = applyMiddleware(
  buildSchema(`
    type Money { amountCents: Int! currency: String! }
    type Charge { id: ID! amount: Money! note: String secret: String }
    type Hidden { x: Int }
    type _Service { sdl: String }
    type Query { charge: Charge hidden: Hidden open: Int _service: _Service _entities: [Int] }
  `),
  featureShield({
    Query: { charge: allow, hidden: allow },
    Money: allow,
    Charge: { '*': isAuthenticated, id: allow, secret: deny },
  }),
);
const ROOT = {
  charge: { id: 'c1', amount: { amountCents: 500, currency: 'EUR' }, note: 'n', secret: 's' },
  hidden: { x: 1 },
  open: 1,
};

function run(query: string, signedIn: boolean) {
  const ctx = {
    requestId: 'r',
    viewer: signedIn ? { userId: 'u1', role: 'CLIENT', sessionId: 's' } : null,
    caller: 'gateway',
    clientIp: undefined,
    log: { warn: () => undefined },
  } as unknown as RequestContext;
  return execute({ schema, document: parse(query), rootValue: ROOT, contextValue: ctx });
}

const codes = (res: Awaited<ReturnType<typeof run>>) => (res.errors ?? []).map((e) => e.extensions.code);

describe(featureShield.name, () => {
  it('resolves fields under `allow` without a middleware: no promise for an allowed selection', () => {
    const res = run('{ charge { id } }', false);
    expect(res).not.toBeInstanceOf(Promise);
    expect(res).toEqual({ data: { charge: { id: 'c1' } } });
  });

  it('still guards the fields of a type-wide rule: a signed-out reader of a charge’s amount is told to sign in', async () => {
    const res = await run('{ charge { id amount { amountCents currency } note } }', false);
    expect(codes(res)).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED']);
    expect(JSON.stringify(res.data)).not.toContain('EUR');
  });

  it('serves an allowed type’s fields under a guarded parent once its rule passes', async () => {
    const res = await run('{ charge { amount { amountCents currency } note } }', true);
    expect(res).toEqual({ data: { charge: { amount: { amountCents: 500, currency: 'EUR' }, note: 'n' } } });
  });

  it('refuses a field ruled `deny` and every field of a type with no rules (the fallback), with FORBIDDEN', async () => {
    expect(codes(await run('{ charge { secret } }', true))).toEqual(['FORBIDDEN']);
    expect(codes(await run('{ hidden { x } }', true))).toEqual(['FORBIDDEN']);
    expect(codes(await run('{ open }', true))).toEqual(['FORBIDDEN']);
  });
});
