import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  databaseOf,
  FEATURES,
  type Feature,
  LITERAL_CREDENTIAL,
  PORTS,
  root,
  SECRET_SETTING,
  SERVICES,
  subgraphShutdownGraceMs,
} from './support/features.js';

interface ComposeService {
  image?: string;
  build?: { context: string; target?: string; args?: Record<string, string> };
  command?: string[];
  environment?: Record<string, string>;
  env_file?: unknown;
  ports?: string[];
  expose?: string[];
  volumes?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  stop_grace_period?: string;
}
const composeText = readFileSync(`${root}/docker-compose.yml`, 'utf8');
const compose = parse(composeText) as { services: Record<string, ComposeService> };
const services = compose.services;
const envExample = readFileSync(`${root}/.env.example`, 'utf8');
const initScript = readFileSync(`${root}/deploy/postgres/init-databases.sh`, 'utf8');
const dockerfile = readFileSync(`${root}/Dockerfile`, 'utf8');

const databaseUrlName = (f: Feature) => `${f.toUpperCase()}_DATABASE_URL`;
const seconds = (duration: string) => Number(/^(\d+)s$/.exec(duration)?.[1] ?? NaN);

describe('docker-compose.yml', () => {
  it('runs PostgreSQL 15 with the per-feature init script, and Redis with an append-only file', () => {
    expect(services.postgres?.image).toBe('postgres:15');
    expect(services.postgres?.volumes).toContainEqual(
      expect.stringMatching(
        /^\.\/deploy\/postgres\/init-databases\.sh:\/docker-entrypoint-initdb\.d\/[\w-]+\.sh(:ro)?$/,
      ),
    );
    expect(initScript).toMatch(new RegExp(`for feature in ${FEATURES.join(' ')}; do`));
    expect(services.redis?.command).toEqual(expect.arrayContaining(['--appendonly', 'yes']));
    for (const infra of ['postgres', 'redis'])
      expect(services[infra]?.healthcheck?.test.length).toBeGreaterThan(1);
  });

  it.each(SERVICES)('%s: image and build, env, port, a /ready health check, grace period', (name) => {
    const s = services[name]!;
    expect(s, name).toBeDefined();
    expect(s.image).toMatch(new RegExp(`^carwash/${name}:`));
    expect(s.build).toMatchObject({ context: '.', target: 'service', args: { SERVICE: name } });
    const prefix = name.toUpperCase();
    const port = String(PORTS[name]);
    expect(s.environment?.[`${prefix}_HOST`]).toBe('0.0.0.0');
    expect(s.environment?.[`${prefix}_PORT`]).toBe(port);
    expect([...(s.expose ?? []), ...(s.ports ?? []).map((p) => p.split(':').at(-1))]).toContain(port);
    expect(s.healthcheck?.test.join(' ')).toContain(`http://127.0.0.1:${port}/ready`);
    expect(s.environment?.SERVICE_SIGNING_KEY).toMatch(
      new RegExp(`^\\$\\{${prefix}_SERVICE_SIGNING_KEY[:}-]`),
    );
    const grace = name === 'gateway' ? Number(s.environment?.SHUTDOWN_GRACE_MS) : subgraphShutdownGraceMs();
    expect(seconds(s.stop_grace_period ?? '10s') * 1000).toBeGreaterThan(grace);
  });

  it.each(FEATURES)(
    '%s: migrates its own database first, then starts on its database, Redis and auth',
    (f) => {
      const migrate = services[`migrate-${f}`]!;
      expect(migrate.build).toMatchObject({ context: '.', target: 'migrate' });
      expect(migrate.command).toEqual([f]);
      expect(migrate.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
      const deps = services[f]!.depends_on!;
      expect(deps.postgres).toEqual({ condition: 'service_healthy' });
      expect(deps.redis).toEqual({ condition: 'service_healthy' });
      expect(deps[`migrate-${f}`]).toEqual({ condition: 'service_completed_successfully' });
      if (f !== 'auth') expect(deps.auth).toEqual({ condition: 'service_healthy' });
    },
  );

  it.each(FEATURES)(
    "%s: its settings and its migration's name only its own database, as its own role",
    (f) => {
      for (const name of [f, `migrate-${f}`]) {
        const env = services[name]!.environment ?? {};
        for (const other of FEATURES) {
          if (other !== f) expect(env[databaseUrlName(other)], `${name} ${other}`).toBeUndefined();
        }
        const url = env[databaseUrlName(f)]!;
        expect(databaseOf(url), name).toEqual({
          host: 'postgres',
          user: `carwash_${f}`,
          database: `carwash_${f}`,
        });
        expect(url).toContain(`\${${f.toUpperCase()}_DB_PASSWORD`);
      }
      // Nothing else in the file points a service at this feature's database.
      const users = Object.entries(services).filter(([, s]) =>
        Object.values(s.environment ?? {}).some((v) => v.includes(`/carwash_${f}`)),
      );
      expect(users.map(([n]) => n).sort()).toEqual([f, `migrate-${f}`].sort());
    },
  );

  it('starts the gateway after every subgraph is healthy and routes to each by its service name', () => {
    const gateway = services.gateway!;
    for (const f of FEATURES) {
      expect(gateway.depends_on?.[f]).toEqual({ condition: 'service_healthy' });
      expect(gateway.environment?.[`SUBGRAPH_${f.toUpperCase()}_URL`]).toBe(
        `http://${f}:${PORTS[f]}/graphql`,
      );
    }
    const subgraphs = (
      JSON.parse(readFileSync(`${root}/schema/subgraphs.json`, 'utf8')) as {
        subgraphs: Array<{ name: string }>;
      }
    ).subgraphs.map((s) => s.name);
    expect([...subgraphs].sort()).toEqual([...FEATURES].sort());
  });

  it('holds no secret: every secret setting is a ${VAR} from .env, and .env.example names each without a value', () => {
    expect(composeText).not.toMatch(LITERAL_CREDENTIAL);
    const referenced = new Set<string>();
    for (const [name, s] of Object.entries(services)) {
      for (const [key, value] of Object.entries(s.environment ?? {})) {
        for (const m of value.matchAll(/\$\{([A-Z0-9_]+)(:?-[^}]*)?\}/g)) referenced.add(m[1]!);
        if (!SECRET_SETTING.test(key)) continue;
        if (key.endsWith('DATABASE_URL')) {
          // The URL itself is not secret; its password part must come from .env.
          expect(new URL(value.replace(/\$\{[^}]*\}/g, 'x')).password, `${name} ${key}`).toBe('x');
          continue;
        }
        if (key === 'REDIS_URL') continue;
        expect(value, `${name} ${key}`).toMatch(/^\$\{[A-Z0-9_]+(:-)?\}$/);
      }
    }
    const example = new Map(
      [...envExample.matchAll(/^#?\s*([A-Z0-9_]+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!.trim()] as const),
    );
    for (const v of referenced) expect(example.has(v), `.env.example lacks ${v}`).toBe(true);
    for (const [k, v] of example) if (SECRET_SETTING.test(k)) expect(v, k).toBe('');
  });
});

describe('Dockerfile', () => {
  const stages = [...dockerfile.matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/gim)].map((m) => ({
    from: m[1]!,
    as: m[2],
  }));
  const stage = (name: string) => {
    const start = dockerfile.search(new RegExp(`^FROM .* AS ${name}$`, 'm'));
    const rest = dockerfile.slice(start + 1);
    const next = rest.search(/^FROM /m);
    return next < 0 ? rest : rest.slice(0, next);
  };

  it('is multi-stage on Node 22 or newer, and deploys one package with production dependencies only', () => {
    expect(stages.length).toBeGreaterThanOrEqual(3);
    const base = /^ARG NODE_IMAGE=node:(\d+)/m.exec(dockerfile);
    expect(Number(base?.[1])).toBeGreaterThanOrEqual(22);
    expect(dockerfile).toMatch(/pnpm --filter "@carwash\/\$\{SERVICE\}" deploy --prod/);
    expect(dockerfile).toMatch(/pnpm install --frozen-lockfile/);
    expect(dockerfile).toMatch(/pnpm build/);
  });

  it.each(['service', 'migrate'])('%s stage: runs as the unprivileged node user, with no secret', (name) => {
    const text = stage(name);
    expect(text).toMatch(/^USER node$/m);
    expect(text).not.toMatch(/^(ENV|ARG)\s+\S*(PASSWORD|SECRET|KEY)/m);
  });

  it('runs a service as compiled JavaScript on Node, never through tsx', () => {
    const cmd = /^CMD (.*)$/m.exec(stage('service'))?.[1];
    expect(JSON.parse(cmd!)).toEqual(['node', '--conditions=@carwash/dist', 'dist/main.js']);
    expect(stage('service')).not.toMatch(/tsx/);
  });
});
