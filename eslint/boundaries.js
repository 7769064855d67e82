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
 * Where a file being linted lives.
 * @param {string[]} parts repository-relative segments of the file
 * @returns {{ kind: 'subgraph' | 'gateway' | 'packages' | 'prisma' | 'other', feature?: string, label: string }}
 */
function areaOfFile(parts) {
  const [top, second] = parts;
  if (top === 'subgraphs' && parts.length >= 3) return { kind: 'subgraph', feature: second, label: `subgraphs/${second}` };
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
  const isRelative = specifier === '.' || specifier === '..' || specifier.startsWith('./') || specifier.startsWith('../');
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
    const options = context.options[0] ?? {};
    const root = path.resolve(options.root ?? context.cwd);
    const filename = context.physicalFilename ?? context.filename;
    if (!filename || !path.isAbsolute(filename)) return {};
    const fileParts = segmentsOf(root, filename);
    if (!fileParts || fileParts.length === 0) return {};

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
      else if (node.type === 'TemplateLiteral' && node.expressions.length === 0) specifier = node.quasis[0]?.value.cooked;
      if (typeof specifier !== 'string' || specifier === '') return;

      const target = targetOf(specifier, fileDir, root, isFeature);
      if (!target) return;
      const data = { source: specifier, from: area.label };

      if (target.kind === 'subgraph') {
        const to = `subgraphs/${target.feature}`;
        if (area.kind === 'subgraph') {
          if (area.feature !== target.feature) context.report({ node, messageId: 'crossFeature', data: { ...data, to } });
          return;
        }
        if (target.generated) {
          context.report({ node, messageId: 'generatedClient', data: { ...data, to } });
          return;
        }
        if (area.kind === 'packages') context.report({ node, messageId: 'sharedPackage', data: { ...data, to } });
        return;
      }

      if (target.kind === 'gateway') {
        if (area.kind === 'packages') context.report({ node, messageId: 'sharedPackage', data: { ...data, to: 'gateway' } });
        return;
      }

      if (target.kind === 'prisma-client') {
        if (area.kind !== 'subgraph' && area.kind !== 'prisma') context.report({ node, messageId: 'prismaClient', data });
      }
    }

    return {
      ImportDeclaration: (node) => check(node.source),
      ExportNamedDeclaration: (node) => check(node.source),
      ExportAllDeclaration: (node) => check(node.source),
      ImportExpression: (node) => check(node.source),
      TSImportEqualsDeclaration(node) {
        if (node.moduleReference?.type === 'TSExternalModuleReference') check(node.moduleReference.expression);
      },
      TSImportType(node) {
        check(node.source ?? node.argument?.literal);
      },
      CallExpression(node) {
        if (node.callee.type === 'Identifier' && node.callee.name === 'require' && node.arguments.length === 1) {
          check(node.arguments[0]);
        }
      },
    };
  },
};

const plugin = {
  meta: { name: 'carwash', version: '0.0.0' },
  rules: { 'feature-boundaries': featureBoundaries },
};

export default plugin;
