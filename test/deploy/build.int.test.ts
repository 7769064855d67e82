import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generateServiceKeys } from '@carwash/config';
import { signedFetch } from '@carwash/service-trust';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
/** A cold `tsc -b` of the whole workspace takes ~40 s on two shared cores; incremental runs ~1 s. */
const BUILD_TIMEOUT_MS = 240_000;
const BOOT_TIMEOUT_MS = 30_000;

/**
 * Starts a built service the way its container does: plain Node, no TypeScript loader, with the
 * export condition that sends `@carwash/*` imports to `dist/`. Node 20 cannot load a `.ts` file, so a
 * service that still reached into `src/` would fail to start here. Resolves with its URL once it logs
 * "ready" (it listens on a free port).
 */
function startBuilt(dir: string, env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--conditions=@carwash/dist', 'dist/main.js'], {
    cwd: `${root}/${dir}`,
    env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(
      () => reject(new Error(`no "ready" within ${BOOT_TIMEOUT_MS} ms:\n${output}`)),
      BOOT_TIMEOUT_MS,
    );
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const ready = output.split('\n').find((line) => line.includes('subgraph ready'));
      if (ready) {
        clearTimeout(timer);
        resolve({ child, url: (JSON.parse(ready) as { url: string }).url });
      }
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', read);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before "ready":\n${output}`));
    });
  });
}

describe('pnpm build', () => {
  const keys = generateServiceKeys(['gateway', 'location'], `build-${process.pid}`);
  let location: { child: ChildProcess; url: string } | undefined;

  beforeAll(() => {
    const res = spawnSync('pnpm', ['build'], { cwd: root, encoding: 'utf8', timeout: BUILD_TIMEOUT_MS });
    if (res.status !== 0) throw new Error(`pnpm build failed:\n${res.stdout}\n${res.stderr}`);
  }, BUILD_TIMEOUT_MS);

  afterAll(async () => {
    if (location && location.child.exitCode === null) {
      const exited = new Promise((r) => location!.child.once('exit', r));
      location.child.kill('SIGTERM');
      await exited;
    }
  });

  it('compiles every service and copies the SDL it reads at run time', () => {
    for (const dir of ['subgraphs/auth', 'subgraphs/booking', 'subgraphs/location', 'subgraphs/payment']) {
      expect(existsSync(`${root}/${dir}/dist/main.js`), dir).toBe(true);
      expect(existsSync(`${root}/${dir}/dist/schema.graphql`), dir).toBe(true);
      expect(existsSync(`${root}/${dir}/dist/generated/prisma/client.js`), dir).toBe(true);
    }
    expect(existsSync(`${root}/gateway/dist/main.js`)).toBe(true);
    expect(existsSync(`${root}/packages/subgraph-kit/dist/index.js`)).toBe(true);
  });

  it(
    'boots a built subgraph on Node alone: healthy, ready on its database, answering a signed query',
    async () => {
      location = await startBuilt('subgraphs/location', {
        ...keys.envFor('location'),
        LOCATION_PORT: '0',
        LOCATION_DATABASE_URL:
          process.env.LOCATION_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/carwash_location',
        REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
        EVENTS_NAMESPACE: `build-test-${process.pid}`,
        LOG_LEVEL: 'info',
      });
      const base = location.url.replace(/\/graphql$/, '');
      expect((await fetch(`${base}/health`)).status).toBe(200);
      expect((await fetch(`${base}/ready`)).status).toBe(200);

      const unsigned = await fetch(location.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      expect(unsigned.status).toBe(401);

      const asGateway = signedFetch(keys.credentials.gateway!, 'location');
      const res = await asGateway(location.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ _service { sdl } }' }),
      });
      const body = (await res.json()) as { data?: { _service: { sdl: string } } };
      expect(res.status).toBe(200);
      expect(body.data?._service.sdl).toContain('type WashSite');
    },
    BOOT_TIMEOUT_MS + 10_000,
  );
});
