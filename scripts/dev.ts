/**
 * `pnpm dev`: runs every subgraph and the gateway on this machine (after `pnpm db:migrate`).
 * Each service is its own process, as in production; Ctrl-C stops them all gracefully.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { generateServiceKeys } from '@carwash/config';

const root = fileURLToPath(new URL('..', import.meta.url));
const services = [
  { name: 'auth', cwd: 'subgraphs/auth' },
  { name: 'booking', cwd: 'subgraphs/booking' },
  { name: 'location', cwd: 'subgraphs/location' },
  { name: 'payment', cwd: 'subgraphs/payment' },
  { name: 'gateway', cwd: 'gateway' },
];

/** Mail (verification, password reset) lands in auth's development mailbox: http://127.0.0.1:4001/dev/mailbox?to=<email>. */
const DEV_ENV = { AUTH_DEV_MAILBOX: 'true', ...process.env };
// Service credentials: fresh real keys for this run (each service its own, bound to its name), unless
// the developer asks for the built-in development keys explicitly with SERVICE_CREDENTIALS=development.
const keys =
  process.env.SERVICE_CREDENTIALS === 'development'
    ? undefined
    : generateServiceKeys(
        services.map((s) => s.name),
        'dev-run',
      );
const credentialsFor = (name: string) => (keys ? keys.envFor(name) : {});

const children: ChildProcess[] = [];
let stopping = false;

for (const s of services) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: `${root}/${s.cwd}`,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...DEV_ENV, ...credentialsFor(s.name) },
  });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`[dev] ${s.name} exited (${signal ?? code}); stopping the others`);
      stop(code ?? 1);
    }
  });
  children.push(child);
}
console.error('[dev] gateway: http://127.0.0.1:4000/ (Sandbox) · /graphql · /health · /ready');

function stop(code = 0): void {
  stopping = true;
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  Promise.all(
    children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))),
  ).then(() => process.exit(code));
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));
