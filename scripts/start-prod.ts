/**
 * `pnpm start:prod`: runs the built services (`pnpm build` first) on this machine, one Node process
 * each, as the containers do: `node --conditions=@carwash/dist <service>/dist/main.js`, no TypeScript
 * loader. For trying a production build locally against the PostgreSQL and Redis named by the usual
 * settings (migrate with `pnpm db:migrate`). Fresh service keys are generated for this run, as `pnpm dev`
 * does. Ctrl-C stops every process gracefully.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { generateServiceKeys } from '@carwash/config';
import { GATEWAY_RUNTIME_ENV } from '../gateway/src/runtime.js';
import { DIST_CONDITION, ROOT, SERVICES, supervise } from './supervise.js';

const missing = SERVICES.filter((s) => !existsSync(path.join(ROOT, s.dir, 'dist/main.js')));
if (missing.length) {
  console.error(`[start:prod] not built: ${missing.map((s) => s.dir).join(', ')} — run \`pnpm build\` first`);
  process.exit(1);
}

const keys = generateServiceKeys(
  SERVICES.map((s) => s.name),
  'prod-run',
);
supervise(
  'start:prod',
  SERVICES.map((s) => ({
    name: s.name,
    cwd: path.join(ROOT, s.dir),
    args: [DIST_CONDITION, 'dist/main.js'],
    // The gateway's heap and allocator settings, as its container sets them (gateway/src/runtime.ts).
    env: { ...process.env, ...(s.name === 'gateway' ? GATEWAY_RUNTIME_ENV : {}), ...keys.envFor(s.name) },
  })),
  (name, child) => console.error(`[start:prod] ${name}: pid ${child.pid}`),
);
