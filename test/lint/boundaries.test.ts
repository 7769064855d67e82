/**
 * The `carwash/feature-boundaries` rule (eslint/boundaries.js), exercised through the repository's own
 * eslint.config.js with ESLint's Node API. Files are virtual: `lintText` only needs a path to pick the
 * config and to resolve relative imports against, so none of these files has to exist.
 */
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const RULE = 'carwash/feature-boundaries';
const CROSS_FEATURE = "features meet through the gateway, the event bus or the owning feature's API";

const eslint = new ESLint({ cwd: repoRoot });

/** Every message ESLint reports for `code` at the repository-relative `filePath`. */
async function lint(
  filePath: string,
  code: string,
): Promise<Array<{ ruleId: string | null; message: string; line: number }>> {
  const [result] = await eslint.lintText(code, { filePath, warnIgnored: true });
  if (!result) throw new Error(`no lint result for ${filePath}`);
  return result.messages.map(({ ruleId, message, line }) => ({ ruleId, message, line }));
}

/** Only the boundary violations, as their messages. */
async function violations(filePath: string, code: string): Promise<string[]> {
  return (await lint(filePath, code)).filter((m) => m.ruleId === RULE).map((m) => m.message);
}

describe('carwash/feature-boundaries', { timeout: 30_000 }, () => {
  describe('(a) a subgraph never imports another subgraph', () => {
    /** The message for booking's service.ts importing `specifier`, which is auth's. */
    const bookingImportsAuth = (specifier: string) =>
      `'${specifier}': subgraphs/booking must not import subgraphs/auth: ${CROSS_FEATURE}`;

    it('reports a relative import that resolves into another feature', async () => {
      const code = "import { login } from '../../auth/src/service.js';\nexport { login };\n";
      expect(await violations('subgraphs/booking/src/service.ts', code)).toEqual([
        bookingImportsAuth('../../auth/src/service.js'),
      ]);
    });

    it("reports the other feature's package name, with or without a subpath", async () => {
      const code =
        "import { createServer } from '@carwash/auth';\nimport { hash } from '@carwash/auth/src/passwords.js';\nexport { createServer, hash };\n";
      expect(await violations('subgraphs/booking/src/service.ts', code)).toEqual([
        bookingImportsAuth('@carwash/auth'),
        bookingImportsAuth('@carwash/auth/src/passwords.js'),
      ]);
    });

    it('covers export-from, export *, dynamic import() and import type', async () => {
      const code = [
        "import type { User } from '../../auth/src/repository.js';",
        "export { verify } from '../../auth/src/tokens.js';",
        "export * from '../../auth/src/events.js';",
        "export const load = () => import('../../auth/src/loaders.js');",
        "export type Session = import('../../auth/src/service.js').Session;",
        'export type { User };',
        '',
      ].join('\n');
      const found = (await lint('subgraphs/booking/src/service.ts', code)).filter((m) => m.ruleId === RULE);
      expect(found.map((m) => m.line)).toEqual([1, 2, 3, 4, 5]);
      for (const { message } of found)
        expect(message).toContain('subgraphs/booking must not import subgraphs/auth');
    });

    it('reports a subgraph test reaching into another feature', async () => {
      const messages = await violations(
        'subgraphs/booking/test/service.test.ts',
        "import { login } from '../../auth/src/service.js';\nexport { login };\n",
      );
      expect(messages).toHaveLength(1);
    });
  });

  describe("(b) a feature's generated Prisma client stays inside that feature", () => {
    it('reports the gateway importing a generated client by path', async () => {
      const specifier = '../subgraphs/auth/src/generated/prisma/client.js';
      const messages = await violations(
        'gateway/supergraph.ts',
        `import { PrismaClient } from '${specifier}';\nexport { PrismaClient };\n`,
      );
      expect(messages).toHaveLength(1);
      expect(messages[0]).toContain(
        `'${specifier}': gateway must not import the generated Prisma client of subgraphs/auth`,
      );

      const fromSrc = await violations(
        'gateway/src/server.ts',
        "import type { User } from '../../subgraphs/auth/src/generated/prisma/client.js';\nexport type { User };\n",
      );
      expect(fromSrc).toHaveLength(1);
    });

    it('reports another subgraph, a package or an end-to-end test importing it by package name', async () => {
      const code =
        "import { PrismaClient } from '@carwash/auth/src/generated/prisma/client.js';\nexport { PrismaClient };\n";
      expect(await violations('test/e2e/login.test.ts', code)).toEqual([
        "'@carwash/auth/src/generated/prisma/client.js': test must not import the generated Prisma client of subgraphs/auth: a feature's database is private to it; go through the owning feature's API",
      ]);
      expect(await violations('packages/testing/src/db.ts', code)).toHaveLength(1);
      expect(await violations('subgraphs/booking/src/db.ts', code)).toHaveLength(1);
    });

    it('reports @prisma/client outside subgraphs/* and prisma/', async () => {
      const code =
        "import { Prisma } from '@prisma/client';\nimport type { PrismaClient } from '@prisma/client/runtime/library';\nexport { Prisma, type PrismaClient };\n";
      for (const file of [
        'gateway/src/server.ts',
        'packages/testing/src/db.ts',
        'test/e2e/login.test.ts',
        'scripts/dev.ts',
      ]) {
        const messages = await violations(file, code);
        expect(messages, file).toHaveLength(2);
        expect(messages[0]).toContain("'@prisma/client':");
        expect(messages[0]).toContain('must not import @prisma/client directly');
      }
    });
  });

  describe('(c) shared packages hold no feature logic', () => {
    it('reports packages/* importing a subgraph or the gateway', async () => {
      const code = [
        "import { login } from '../../../subgraphs/auth/src/service.js';",
        "import { createServer } from '@carwash/auth';",
        "import { startGateway } from '@carwash/gateway';",
        "import { buildGateway } from '../../../gateway/src/server.js';",
        'export { login, createServer, startGateway, buildGateway };',
        '',
      ].join('\n');
      const messages = await violations('packages/errors/src/x.ts', code);
      expect(messages).toHaveLength(4);
      expect(messages[0]).toBe(
        "'../../../subgraphs/auth/src/service.js': packages/errors must not import subgraphs/auth: shared libraries hold no feature logic, so packages/* never depend on subgraphs/* or the gateway",
      );
      expect(messages[2]).toContain('packages/errors must not import gateway');
    });
  });

  describe('allowed imports', () => {
    it.each([
      [
        'a feature use its own generated client, @prisma/client and shared packages',
        'subgraphs/auth/src/db.ts',
        [
          "import { PrismaClient } from './generated/prisma/client.js';",
          "import type { User } from '@carwash/auth/src/generated/prisma/client.js';",
          "import { Prisma } from '@prisma/client';",
          "import { AppError } from '@carwash/errors';",
          "import { login } from './service.js';",
          'export { PrismaClient, Prisma, AppError, login, type User };',
          '',
        ].join('\n'),
      ],
      [
        "a feature's test use the feature's generated client",
        'subgraphs/auth/test/db.test.ts',
        "import { PrismaClient } from '../src/generated/prisma/client.js';\nexport { PrismaClient };\n",
      ],
      [
        'a feature use shared packages',
        'subgraphs/booking/src/service.ts',
        "import { AppError } from '@carwash/errors';\nimport { createSubgraphServer } from '@carwash/subgraph-kit';\nexport { AppError, createSubgraphServer };\n",
      ],
      [
        'the gateway use packages',
        'gateway/src/server.ts',
        "import { AppError } from '@carwash/errors';\nexport { AppError };\n",
      ],
      [
        "an end-to-end test use a feature's package",
        'test/e2e/login.test.ts',
        "import { createServer } from '@carwash/auth';\nexport { createServer };\n",
      ],
      [
        'a package use another package by path',
        'packages/subgraph-kit/src/x.ts',
        "import { AppError } from '../../errors/src/index.js';\nexport { AppError };\n",
      ],
      [
        'prisma/ use @prisma/client',
        'prisma/seed.ts',
        "import { Prisma } from '@prisma/client';\nexport { Prisma };\n",
      ],
    ])('lets %s', async (_what, filePath, code) => {
      expect(await lint(filePath, code)).toEqual([]);
    });
  });
});

describe('eslint.config.js', { timeout: 30_000 }, () => {
  it('lints TypeScript and the lint tooling, and nothing generated or non-TypeScript', async () => {
    for (const file of [
      'subgraphs/auth/src/service.ts',
      'test/lint/boundaries.test.ts',
      'eslint.config.js',
      'eslint/boundaries.js',
    ]) {
      expect(await eslint.isPathIgnored(file), file).toBe(false);
    }
    for (const file of [
      'subgraphs/auth/src/generated/prisma/client.ts',
      'node_modules/typescript/lib/typescript.d.ts',
      'subgraphs/auth/src/schema.graphql',
      'prisma/auth/schema.prisma',
      'schema/subgraphs.json',
      'scripts/build.js',
    ]) {
      expect(await eslint.isPathIgnored(file), file).toBe(true);
    }
  });

  it('allows _-prefixed unused variables and arguments, and rejects explicit any', async () => {
    const code =
      'export function handler(_req: unknown, res: string): string {\n  const _unused = 1;\n  return res;\n}\nexport const bad = (x: any) => x;\n';
    const messages = await lint('subgraphs/auth/src/handler.ts', code);
    expect(messages.map((m) => m.ruleId)).toEqual(['@typescript-eslint/no-explicit-any']);
  });
});
