/**
 * The part of `kustomize build` our manifests use, so CI can render base + overlay without the
 * kustomize binary: `resources` (files, or directories holding a kustomization.yaml), `namespace`,
 * `images` (newName/newTag) and `patches` given by `path` (strategic merge, the target named by the
 * patch's own kind and metadata.name). Anything else in a kustomization.yaml is refused rather than
 * ignored, so a manifest never relies on a feature this renderer would silently skip.
 *
 * Strategic merge as Kubernetes does it for the fields we patch: maps merge key by key; lists of maps
 * whose items carry `name` (containers, env, ports, volumes, volumeMounts) merge item by item; any
 * other list is replaced.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

export type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
};

const SUPPORTED = new Set(['apiVersion', 'kind', 'resources', 'namespace', 'images', 'patches']);
/** Kinds that are not namespaced, among those kustomize would meet here. */
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'PersistentVolume']);

interface Kustomization {
  resources?: string[];
  namespace?: string;
  images?: Array<{ name: string; newName?: string; newTag?: string }>;
  patches?: Array<{ path: string }>;
}

/** Every YAML document of a file, parsed; a syntax error fails loudly. */
export function readYamlDocuments(file: string): unknown[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((doc) => {
    if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0]!.message}`);
    return doc.toJS() as unknown;
  });
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isNamedList(v: unknown): v is Array<Record<string, unknown> & { name: string }> {
  return Array.isArray(v) && v.length > 0 && v.every((i) => isMap(i) && typeof i.name === 'string');
}

/** Strategic merge of `patch` onto `base` (a new value; neither input is changed). */
export function strategicMerge(base: unknown, patch: unknown): unknown {
  if (isMap(base) && isMap(patch)) {
    if ('$patch' in patch) throw new Error('$patch directives are not supported');
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(patch)) out[k] = k in base ? strategicMerge(base[k], v) : v;
    return out;
  }
  if (isNamedList(base) && isNamedList(patch)) {
    const out = base.map((item) => {
      const p = patch.find((x) => x.name === item.name);
      return p ? strategicMerge(item, p) : item;
    });
    for (const p of patch) if (!base.some((b) => b.name === p.name)) out.push(p);
    return out;
  }
  return patch;
}

function setImages(node: unknown, images: NonNullable<Kustomization['images']>): void {
  if (Array.isArray(node)) return node.forEach((n) => setImages(n, images));
  if (!isMap(node)) return;
  for (const [k, v] of Object.entries(node)) {
    if ((k === 'containers' || k === 'initContainers') && Array.isArray(v)) {
      for (const c of v as Array<{ image?: string }>) {
        if (!c.image) continue;
        // A tag is the part after the last ':' that follows the last '/' (a registry may carry a port).
        const colon = c.image.lastIndexOf(':');
        const tagged = colon > c.image.lastIndexOf('/');
        const name = tagged ? c.image.slice(0, colon) : c.image;
        const tag = tagged ? c.image.slice(colon + 1) : undefined;
        const rule = images.find((i) => i.name === name);
        if (rule) c.image = `${rule.newName ?? name}:${rule.newTag ?? tag ?? 'latest'}`;
      }
    } else setImages(v, images);
  }
}

/** Renders the kustomization in `dir` like `kustomize build dir` (within the subset above). */
export function kustomize(dir: string): Manifest[] {
  const file = path.join(dir, 'kustomization.yaml');
  const k = readYamlDocuments(file)[0] as Kustomization & Record<string, unknown>;
  for (const key of Object.keys(k)) {
    if (!SUPPORTED.has(key)) throw new Error(`${file}: "${key}" is not supported by the test renderer`);
  }
  let out: Manifest[] = [];
  for (const r of k.resources ?? []) {
    const target = path.join(dir, r);
    out.push(
      ...(statSync(target).isDirectory() ? kustomize(target) : (readYamlDocuments(target) as Manifest[])),
    );
  }
  for (const p of k.patches ?? []) {
    for (const patch of readYamlDocuments(path.join(dir, p.path)) as Manifest[]) {
      const i = out.findIndex((m) => m.kind === patch.kind && m.metadata.name === patch.metadata.name);
      if (i < 0) throw new Error(`${p.path}: no ${patch.kind} named ${patch.metadata.name} to patch`);
      out[i] = strategicMerge(out[i], patch) as Manifest;
    }
  }
  if (k.images) setImages(out, k.images);
  if (k.namespace) {
    out = out.map((m) =>
      CLUSTER_SCOPED.has(m.kind) ? m : { ...m, metadata: { ...m.metadata, namespace: k.namespace! } },
    );
  }
  return out;
}
