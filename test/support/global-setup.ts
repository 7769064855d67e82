import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Applies every feature's pending migrations (creating the databases if needed) before integration
 * and end-to-end tests, so `pnpm test` works on a fresh machine. Idempotent and quick when up to date.
 */
export default function setup(): void {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  execFileSync('pnpm', ['--silent', 'db:migrate'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
}
