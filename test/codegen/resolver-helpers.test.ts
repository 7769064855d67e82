/**
 * `shareResolverHelpers` (scripts/resolver-helpers.ts): the helper block typescript-resolvers writes into
 * every subgraph's resolver types is cut out only when it is the same everywhere, and each file then
 * imports the names it uses from the shared module.
 */
import { describe, expect, it } from 'vitest';
import { HELPERS_MODULE, shareResolverHelpers } from '../../scripts/resolver-helpers.js';

const block = (resolveInfo = 'GraphQLResolveInfo') => `export type ResolverTypeWrapper<T> = Promise<T> | T;

export type ResolverFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  info: ${resolveInfo}
) => Promise<TResult> | TResult;

export type DirectiveResolverFn<TResult = Record<PropertyKey, never>> = (
  next: () => Promise<TResult>,
) => TResult | Promise<TResult>;
`;

const generated = (helpers: string, rest = 'export type BookingResolvers = { id?: ResolverFn<string> };\n') =>
  [
    '// Generated. Do not edit.',
    "import type { GraphQLResolveInfo, GraphQLScalarType } from 'graphql';",
    'export type Maybe<T> = T | null;',
    '',
    helpers,
    rest,
  ].join('\n');

describe(shareResolverHelpers.name, () => {
  it('replaces the block by an import of the names the file still uses and writes it once', () => {
    const { files, helpers } = shareResolverHelpers(
      new Map([
        ['a.ts', generated(block())],
        ['b.ts', generated(block(), 'export type Wrapped = ResolverTypeWrapper<number>;\n')],
      ]),
    );
    expect(helpers).toContain(block());
    expect(helpers).toContain("import type { GraphQLResolveInfo } from 'graphql';");
    expect(files.get('a.ts')).not.toContain('export type ResolverFn');
    expect(files.get('a.ts')).toContain(`import type { ResolverFn } from '${HELPERS_MODULE}';`);
    expect(files.get('b.ts')).toContain(`import type { ResolverTypeWrapper } from '${HELPERS_MODULE}';`);
    // GraphQLResolveInfo was used by the block only.
    expect(files.get('a.ts')).toContain("import type { GraphQLScalarType } from 'graphql';");
  });

  it('refuses blocks that differ between files (a codegen upgrade or option must not drift silently)', () => {
    expect(() =>
      shareResolverHelpers(
        new Map([
          ['a.ts', generated(block())],
          ['b.ts', generated(block('MyResolveInfo'))],
        ]),
      ),
    ).toThrow(/b\.ts: its resolver helper block differs from a\.ts's/);
  });

  it('refuses a file in which the block is no longer found', () => {
    expect(() => shareResolverHelpers(new Map([['a.ts', generated('')]]))).toThrow(
      /a\.ts: the resolver helper block was not found/,
    );
  });
});
