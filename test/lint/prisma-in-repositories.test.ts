/**
 * The `carwash/prisma-in-repositories` rule (eslint/boundaries.js): RuleTester cases for the rule alone
 * (model names read from the repository's real prisma/<feature>/schema.prisma, or the `models` option),
 * then the repository's own eslint.config.js: enabled for every feature but the temporary exemptions.
 * Files are virtual: the rule needs a path only to know where the code lives.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint, RuleTester } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import carwash from '../../eslint/boundaries.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const RULE = 'carwash/prisma-in-repositories';
const rule = carwash.rules['prisma-in-repositories'];
const file = (relative: string) => path.join(repoRoot, relative);
const options = [{ root: repoRoot }];

RuleTester.describe = describe;
RuleTester.it = it;
RuleTester.itOnly = it.only;
const tester = new RuleTester({
  languageOptions: { parser: tseslint.parser, ecmaVersion: 'latest', sourceType: 'module' },
});

describe('carwash/prisma-in-repositories (RuleTester)', () => {
  tester.run('prisma-in-repositories', rule, {
    valid: [
      {
        name: 'the repository calls models, raw SQL and $transaction',
        filename: file('subgraphs/location/src/repository.ts'),
        options,
        code: "import { Prisma } from './generated/prisma/client.js';\nexport const f = (db, tx) => Promise.all([db.$transaction(async (t) => t.washSite.findMany()), tx.$executeRaw`SELECT 1`, tx.staffAssignment.create({ data: {} }), Prisma]);\n",
      },
      {
        name: 'repositories/** and db.ts are the data layer too',
        filename: file('subgraphs/auth/src/repositories/users.ts'),
        options,
        code: "import { PrismaClient } from '../generated/prisma/client.js';\nexport const users = (tx) => tx.user.findMany({});\nexport { PrismaClient };\n",
      },
      {
        name: 'db.ts builds the client',
        filename: file('subgraphs/auth/src/db.ts'),
        options,
        code: "import { PrismaClient } from './generated/prisma/client.js';\nexport const db = new PrismaClient();\n",
      },
      {
        name: 'a service calls the repository and DataLoaders, and imports model types only with `import type`',
        filename: file('subgraphs/auth/src/service.ts'),
        options,
        code: [
          "import type { Prisma, User } from './generated/prisma/client.js';",
          "export type { Session } from './generated/prisma/client.js';",
          'export type Where = Prisma.UserWhereInput;',
          'export async function f(repo, ctx, tx): Promise<User | null> {',
          '  await repo.transaction(async (t) => repo.recordLogin(t, "id", new Date()));',
          '  await ctx.loaders.user.load("id");', // `user` is a model, `load` is no Prisma operation
          '  return repo.findUserById("id", tx);',
          '}',
          '',
        ].join('\n'),
      },
      {
        name: 'server.ts may disconnect the client it was handed (wiring, not data access)',
        filename: file('subgraphs/location/src/server.ts'),
        options,
        code: 'export const stop = async (db) => { await db.$disconnect(); };\n',
      },
      {
        name: 'a name that is a model elsewhere but not in this feature',
        filename: file('subgraphs/auth/src/service.ts'),
        options,
        code: 'export const f = (x) => x.washSite.findMany();\n',
      },
      {
        name: 'tests and files outside subgraphs/*/src are not this rule’s business',
        filename: file('subgraphs/location/test/location.int.test.ts'),
        options,
        code: 'export const f = (sut) => sut.db.staffAssignment.create({ data: {} });\n',
      },
      {
        name: 'the `models` option names the delegates when no schema exists yet',
        filename: file('subgraphs/fleet/src/service.ts'),
        options: [{ root: repoRoot, models: { fleet: ['Van'] } }],
        code: 'export const f = (x) => x.loaders.truck.findMany();\n',
      },
    ],
    invalid: [
      {
        name: 'the 21 kinds of call location/service.ts made: $transaction, tx.<model>.<op>, this.db.<model>.<op>',
        filename: file('subgraphs/location/src/service.ts'),
        options,
        code: [
          'export class S {',
          '  f(tx) {',
          '    return this.db.$transaction(async (t) => {',
          '      await t.washSite.findUnique({ where: { id: "x" } });',
          '      await t.operatingHours.deleteMany({});',
          '      await this.repo.db.staffAssignment.update({});',
          '    });',
          '  }',
          '}',
          '',
        ].join('\n'),
        errors: [
          { messageId: 'clientCall', data: { name: '$transaction' }, line: 3 },
          { messageId: 'modelCall', data: { model: 'washSite', operation: 'findUnique' }, line: 4 },
          { messageId: 'modelCall', data: { model: 'operatingHours', operation: 'deleteMany' }, line: 5 },
          { messageId: 'modelCall', data: { model: 'staffAssignment', operation: 'update' }, line: 6 },
        ],
      },
      {
        name: 'raw SQL as a call, as a tagged template, and through `!`, optional chaining, casts and brackets',
        filename: file('subgraphs/auth/src/recovery.ts'),
        options,
        code: [
          'export async function f(tx, db) {',
          '  await tx.$executeRaw`SELECT 1`;',
          "  await db.$queryRawUnsafe('SELECT 1');",
          '  await tx!.user.update({});',
          '  await tx?.session?.deleteMany({});',
          "  await (tx as never as { accountToken: { create(a: unknown): unknown } }).accountToken['create']({});",
          "  await db['$transaction']([]);",
          '}',
          '',
        ].join('\n'),
        errors: [
          { messageId: 'clientCall', line: 2 },
          { messageId: 'clientCall', line: 3 },
          { messageId: 'modelCall', data: { model: 'user', operation: 'update' }, line: 4 },
          { messageId: 'modelCall', data: { model: 'session', operation: 'deleteMany' }, line: 5 },
          { messageId: 'modelCall', data: { model: 'accountToken', operation: 'create' }, line: 6 },
          { messageId: 'clientCall', data: { name: '$transaction' }, line: 7 },
        ],
      },
      {
        name: 'a resolver querying a model itself (payment resolvers.ts today)',
        filename: file('subgraphs/payment/src/resolvers.ts'),
        options,
        code: 'export const list = (ctx) => ctx.db.transaction.findMany({ take: 500 });\n',
        errors: [{ messageId: 'modelCall', data: { model: 'transaction', operation: 'findMany' } }],
      },
      {
        name: 'value imports of the generated client in every form, and of @prisma/client',
        filename: file('subgraphs/auth/src/admin.ts'),
        options,
        code: [
          "import { Prisma } from './generated/prisma/client.js';",
          "import { type User } from './generated/prisma/client.js';", // still loads the module (verbatimModuleSyntax)
          "import * as client from '@carwash/auth/src/generated/prisma/client.js';",
          "export { PrismaClient } from './generated/prisma/client.js';",
          "export * from './generated/prisma/enums.js';",
          "export const load = () => import('./generated/prisma/client.js');",
          "import { PrismaClientKnownRequestError } from '@prisma/client/runtime/library';",
          'export { Prisma, client, PrismaClientKnownRequestError, type User };',
          '',
        ].join('\n'),
        errors: [1, 2, 3, 4, 5, 6, 7].map((line) => ({ messageId: 'importClient' as const, line })),
      },
      {
        name: 'a file deeper in src/ reaching up into generated/',
        filename: file('subgraphs/location/src/jobs/close.ts'),
        options,
        code: "import { PrismaClient } from '../generated/prisma/client.js';\nexport const db = new PrismaClient();\n",
        errors: [{ messageId: 'importClient', data: { source: '../generated/prisma/client.js' } }],
      },
      {
        name: 'the `models` option for a feature without a schema',
        filename: file('subgraphs/fleet/src/service.ts'),
        options: [{ root: repoRoot, models: { fleet: ['Van'] } }],
        code: 'export const f = (tx) => tx.van.upsert({});\n',
        errors: [{ messageId: 'modelCall', data: { model: 'van', operation: 'upsert' } }],
      },
    ],
  });
});

describe('eslint.config.js enables carwash/prisma-in-repositories', { timeout: 30_000 }, () => {
  const eslint = new ESLint({ cwd: repoRoot });
  const ruleMessages = async (filePath: string, code: string) => {
    const [result] = await eslint.lintText(code, { filePath, warnIgnored: true });
    return (result?.messages ?? []).filter((m) => m.ruleId === RULE).map((m) => m.message);
  };
  const offending =
    "import { Prisma } from './generated/prisma/client.js';\nexport const f = (tx: { user: { update(a: unknown): unknown } }) => [tx.user.update({}), Prisma];\n";

  it('reports a service of auth or location that uses Prisma, and says where the code goes', async () => {
    const messages = await ruleMessages('subgraphs/auth/src/service.ts', offending);
    expect(messages).toEqual([
      "'./generated/prisma/client.js': only repository.ts, repositories/** and db.ts import the Prisma client (as a value); take types from the repository, or use `import type`",
      "'user.update' is a Prisma model call: move it into the feature's repository (a method taking the transaction client) and call that",
    ]);
    expect(
      await ruleMessages(
        'subgraphs/location/src/resolvers.ts',
        'export const f = (db: { $transaction(): unknown }) => db.$transaction();\n',
      ),
    ).toHaveLength(1);
  });

  it('lets the repository do it', async () => {
    expect(await ruleMessages('subgraphs/auth/src/repository.ts', offending)).toEqual([]);
  });

  it('checks every feature: a payment resolver or a booking service using Prisma is reported too', async () => {
    const payment =
      'export const f = (ctx: { db: { transaction: { findMany(): unknown } } }) => ctx.db.transaction.findMany();\n';
    expect(await ruleMessages('subgraphs/payment/src/resolvers.ts', payment)).toHaveLength(1);
    expect(
      await ruleMessages(
        'subgraphs/booking/src/service.ts',
        'export const f = (db: { $transaction(): unknown }) => db.$transaction();\n',
      ),
    ).toHaveLength(1);
  });
});
