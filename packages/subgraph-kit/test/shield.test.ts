import { createRequire } from 'node:module';
import { applyMiddleware } from 'graphql-middleware';
import { AppError } from '@carwash/errors';
import { allow, and, chain, deny, not, or, race, rule, shield } from 'graphql-shield';
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
    // `amount` is non-null: its refusal nulls `charge`, and graphql-js stops at that first error when
    // the rule answered at once (one error), where an awaited rule lets `note` fail too (two).
    expect(res.data).toEqual({ charge: null });
    expect(codes(res).length).toBeGreaterThan(0);
    expect(new Set(codes(res))).toEqual(new Set(['UNAUTHENTICATED']));
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

/*
 * featureShield evaluates plain rules itself (synchronously where their checks are). Whatever it
 * answers must be what graphql-shield's own middleware answers for the same tree: the same data, the
 * same errors at the same paths, for every kind of check and combination, signed in and out.
 */
describe('featureShield against graphql-shield itself', () => {
  // A check answering anything (a Promise, an Error, a string, 1), typed as shield's rules are.
  const viewerRule = (answer: (signedIn: boolean) => unknown) =>
    rule({ cache: 'no_cache' })((_p, _a, ctx: { viewer: unknown }) => answer(!!ctx.viewer) as boolean);
  const checks = {
    yes: viewerRule(() => true),
    no: viewerRule(() => false),
    signedIn: viewerRule((s) => s),
    coded: viewerRule((s) => s || new AppError('UNAUTHENTICATED')),
    message: viewerRule((s) => (s ? true : 'sign in first')),
    throws: viewerRule(() => {
      throw new Error('a check that broke');
    }),
    truthy: viewerRule(() => 1),
    later: viewerRule(async (s) => s),
    laterCoded: viewerRule(async (s) => s || new AppError('FORBIDDEN')),
    rejects: viewerRule(() => Promise.reject(new Error('a check that failed later'))),
    parentIsMine: rule({ cache: 'no_cache' })(
      (p: { owner?: string }, _a, ctx: { viewer: { userId: string } | null }) =>
        p.owner === ctx.viewer?.userId,
    ),
  };
  const fields = {
    ...checks,
    orFirstError: or(checks.no, checks.coded, checks.message),
    orPasses: or(checks.throws, checks.signedIn),
    orLater: or(checks.no, checks.later),
    andAll: and(checks.yes, checks.signedIn),
    andErrors: and(checks.message, checks.coded),
    andLater: and(checks.later, checks.laterCoded),
    andDeny: and(checks.yes, deny),
    orAllow: or(deny, allow),
    nested: or(and(checks.signedIn, checks.parentIsMine), and(checks.coded, checks.no)),
    chained: chain(checks.signedIn, checks.coded),
    negated: not(checks.signedIn, new AppError('FORBIDDEN')),
    raced: race(checks.no, checks.later),
  };
  const names = Object.keys(fields);
  const sdl = `
    type Item { ${names.map((n) => `${n}: String`).join(' ')} fails: String failsLater: String unruled: String }
    type _Service { sdl: String }
    type Query { item: Item items: [Item] hidden: String _service: _Service _entities: [Int] }`;
  const itemRules = { ...fields, fails: checks.signedIn, failsLater: checks.later };
  const tree = { Query: { item: allow, items: allow }, Item: itemRules };
  const value = (owner: string) => ({
    ...Object.fromEntries(names.map((n) => [n, `${n} of ${owner}`])),
    owner,
    fails: () => {
      throw new AppError('BAD_USER_INPUT');
    },
    failsLater: async () => Promise.reject(new AppError('BAD_USER_INPUT')),
    unruled: 'x',
  });
  const rootValue = { item: value('u1'), items: [value('u1'), value('u2')] };
  const ours = applyMiddleware(buildSchema(sdl), featureShield(tree));
  const theirs = applyMiddleware(
    buildSchema(sdl),
    shield(
      {
        Query: { '*': deny, _service: allow, _entities: allow, ...tree.Query },
        Item: itemRules,
        _Service: allow,
      },
      { fallbackRule: deny, fallbackError: () => new AppError('FORBIDDEN'), allowExternalErrors: true },
    ),
  );
  const all = `{ hidden item { ${names.join(' ')} fails failsLater unruled } items { ${names.join(' ')} fails unruled } }`;
  const answer = async (schema: typeof ours, signedIn: boolean) => {
    const contextValue = { viewer: signedIn ? { userId: 'u1' } : null };
    const res = await execute({ schema, document: parse(all), rootValue, contextValue });
    return JSON.stringify({
      data: res.data,
      errors: (res.errors ?? [])
        .map((e) => ({ message: e.message, path: e.path?.join('.'), code: e.extensions.code }))
        .sort((a, b) => (a.path! < b.path! ? -1 : a.path! > b.path! ? 1 : 0)),
    });
  };

  it.each([true, false])('answers as graphql-shield does (signed in: %s)', async (signedIn) => {
    const expected = await answer(theirs, signedIn);
    expect(await answer(ours, signedIn)).toBe(expected);
    // The comparison has teeth: both layers refused some fields and passed others.
    expect(expected).toContain('"code":"FORBIDDEN"');
    expect(expected).toContain('yes of u1');
  });

  it('resolves a selection of synchronous checks without a promise', () => {
    const res = execute({
      schema: ours,
      document: parse('{ item { yes no signedIn coded orFirstError andAll nested } }'),
      rootValue,
      contextValue: { viewer: { userId: 'u1' } },
    });
    expect(res).not.toBeInstanceOf(Promise);
    expect((res as { data: { item: Record<string, unknown> } }).data.item.nested).toBe('nested of u1');
  });
});
