import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  FEATURES,
  LITERAL_CREDENTIAL,
  PORTS,
  root,
  SECRET_SETTING,
  SEED_REPLICAS,
  SERVICES,
  subgraphShutdownGraceMs,
} from './support/features.js';
import { kustomize, type Manifest, strategicMerge } from './support/kustomize.js';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string };
    configMapKeyRef?: { name: string; key: string };
  };
}
interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface Container {
  name: string;
  image: string;
  args?: string[];
  ports?: Array<{ name: string; containerPort: number }>;
  env?: EnvVar[];
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] }; sleep?: { seconds: number } } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}
interface PodSpec {
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean };
  containers: Container[];
}
type Workload = Manifest & {
  spec: {
    replicas?: number;
    selector?: { matchLabels: Record<string, string> };
    template: { metadata?: { labels?: Record<string, string> }; spec: PodSpec };
  };
};

const base = kustomize(`${root}/deploy/k8s/base`);
const production = kustomize(`${root}/deploy/k8s/overlays/production`);

function find<T = Manifest>(set: Manifest[], kind: string, name: string): T {
  const found = set.filter((m) => m.kind === kind && m.metadata.name === name);
  expect(found, `${kind}/${name}`).toHaveLength(1);
  return found[0] as T;
}

/** A container's settings: literal values from its ConfigMaps (envFrom) and its own env entries. */
function settingsOf(set: Manifest[], c: Container): Map<string, EnvVar> {
  const out = new Map<string, EnvVar>();
  for (const from of c.envFrom ?? []) {
    expect(from.secretRef, 'secrets are referenced one key at a time (secretKeyRef)').toBeUndefined();
    const cm = find<Manifest & { data: Record<string, string> }>(set, 'ConfigMap', from.configMapRef!.name);
    for (const [name, value] of Object.entries(cm.data)) out.set(name, { name, value });
  }
  for (const e of c.env ?? []) out.set(e.name, e);
  return out;
}

/** preStop delay in seconds (`sleep` action, or `node -e setTimeout(…, ms)`), 0 without one. */
function preStopSeconds(c: Container): number {
  const p = c.lifecycle?.preStop;
  if (p?.sleep) return p.sleep.seconds;
  const ms = /setTimeout\([^,]*,\s*(\d+)\)/.exec(p?.exec?.command.join(' ') ?? '')?.[1];
  return ms ? Number(ms) / 1000 : 0;
}

describe.each([
  ['base', base],
  ['overlays/production', production],
])('Kubernetes manifests, %s', (_label, set) => {
  it('define no Secret and no literal credential: secrets are created outside the repository', () => {
    expect(set.filter((m) => m.kind === 'Secret')).toEqual([]);
    expect(JSON.stringify(set)).not.toMatch(LITERAL_CREDENTIAL);
  });

  it.each(SERVICES)(
    '%s: a Deployment, Service, HorizontalPodAutoscaler and PodDisruptionBudget that fit together',
    (name) => {
      const deployment = find<Workload>(set, 'Deployment', name);
      const podLabels = deployment.spec.template.metadata?.labels ?? {};
      expect(podLabels).toMatchObject(deployment.spec.selector!.matchLabels);

      const service = find<
        Manifest & {
          spec: { selector: Record<string, string>; ports: Array<{ port: number; targetPort: string }> };
        }
      >(set, 'Service', name);
      expect(podLabels).toMatchObject(service.spec.selector);
      expect(service.spec.ports).toEqual([
        expect.objectContaining({ port: PORTS[name], targetPort: 'http' }),
      ]);

      const hpa = find<
        Manifest & {
          spec: { scaleTargetRef: { kind: string; name: string }; minReplicas: number; maxReplicas: number };
        }
      >(set, 'HorizontalPodAutoscaler', name);
      expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name });
      expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(SEED_REPLICAS[name]);
      expect(hpa.spec.maxReplicas).toBeGreaterThanOrEqual(hpa.spec.minReplicas);
      expect(deployment.spec.replicas).toBeGreaterThanOrEqual(SEED_REPLICAS[name]);

      const pdb = find<
        Manifest & {
          spec: {
            selector: { matchLabels: Record<string, string> };
            maxUnavailable?: number;
            minAvailable?: number;
          };
        }
      >(set, 'PodDisruptionBudget', name);
      expect(podLabels).toMatchObject(pdb.spec.selector.matchLabels);
      expect(pdb.spec.maxUnavailable ?? pdb.spec.minAvailable).toBeDefined();
    },
  );

  it('keep the seed replicas per feature (auth 3, booking 5, payment 2, location 2) and at least two gateways', () => {
    const replicas = Object.fromEntries(
      SERVICES.map((s) => [s, find<Workload>(set, 'Deployment', s).spec.replicas]),
    );
    for (const f of FEATURES) expect(replicas[f], f).toBe(SEED_REPLICAS[f]);
    expect(replicas.gateway).toBeGreaterThanOrEqual(2);
  });

  it.each(SERVICES)(
    '%s: image, port, /health liveness, /ready readiness, resources, non-root, a long enough grace period',
    (name) => {
      const pod = find<Workload>(set, 'Deployment', name).spec.template.spec;
      expect(pod.containers).toHaveLength(1);
      const c = pod.containers[0]!;
      expect(c.image).toMatch(new RegExp(`carwash/${name}:[\\w.-]+$`));
      expect(c.ports).toEqual([{ name: 'http', containerPort: PORTS[name] }]);
      expect(c.livenessProbe?.httpGet).toEqual({ path: '/health', port: 'http' });
      expect(c.readinessProbe?.httpGet).toEqual({ path: '/ready', port: 'http' });
      expect(c.resources?.requests?.cpu).toBeDefined();
      expect(c.resources?.requests?.memory).toBeDefined();
      expect(c.resources?.limits?.memory).toBeDefined();
      expect(pod.securityContext?.runAsNonRoot).toBe(true);

      const settings = settingsOf(set, c);
      const prefix = name.toUpperCase();
      expect(settings.get(`${prefix}_HOST`)?.value).toBe('0.0.0.0');
      expect(settings.get(`${prefix}_PORT`)?.value).toBe(String(PORTS[name]));
      const graceMs =
        name === 'gateway' ? Number(settings.get('SHUTDOWN_GRACE_MS')?.value) : subgraphShutdownGraceMs();
      expect(graceMs).toBeGreaterThan(0);
      expect(pod.terminationGracePeriodSeconds! - preStopSeconds(c)).toBeGreaterThan(graceMs / 1000);
    },
  );

  it.each(SERVICES)('%s: every secret setting comes by secretKeyRef, and the service can sign', (name) => {
    const c = find<Workload>(set, 'Deployment', name).spec.template.spec.containers[0]!;
    const settings = settingsOf(set, c);
    for (const [key, e] of settings) {
      if (SECRET_SETTING.test(key)) expect(e.valueFrom?.secretKeyRef, `${name} ${key}`).toBeDefined();
    }
    expect(settings.get('SERVICE_SIGNING_KEY')?.valueFrom?.secretKeyRef?.name).toBe(
      `carwash-${name}-service-key`,
    );
    expect(settings.get('REDIS_URL')?.valueFrom?.secretKeyRef).toBeDefined();
    expect(settings.get('NODE_ENV')?.value).toBe('production');
  });

  it.each(FEATURES)('%s: its Deployment and its migration Job read only its own database secret', (f) => {
    const own = `${f.toUpperCase()}_DATABASE_URL`;
    const deployment = find<Workload>(set, 'Deployment', f).spec.template.spec.containers[0]!;
    const job = find<Workload>(set, 'Job', `migrate-${f}`).spec.template.spec.containers[0]!;
    expect(job.image).toMatch(/carwash\/migrate:[\w.-]+$/);
    expect(job.args).toEqual([f]);
    for (const c of [deployment, job]) {
      const settings = settingsOf(set, c);
      const databaseSettings = [...settings.keys()].filter((k) => k.endsWith('_DATABASE_URL'));
      expect(databaseSettings).toEqual([own]);
      expect(settings.get(own)?.valueFrom?.secretKeyRef).toEqual({
        name: `carwash-${f}-database`,
        key: 'url',
      });
    }
    // No other workload reads this feature's database secret.
    const readers = set
      .filter((m) => m.kind === 'Deployment' || m.kind === 'Job')
      .filter((m) => JSON.stringify(m).includes(`"carwash-${f}-database"`))
      .map((m) => `${m.kind}/${m.metadata.name}`);
    expect(readers.sort()).toEqual([`Deployment/${f}`, `Job/migrate-${f}`].sort());
  });

  it('route the gateway to every subgraph by its Service', () => {
    const c = find<Workload>(set, 'Deployment', 'gateway').spec.template.spec.containers[0]!;
    const settings = settingsOf(set, c);
    for (const f of FEATURES) {
      expect(settings.get(`SUBGRAPH_${f.toUpperCase()}_URL`)?.value).toBe(`http://${f}:${PORTS[f]}/graphql`);
    }
  });
});

describe('overlays/production', () => {
  it('puts everything in its namespace, pins release images and locks down the public edge', () => {
    expect(new Set(production.map((m) => m.metadata.namespace))).toEqual(new Set(['carwash']));
    for (const m of production.filter((x) => x.kind === 'Deployment' || x.kind === 'Job')) {
      for (const c of (m as Workload).spec.template.spec.containers)
        expect(c.image).toMatch(/^registry\.example\.com\/carwash\/[a-z]+:1\.0\.0$/);
    }
    const gateway = find<Manifest & { data: Record<string, string> }>(
      production,
      'ConfigMap',
      'carwash-gateway-config',
    );
    expect(gateway.data).toMatchObject({ INTROSPECTION: 'false', SANDBOX: 'false' });
  });

  it('patches every file it lists, and lists every file in patches/', () => {
    const k = readFileSync(`${root}/deploy/k8s/overlays/production/kustomization.yaml`, 'utf8');
    for (const f of readdirSync(`${root}/deploy/k8s/overlays/production/patches`))
      expect(k).toContain(`patches/${f}`);
  });
});

describe(strategicMerge.name, () => {
  it('merges maps and name-keyed lists item by item, and replaces other lists', () => {
    const merged = strategicMerge(
      {
        spec: {
          containers: [
            { name: 'a', image: 'x', args: ['1'] },
            { name: 'b', image: 'y' },
          ],
          tags: [1, 2],
        },
      },
      {
        spec: {
          containers: [
            { name: 'a', args: ['2'] },
            { name: 'c', image: 'z' },
          ],
          tags: [3],
        },
      },
    );
    expect(merged).toEqual({
      spec: {
        containers: [
          { name: 'a', image: 'x', args: ['2'] },
          { name: 'b', image: 'y' },
          { name: 'c', image: 'z' },
        ],
        tags: [3],
      },
    });
  });
});
