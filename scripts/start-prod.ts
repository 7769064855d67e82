/**
 * `pnpm start:prod`: runs the built services (`pnpm build` first) on this machine, one Node process
 * each, as the containers do: `node --conditions=@carwash/dist <service>/dist/main.js`, no TypeScript
 * loader. For trying a production build locally against the PostgreSQL and Redis named by the usual
 * settings (migrate with `pnpm db:migrate`). Fresh service keys are generated for this run, as `pnpm dev`
 * does. Ctrl-C stops every process gracefully.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateServiceKeys } from '@carwash/config';

const root = fileURLToPath(new URL('..', import.meta.url));
/** The export condition that points `@carwash/*` at compiled `dist/` (every workspace package.json). */
const DIST_CONDITION = '--conditions=@carwash/dist';

const services = [
  { name: 'auth', dir: 'subgraphs/auth' },
  { name: 'booking', dir: 'subgraphs/booking' },
  { name: 'location', dir: 'subgraphs/location' },
  { name: 'payment', dir: 'subgraphs/payment' },
  { name: 'gateway', dir: 'gateway' },
];

const missing = services.filter((s) => !existsSync(path.join(root, s.dir, 'dist/main.js')));
if (missing.length) {
  console.error(`[start:prod] not built: ${missing.map((s) => s.dir).join(', ')} — run \`pnpm build\` first`);
  process.exit(1);
}

const keys = generateServiceKeys(
  services.map((s) => s.name),
  'prod-run',
);
const children: ChildProcess[] = [];
let stopping = false;
for (const s of services) {
  const child = spawn(process.execPath, [DIST_CONDITION, 'dist/main.js'], {
    cwd: path.join(root, s.dir),
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, ...keys.envFor(s.name) },
  });
  console.error(`[start:prod] ${s.name}: pid ${child.pid}`);
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`[start:prod] ${s.name} exited (${signal ?? code}); stopping the others`);
      stop(code ?? 1);
    }
  });
  children.push(child);
}

function stop(code = 0): void {
  stopping = true;
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  Promise.all(
    children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))),
  ).then(() => process.exit(code));
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));
