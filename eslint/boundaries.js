/**
 * Local ESLint plugin: the architectural boundaries of the car-wash supergraph.
 *
 * Rule `carwash/feature-boundaries` reports
 *  (a) a file in subgraphs/<A>/ importing anything that resolves into subgraphs/<B>/ (B ≠ A), by relative
 *      path or by the package name `@carwash/<B>` — features meet through the gateway, the event bus or the
 *      owning feature's API, never through each other's modules;
 *  (b) a file outside subgraphs/<A>/ importing that feature's generated Prisma client (a path into
 *      subgraphs/<A>/src/generated/, or `@carwash/<A>/…generated…`), and `@prisma/client` imported directly
 *      anywhere outside subgraphs/* and prisma/ — a feature's database is private to that feature;
 *  (c) packages/* importing subgraphs/* or the gateway — shared libraries hold no feature logic.
 *
 * Rule `carwash/prisma-in-repositories` keeps Prisma inside each feature's data layer: in
 * subgraphs/<A>/src/, every file but repository.ts, repositories/**, db.ts (and generated/**) must not
 *  (a) import a Prisma client as a value — the feature's generated client (`./generated/…`,
 *      `@carwash/<A>/…generated…`) or `@prisma/client`. `import type` / `export type` are allowed: they
 *      are erased, cannot reach the database, and generated resolver types map to Prisma models;
 *      `import { type X }` is not, since it still loads the module under verbatimModuleSyntax;
 *  (b) call the client's data methods (`$transaction`, `$queryRaw`, `$executeRaw`, … — also as tagged
 *      templates) on anything, or a model operation `<x>.<model>.<op>(…)` where <model> is a model
 *      delegate of the feature (read from prisma/<A>/schema.prisma, or the `models` option) and <op>
 *      a Prisma operation (findMany, create, update, deleteMany, count, …). Syntactic, so it misses a
 *      delegate first stored in a variable (`const u = tx.user; u.update(…)`); that is rare and
 *      reviewable, and the rule stays fast (no type information).
 *
 * Import forms: `import` (including `import type`), `export … from`, `export * from`, `import('…')` with a
 * string literal (or a template literal without expressions), `import x = require('…')`, `require('…')`
 * and type-level `import('…')`.
 *
 * Options: `{ root?: string, features?: string[] }`. `root` is the repository root (default: ESLint's cwd);
 * `features` names extra subgraph folders to treat as features before they exist on disk. A package name
 * `@carwash/<name>` counts as a feature when `<root>/subgraphs/<name>` is a directory or `<name>` is listed.
 */
import fs from 'node:fs';
import path from 'node:path';

const SCOPE = '@carwash/';
const PRISMA_CLIENT_PACKAGES = ['@prisma/client', '.prisma/client'];

/** @param {string} dir */
function isDirectory(dir) {
  try {
    return fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The repository-relative path segments of an absolute path, or null when it lies outside the root.
 * @param {string} root
 * @param {string} absolute
 */
function segmentsOf(root, absolute) {
  const rel = path.relative(root, absolute);
  if (rel === '') return [];
  if (rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) return null;
  return rel.split(path.sep).filter(Boolean);
}

/**
 * A rule's options and the file being linted: its path, and its segments relative to the repository root
 * (`options.root`, else ESLint's working directory). Null for a file the rules cannot place: one with no
 * path on disk, or one outside the root.
 * @param {import('eslint').Rule.RuleContext} context
 */
function lintedFile(context) {
  const options = context.options[0] ?? {};
  const root = path.resolve(options.root ?? context.cwd);
  const filename = context.physicalFilename ?? context.filename;
  if (!filename || !path.isAbsolute(filename)) return null;
  const parts = segmentsOf(root, filename);
  return parts ? { options, root, filename, parts } : null;
}

/**
 * Where a file being linted lives.
 * @param {string[]} parts repository-relative segments of the file
 * @returns {{ kind: 'subgraph' | 'gateway' | 'packages' | 'prisma' | 'other', feature?: string, label: string }}
 */
function areaOfFile(parts) {
  const [top, second] = parts;
  if (top === 'subgraphs' && parts.length >= 3)
    return { kind: 'subgraph', feature: second, label: `subgraphs/${second}` };
  if (top === 'packages' && parts.length >= 3) return { kind: 'packages', label: `packages/${second}` };
  if (top === 'gateway' && parts.length >= 2) return { kind: 'gateway', label: 'gateway' };
  if (top === 'prisma' && parts.length >= 2) return { kind: 'prisma', label: 'prisma' };
  if (parts.length >= 2) return { kind: 'other', label: top };
  return { kind: 'other', label: top ?? '(repository root)' };
}

/** @param {string[]} segments */
function mentionsGenerated(segments) {
  return segments.some((s) => s.includes('generated'));
}

/**
 * What an import specifier points at, as far as the boundaries care; null when it does not matter.
 * @returns {null | { kind: 'subgraph', feature: string, generated: boolean }
 *                | { kind: 'gateway' } | { kind: 'packages' } | { kind: 'prisma-client' }}
 */
function targetOf(specifier, fileDir, root, isFeature) {
  const isRelative =
    specifier === '.' || specifier === '..' || specifier.startsWith('./') || specifier.startsWith('../');
  if (isRelative || path.isAbsolute(specifier)) {
    const parts = segmentsOf(root, path.resolve(fileDir, specifier));
    if (!parts || parts.length === 0) return null;
    const [top, second] = parts;
    if (top === 'subgraphs' && second) {
      return { kind: 'subgraph', feature: second, generated: mentionsGenerated(parts.slice(2)) };
    }
    if (top === 'gateway') return { kind: 'gateway' };
    if (top === 'packages') return { kind: 'packages' };
    return null;
  }

  if (PRISMA_CLIENT_PACKAGES.some((p) => specifier === p || specifier.startsWith(`${p}/`))) {
    return { kind: 'prisma-client' };
  }

  if (specifier.startsWith(SCOPE)) {
    const [name, ...rest] = specifier.slice(SCOPE.length).split('/');
    if (!name) return null;
    if (name === 'gateway') return { kind: 'gateway' };
    if (isFeature(name)) return { kind: 'subgraph', feature: name, generated: mentionsGenerated(rest) };
  }
  return null;
}

/** @type {import('eslint').Rule.RuleModule} */
const featureBoundaries = {
  meta: {
    type: 'problem',
    docs: {
      description:
        'Keep features apart: no cross-subgraph imports, no foreign generated Prisma clients, no feature code in shared packages',
    },
    schema: [
      {
        type: 'object',
        properties: {
          root: { type: 'string' },
          features: { type: 'array', items: { type: 'string' }, uniqueItems: true },
        },
        additionalProperties: false,
      },
    ],
    messages: {
      crossFeature:
        "'{{source}}': {{from}} must not import {{to}}: features meet through the gateway, the event bus or the owning feature's API",
      generatedClient:
        "'{{source}}': {{from}} must not import the generated Prisma client of {{to}}: a feature's database is private to it; go through the owning feature's API",
      prismaClient:
        "'{{source}}': {{from}} must not import @prisma/client directly: only subgraphs/* (through their own generated client) and prisma/ talk to Prisma",
      sharedPackage:
        "'{{source}}': {{from}} must not import {{to}}: shared libraries hold no feature logic, so packages/* never depend on subgraphs/* or the gateway",
    },
  },

  create(context) {
    const file = lintedFile(context);
    if (!file || file.parts.length === 0) return {};
    const { options, root, filename, parts: fileParts } = file;

    const area = areaOfFile(fileParts);
    const fileDir = path.dirname(filename);
    const listed = new Set(options.features ?? []);
    /** @type {Map<string, boolean>} */
    const known = new Map();
    const isFeature = (name) => {
      if (listed.has(name)) return true;
      if (!known.has(name)) known.set(name, isDirectory(path.join(root, 'subgraphs', name)));
      return known.get(name);
    };

    /** @param {any} node a string literal (or expression-free template literal) naming a module */
    function check(node) {
      if (!node) return;
      let specifier;
      if (node.type === 'Literal' && typeof node.value === 'string') specifier = node.value;
      else if (node.type === 'TemplateLiteral' && node.expressions.length === 0)
        specifier = node.quasis[0]?.value.cooked;
      if (typeof specifier !== 'string' || specifier === '') return;

      const target = targetOf(specifier, fileDir, root, isFeature);
      if (!target) return;
      const data = { source: specifier, from: area.label };

      if (target.kind === 'subgraph') {
        const to = `subgraphs/${target.feature}`;
        if (area.kind === 'subgraph') {
          if (area.feature !== target.feature)
            context.report({ node, messageId: 'crossFeature', data: { ...data, to } });
          return;
        }
        if (target.generated) {
          context.report({ node, messageId: 'generatedClient', data: { ...data, to } });
          return;
        }
        if (area.kind === 'packages')
          context.report({ node, messageId: 'sharedPackage', data: { ...data, to } });
        return;
      }

      if (target.kind === 'gateway') {
        if (area.kind === 'packages')
          context.report({ node, messageId: 'sharedPackage', data: { ...data, to: 'gateway' } });
        return;
      }

      if (target.kind === 'prisma-client') {
        if (area.kind !== 'subgraph' && area.kind !== 'prisma')
          context.report({ node, messageId: 'prismaClient', data });
      }
    }

    return {
      ImportDeclaration: (node) => check(node.source),
      ExportNamedDeclaration: (node) => check(node.source),
      ExportAllDeclaration: (node) => check(node.source),
      ImportExpression: (node) => check(node.source),
      TSImportEqualsDeclaration(node) {
        if (node.moduleReference?.type === 'TSExternalModuleReference')
          check(node.moduleReference.expression);
      },
      TSImportType(node) {
        check(node.source ?? node.argument?.literal);
      },
      CallExpression(node) {
        if (
          node.callee.type === 'Identifier' &&
          node.callee.name === 'require' &&
          node.arguments.length === 1
        ) {
          check(node.arguments[0]);
        }
      },
    };
  },
};

/** A feature folder's Prisma schema: where the rule reads the model names from. */
const schemaPathOf = (root, feature) => path.join(root, 'prisma', feature, 'schema.prisma');

/**
 * The Prisma client's own methods that reach the database (lifecycle calls such as `$disconnect` are
 * wiring, not data access, and stay allowed in server.ts).
 */
const CLIENT_METHODS = new Set([
  '$transaction',
  '$queryRaw',
  '$queryRawUnsafe',
  '$queryRawTyped',
  '$executeRaw',
  '$executeRawUnsafe',
  '$runCommandRaw',
  '$extends',
]);

/** Every operation of a Prisma model delegate (`db.user.findMany`, `tx.washSite.update`, …). */
const MODEL_OPERATIONS = new Set([
  'findUnique',
  'findUniqueOrThrow',
  'findFirst',
  'findFirstOrThrow',
  'findMany',
  'create',
  'createMany',
  'createManyAndReturn',
  'update',
  'updateMany',
  'updateManyAndReturn',
  'upsert',
  'delete',
  'deleteMany',
  'count',
  'aggregate',
  'groupBy',
]);

/** `WashSite` → `washSite`: the name of a model's delegate on the client. */
const delegateName = (model) => model.charAt(0).toLowerCase() + model.slice(1);

/** @type {Map<string, Set<string> | null>} schema path → delegate names (null: no schema there) */
const delegatesCache = new Map();

/** The model delegates of a feature, read from `prisma/<feature>/schema.prisma` (cached per lint run). */
function delegatesOf(root, feature) {
  const file = schemaPathOf(root, feature);
  if (!delegatesCache.has(file)) {
    let names;
    try {
      const text = fs.readFileSync(file, 'utf8');
      names = new Set(
        [...text.matchAll(/^\s*model\s+([A-Za-z_][A-Za-z0-9_]*)\s*\{/gm)].map((m) => delegateName(m[1])),
      );
    } catch {
      names = null;
    }
    delegatesCache.set(file, names);
  }
  return delegatesCache.get(file);
}

/** The name of a member expression's property: `a.b` and `a['b']`; null when computed from a value. */
function propertyName(member) {
  if (member.type !== 'MemberExpression') return null;
  if (!member.computed && member.property.type === 'Identifier') return member.property.name;
  if (member.computed && member.property.type === 'Literal' && typeof member.property.value === 'string')
    return member.property.value;
  return null;
}

/** Strips `a!`, `(a as T)`, `a satisfies T` and `a?.b` wrappers around an expression. */
function unwrap(node) {
  let n = node;
  while (
    n &&
    (n.type === 'TSNonNullExpression' ||
      n.type === 'TSAsExpression' ||
      n.type === 'TSSatisfiesExpression' ||
      n.type === 'ChainExpression' ||
      n.type === 'TSTypeAssertion')
  ) {
    n = n.expression;
  }
  return n;
}

/** Is the file one of the places Prisma may be used: repository.ts, repositories/**, db.ts (and generated/**)? */
function isRepositoryFile(srcParts) {
  const [first] = srcParts;
  if (srcParts.length === 1) return /^(repository|db)\.[cm]?tsx?$/.test(first);
  return first === 'repositories' || first === 'generated';
}

/** @type {import('eslint').Rule.RuleModule} */
const prismaInRepositories = {
  meta: {
    type: 'problem',
    docs: {
      description:
        "Only a feature's repository.ts, repositories/** and db.ts use its Prisma client: no value import of the generated client, no model or raw-SQL calls elsewhere in subgraphs/*/src",
    },
    schema: [
      {
        type: 'object',
        properties: {
          root: { type: 'string' },
          models: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } },
        },
        additionalProperties: false,
      },
    ],
    messages: {
      importClient:
        "'{{source}}': only repository.ts, repositories/** and db.ts import the Prisma client (as a value); take types from the repository, or use `import type`",
      clientCall:
        "'{{name}}' is Prisma data access: move it into the feature's repository (a method taking the transaction client) and call that",
      modelCall:
        "'{{model}}.{{operation}}' is a Prisma model call: move it into the feature's repository (a method taking the transaction client) and call that",
    },
  },

  create(context) {
    const file = lintedFile(context);
    if (!file) return {};
    const { options, root, filename, parts } = file;
    if (parts.length < 4 || parts[0] !== 'subgraphs' || parts[2] !== 'src') return {};
    const feature = parts[1];
    if (isRepositoryFile(parts.slice(3))) return {};

    const fileDir = path.dirname(filename);
    const generatedDir = path.join(root, 'subgraphs', feature, 'src', 'generated');
    const listed = options.models?.[feature];
    const delegates = listed ? new Set(listed.map(delegateName)) : delegatesOf(root, feature);

    /** Does this specifier name a Prisma client (the feature's generated one, or the packages)? */
    function isPrismaClient(specifier) {
      if (PRISMA_CLIENT_PACKAGES.some((p) => specifier === p || specifier.startsWith(`${p}/`))) return true;
      if (specifier.startsWith('.') || path.isAbsolute(specifier)) {
        const target = path.resolve(fileDir, specifier);
        return target === generatedDir || target.startsWith(`${generatedDir}${path.sep}`);
      }
      if (specifier.startsWith(`${SCOPE}${feature}/`))
        return mentionsGenerated(specifier.split('/').slice(2));
      return false;
    }

    /** Reports a value import of a Prisma client; `import type` / `export type` are erased and allowed. */
    function checkImport(node, source, typeOnly) {
      if (typeOnly || !source || source.type !== 'Literal' || typeof source.value !== 'string') return;
      if (isPrismaClient(source.value))
        context.report({ node: source, messageId: 'importClient', data: { source: source.value } });
    }

    /** Reports `x.$transaction(…)`-style and `x.<model>.<operation>(…)` calls. */
    function checkCallee(node, callee) {
      const member = unwrap(callee);
      const name = propertyName(member);
      if (!name) return;
      if (CLIENT_METHODS.has(name)) {
        context.report({ node, messageId: 'clientCall', data: { name } });
        return;
      }
      if (!MODEL_OPERATIONS.has(name) || !delegates) return;
      const model = propertyName(unwrap(member.object));
      if (model && delegates.has(model))
        context.report({ node, messageId: 'modelCall', data: { model, operation: name } });
    }

    return {
      ImportDeclaration(node) {
        checkImport(node, node.source, node.importKind === 'type');
      },
      ExportNamedDeclaration(node) {
        checkImport(node, node.source, node.exportKind === 'type');
      },
      ExportAllDeclaration(node) {
        checkImport(node, node.source, node.exportKind === 'type');
      },
      ImportExpression(node) {
        checkImport(node, node.source, false);
      },
      TSImportEqualsDeclaration(node) {
        if (node.moduleReference?.type === 'TSExternalModuleReference')
          checkImport(node, node.moduleReference.expression, node.importKind === 'type');
      },
      CallExpression(node) {
        if (
          node.callee.type === 'Identifier' &&
          node.callee.name === 'require' &&
          node.arguments.length === 1
        )
          checkImport(node, node.arguments[0], false);
        checkCallee(node, node.callee);
      },
      TaggedTemplateExpression(node) {
        checkCallee(node, node.tag);
      },
    };
  },
};

const plugin = {
  meta: { name: 'carwash', version: '0.0.0' },
  rules: { 'feature-boundaries': featureBoundaries, 'prisma-in-repositories': prismaInRepositories },
};

export default plugin;
