import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parse, validate, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';

/**
 * Trusted documents: one Apollo persisted-query manifest per client, `schema/persisted-queries/<client>.json`,
 * in the format `@apollo/generate-persisted-query-manifest` writes. The gateway loads them (and reloads
 * them on change); `pnpm compose:check` validates every operation against the composed API schema.
 */
export const PERSISTED_QUERIES_DIR = 'schema/persisted-queries';
export const MANIFEST_FORMAT = 'apollo-persisted-query-manifest';

export interface PersistedOperation {
  /** SHA-256 of `body`, hex: what a client sends as `extensions.persistedQuery.sha256Hash`. */
  id: string;
  name: string;
  type: 'query' | 'mutation' | 'subscription';
  body: string;
}

export interface Manifest {
  /** The file name without `.json`: a partner key's `client`, or a first-party app's name. */
  client: string;
  operations: ReadonlyMap<string, PersistedOperation>;
}

export interface ManifestProblem {
  client: string;
  /** The operation's name, when the problem is one operation's. */
  operation?: string;
  message: string;
}

/** A manifest's file name must be a client name: lower-case letters, digits, `-`, `_` (no dots, no paths). */
const CLIENT_FILE = /^([a-z0-9][a-z0-9_-]{0,62})\.json$/;
const TYPES = new Set(['query', 'mutation', 'subscription']);

/** Parses one manifest; throws with a message naming what is wrong (an id that is not its body's hash too). */
export function parseManifest(client: string, text: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error('not valid JSON');
  }
  const m = json as { format?: unknown; version?: unknown; operations?: unknown };
  if (!m || typeof m !== 'object' || m.format !== MANIFEST_FORMAT || m.version !== 1)
    throw new Error(`not a manifest: expected {"format":"${MANIFEST_FORMAT}","version":1,…}`);
  if (!Array.isArray(m.operations)) throw new Error('`operations` must be an array');
  const operations = new Map<string, PersistedOperation>();
  for (const [i, raw] of m.operations.entries()) {
    const op = raw as Partial<Record<keyof PersistedOperation, unknown>>;
    if (
      !op ||
      typeof op.id !== 'string' ||
      typeof op.name !== 'string' ||
      typeof op.body !== 'string' ||
      typeof op.type !== 'string' ||
      !TYPES.has(op.type)
    )
      throw new Error(
        `operations[${i}] needs string id, name, body and a type (query, mutation, subscription)`,
      );
    const hash = createHash('sha256').update(op.body).digest('hex');
    if (op.id !== hash) throw new Error(`operation ${op.name}: id is not the SHA-256 of its body`);
    operations.set(op.id, op as PersistedOperation);
  }
  return { client, operations };
}

/**
 * Every manifest in `dir`. A file that does not parse is reported, never half-loaded; a missing folder
 * is no manifests.
 */
export function readManifests(dir: string): {
  manifests: Map<string, Manifest>;
  problems: ManifestProblem[];
} {
  const manifests = new Map<string, Manifest>();
  const problems: ManifestProblem[] = [];
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { manifests, problems };
    throw err;
  }
  for (const file of files.sort()) {
    const client = CLIENT_FILE.exec(file)?.[1];
    if (!client) {
      problems.push({
        client: basename(file, '.json'),
        message: `${file}: a manifest is named <client>.json (lower-case letters, digits, - or _)`,
      });
      continue;
    }
    try {
      manifests.set(client, parseManifest(client, readFileSync(join(dir, file), 'utf8')));
    } catch (err) {
      problems.push({ client, message: `${file}: ${(err as Error).message}` });
    }
  }
  return { manifests, problems };
}

/**
 * The operations a schema change would break: each operation of each manifest parsed and validated
 * against the (new) API schema. One problem per broken operation, naming client and operation.
 */
export function checkManifestOperations(
  schema: GraphQLSchema,
  manifests: Iterable<Manifest>,
): ManifestProblem[] {
  const problems: ManifestProblem[] = [];
  for (const manifest of manifests) {
    for (const op of manifest.operations.values()) {
      let errors: readonly { message: string }[];
      try {
        const document = parse(op.body);
        errors = validate(schema, document);
        const defs = document.definitions.filter(
          (d): d is OperationDefinitionNode => d.kind === 'OperationDefinition',
        );
        if (!errors.length && !defs.some((d) => d.name?.value === op.name && d.operation === op.type))
          errors = [{ message: `the body has no ${op.type} named ${op.name}` }];
      } catch (err) {
        errors = [{ message: (err as Error).message }];
      }
      for (const e of errors)
        problems.push({ client: manifest.client, operation: op.name, message: e.message });
    }
  }
  return problems;
}
