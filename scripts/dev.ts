/**
 * `pnpm dev`: runs every subgraph and the gateway on this machine (after `pnpm db:migrate`).
 * Each service is its own process, as in production; Ctrl-C stops them all gracefully.
 */
import path from 'node:path';
import { generateServiceKeys } from '@carwash/config';
import { ROOT, SERVICES, supervise } from './supervise.js';

/** Mail (verification, password reset) lands in auth's development mailbox: http://127.0.0.1:4001/dev/mailbox?to=<email>. */
const DEV_ENV = { AUTH_DEV_MAILBOX: 'true', ...process.env };
// Service credentials: fresh real keys for this run (each service its own, bound to its name), unless
// the developer asks for the built-in development keys explicitly with SERVICE_CREDENTIALS=development.
const keys =
  process.env.SERVICE_CREDENTIALS === 'development'
    ? undefined
    : generateServiceKeys(
        SERVICES.map((s) => s.name),
        'dev-run',
      );
const credentialsFor = (name: string) => (keys ? keys.envFor(name) : {});

supervise(
  'dev',
  SERVICES.map((s) => ({
    name: s.name,
    cwd: path.join(ROOT, s.dir),
    args: ['--import', 'tsx', 'src/main.ts'],
    env: { ...DEV_ENV, ...credentialsFor(s.name) },
  })),
);
console.error('[dev] gateway: http://127.0.0.1:4000/ (Sandbox) · /graphql · /health · /ready');
