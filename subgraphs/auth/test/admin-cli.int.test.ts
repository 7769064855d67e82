import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAdminCliConfig } from '../src/config.js';
import { createDb } from '../src/db.js';
import { hashPassword, verifyPassword } from '../src/passwords.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const config = loadAdminCliConfig({ ...process.env });
const { db, pool } = createDb(config.AUTH_DATABASE_URL, 2);
const STRONG = 'Admin-of-the-bays-2026';

afterAll(async () => {
  await db.$disconnect();
  await pool.end();
});

let n = 0;
function email(): string {
  n += 1;
  return `admin.${Date.now().toString(36)}.${process.pid}.${n}@example.test`;
}

/** Runs `pnpm admin:create` as an operator would: a child process, the password on stdin or in ADMIN_PASSWORD. */
function adminCreate(
  args: string[],
  options: { env?: Record<string, string>; stdin?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const { ADMIN_PASSWORD: _unset, ...env } = process.env;
    const child = spawn('pnpm', ['--silent', 'admin:create', ...args], {
      cwd: ROOT,
      env: { ...env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}

describe('pnpm admin:create', () => {
  it('creates an admin with the password from ADMIN_PASSWORD, and running it twice changes nothing', async () => {
    const address = email();
    const first = await adminCreate([address], { env: { ADMIN_PASSWORD: STRONG } });
    expect(first.stdout).toMatch(/^ADMIN_CREATED /);
    expect(first.code).toBe(0);
    const user = await db.user.findUniqueOrThrow({ where: { emailNormalized: address } });
    expect(user).toMatchObject({ role: 'ADMIN', emailVerified: true, deletedAt: null });
    expect(await verifyPassword(user.passwordHash, STRONG)).toBe(true);

    const again = await adminCreate([address], { env: { ADMIN_PASSWORD: STRONG } });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^ADMIN_UNCHANGED /);
    expect(await db.user.count({ where: { emailNormalized: address } })).toBe(1);
  }, 60_000);

  it('promotes an existing client, keeping its password, with the password read from standard input', async () => {
    const address = email();
    const ownPassword = 'Client-own-secret-99';
    const client = await db.user.create({
      data: {
        email: address,
        emailNormalized: address,
        passwordHash: await hashPassword(ownPassword),
        firstName: 'Cy',
        lastName: 'Client',
      },
    });
    const res = await adminCreate([address.toUpperCase()], { stdin: `${STRONG}\n` });
    expect(res.stdout).toMatch(/^ADMIN_PROMOTED .* was CLIENT/);
    expect(res.code).toBe(0);
    const after = await db.user.findUniqueOrThrow({ where: { id: client.id } });
    expect(after.role).toBe('ADMIN');
    expect(await verifyPassword(after.passwordHash, ownPassword)).toBe(true);
  }, 60_000);

  it('refuses a weak password with a coded message and creates nothing', async () => {
    const address = email();
    const res = await adminCreate([address], { env: { ADMIN_PASSWORD: 'short' } });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/BAD_USER_INPUT password: password must be at least 10 characters/);
    expect(await db.user.count({ where: { emailNormalized: address } })).toBe(0);
  }, 60_000);

  it('refuses a missing password (empty standard input) and a malformed email', async () => {
    const noPassword = await adminCreate([email()], { stdin: '' });
    expect(noPassword.code).toBe(2);
    expect(noPassword.stderr).toMatch(/BAD_USER_INPUT password:/);

    const badEmail = await adminCreate(['not-an-email'], { env: { ADMIN_PASSWORD: STRONG } });
    expect(badEmail.code).toBe(2);
    expect(badEmail.stderr).toMatch(/BAD_USER_INPUT email: must be a valid email address/);

    const noArgs = await adminCreate([], { env: { ADMIN_PASSWORD: STRONG } });
    expect(noArgs.code).toBe(2);
    expect(noArgs.stderr).toMatch(/usage: pnpm admin:create <email>/);
  }, 60_000);
});
