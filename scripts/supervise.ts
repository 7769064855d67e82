/**
 * The process supervisor shared by `pnpm dev` and `pnpm start:prod`: one Node process per service, as in
 * production; when one exits unasked the others are stopped, and Ctrl-C (or SIGTERM) stops them all
 * gracefully, exiting once every child has.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The export condition that points `@carwash/*` at compiled `dist/` (every workspace package.json): how the images, `start:prod` and the benchmarks run a build. */
export const DIST_CONDITION = '--conditions=@carwash/dist';

/** Every service this machine runs, by name, with its folder under the repository root. */
export const SERVICES = [
  { name: 'auth', dir: 'subgraphs/auth' },
  { name: 'booking', dir: 'subgraphs/booking' },
  { name: 'location', dir: 'subgraphs/location' },
  { name: 'payment', dir: 'subgraphs/payment' },
  { name: 'gateway', dir: 'gateway' },
];

export interface SupervisedProcess {
  name: string;
  cwd: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

/** Starts `processes` under `node`, logging as `[tag]`; `onSpawn` sees each child as it starts. */
export function supervise(
  tag: string,
  processes: SupervisedProcess[],
  onSpawn: (name: string, child: ChildProcess) => void = () => {},
): void {
  const children: ChildProcess[] = [];
  let stopping = false;
  const stop = (code = 0): void => {
    stopping = true;
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    Promise.all(
      children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))),
    ).then(() => process.exit(code));
  };
  for (const p of processes) {
    const child = spawn(process.execPath, p.args, {
      cwd: p.cwd,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: p.env,
    });
    onSpawn(p.name, child);
    child.on('exit', (code, signal) => {
      if (!stopping) {
        console.error(`[${tag}] ${p.name} exited (${signal ?? code}); stopping the others`);
        stop(code ?? 1);
      }
    });
    children.push(child);
  }
  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(0));
}
