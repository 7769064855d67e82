import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { GATEWAY_RUNTIME_ENV } from '../src/runtime.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(`${ROOT}${path}`, 'utf8');

describe('GATEWAY_RUNTIME_ENV', () => {
  it('is what docker compose starts the gateway with', () => {
    const compose = parse(read('docker-compose.yml')) as {
      services: { gateway: { environment: Record<string, string> } };
    };
    expect(compose.services.gateway.environment).toMatchObject(GATEWAY_RUNTIME_ENV);
  });

  it('is what the Kubernetes gateway config map sets', () => {
    const docs = read('deploy/k8s/base/gateway.yaml')
      .split(/^---$/m)
      .map((d) => parse(d) as { kind?: string; metadata?: { name?: string }; data?: Record<string, string> });
    const config = docs.find((d) => d.kind === 'ConfigMap' && d.metadata?.name === 'carwash-gateway-config');
    expect(config?.data).toMatchObject(GATEWAY_RUNTIME_ENV);
  });

  it("is in the gateway package's start:prod script", () => {
    const pkg = JSON.parse(read('gateway/package.json')) as { scripts: Record<string, string> };
    const { NODE_OPTIONS, MALLOC_MMAP_THRESHOLD_ } = GATEWAY_RUNTIME_ENV;
    expect(pkg.scripts['start:prod']).toBe(
      `MALLOC_MMAP_THRESHOLD_=${MALLOC_MMAP_THRESHOLD_} node ${NODE_OPTIONS} --conditions=@carwash/dist dist/main.js`,
    );
  });
});
