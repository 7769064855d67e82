/**
 * `pnpm admin:create <email>` — the operator's way to make the first admin (or promote an account),
 * without SQL by hand. The password comes from `ADMIN_PASSWORD` or, when that is unset, standard input
 * (so it stays out of the shell history): `printf '%s' "$PW" | pnpm admin:create ops@example.com`.
 *
 * Prints one line starting with a code: ADMIN_CREATED, ADMIN_PROMOTED or ADMIN_UNCHANGED (exit 0),
 * BAD_USER_INPUT (exit 2, with the field and the rule broken), CONFIG_INVALID (exit 2) or
 * INTERNAL_ERROR (exit 1).
 */
import { text } from 'node:stream/consumers';
import { ConfigError } from '@carwash/config';
import { AppError } from '@carwash/errors';
import { provisionAdmin } from './admin.js';
import { loadAdminCliConfig } from './config.js';
import { createDb } from './db.js';
import { AuthRepository } from './repository.js';

const EXIT_BAD_INPUT = 2;
const EXIT_FAILURE = 1;
/** One connection is all a single command needs. */
const POOL_SIZE = 1;
const USAGE = 'usage: pnpm admin:create <email>   (password from ADMIN_PASSWORD or standard input)';

async function readPassword(fromEnv: string | undefined): Promise<string> {
  if (fromEnv !== undefined) return fromEnv;
  if (process.stdin.isTTY) process.stderr.write('Password for the admin (then Enter, Ctrl-D): ');
  // Only the line break a shell or `echo` adds is dropped: spaces inside a password are the password's.
  return (await text(process.stdin)).replace(/\r?\n$/, '');
}

async function main(): Promise<number> {
  const args = process.argv.slice(2).filter((a) => a !== '--');
  if (args.length !== 1) {
    console.error(`BAD_USER_INPUT email: exactly one email expected\n${USAGE}`);
    return EXIT_BAD_INPUT;
  }
  let config;
  try {
    config = loadAdminCliConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`CONFIG_INVALID ${err.message}`);
    return EXIT_BAD_INPUT;
  }
  const password = await readPassword(config.ADMIN_PASSWORD);
  const { db, pool } = createDb(config.AUTH_DATABASE_URL, POOL_SIZE);
  try {
    const outcome = await provisionAdmin(new AuthRepository(db), args[0], password);
    const email = args[0]!.trim();
    if (outcome.kind === 'created')
      console.log(`ADMIN_CREATED ${email} is a new admin (id ${outcome.userId})`);
    if (outcome.kind === 'promoted')
      console.log(
        `ADMIN_PROMOTED ${email} was ${outcome.previousRole}, is now ADMIN; its password is unchanged (id ${outcome.userId})`,
      );
    if (outcome.kind === 'unchanged')
      console.log(`ADMIN_UNCHANGED ${email} is already an admin; nothing changed (id ${outcome.userId})`);
    return 0;
  } catch (err) {
    if (err instanceof AppError && err.code === 'BAD_USER_INPUT') {
      console.error(`BAD_USER_INPUT ${err.extensions.field ?? 'input'}: ${err.message}`);
      return EXIT_BAD_INPUT;
    }
    console.error(`INTERNAL_ERROR ${(err as Error).message}`);
    return EXIT_FAILURE;
  } finally {
    await db.$disconnect();
    await pool.end();
  }
}

process.exitCode = await main();
