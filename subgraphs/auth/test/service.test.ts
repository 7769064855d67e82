/**
 * AuthService's rules with a fake repository (no database): the lockout's counting, and the checks
 * around role changes and deletion. Their database side — the advisory lock, the revocations applied
 * after commit — is proven against Postgres in the integration and end-to-end tests.
 */
import { randomUUID } from 'node:crypto';
import type { Viewer } from '@carwash/service-trust';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hashPassword } from '../src/passwords.js';
import type { Role, Session, Tx, User } from '../src/repository.js';
import { AuthService, type AuthStore } from '../src/service.js';
import { TokenIssuer } from '../src/tokens.js';

const TX = {} as Tx;
const PASSWORD = 'correct horse battery staple';
const settings = {
  AUTH_REFRESH_TOKEN_TTL_SECONDS: 3600,
  AUTH_LOCKOUT_MAX_FAILURES: 3,
  AUTH_LOCKOUT_WINDOW_SECONDS: 900,
  AUTH_LOCKOUT_MAX_FAILURES_PER_IP: 5,
};
type Outcome = 'SUCCEEDED' | 'FAILED' | 'LOCKED';

/** Only what these rules touch is implemented; anything else fails the test loudly. */
function fakeStore() {
  const users = new Map<string, User>();
  const attempts: Array<{ emailNormalized: string; clientKey: string; outcome: Outcome; attemptedAt: Date }> =
    [];
  const calls: string[] = [];
  const store = {
    users,
    attempts,
    calls,
    transaction: async <T>(fn: (tx: Tx) => Promise<T>) => {
      calls.push('transaction');
      return fn(TX);
    },
    lockEmail: async () => void calls.push('lockEmail'),
    recentAttempts: async (_tx: Tx, email: string, key: string, since: Date, limit: number) =>
      attempts
        .filter(
          (a) =>
            a.emailNormalized === email &&
            a.clientKey === key &&
            a.attemptedAt > since &&
            a.outcome !== 'LOCKED',
        )
        .reverse()
        .slice(0, limit),
    countClientFailures: async (_tx: Tx, key: string, since: Date) =>
      attempts.filter((a) => a.clientKey === key && a.outcome === 'FAILED' && a.attemptedAt > since).length,
    recordAttempt: async (_tx: Tx, a: { emailNormalized: string; clientKey: string; outcome: Outcome }) =>
      void attempts.push({ ...a, attemptedAt: new Date() }),
    findUserByEmail: async (email: string) =>
      [...users.values()].find((u) => u.emailNormalized === email) ?? null,
    findUserById: async (id: string) => users.get(id) ?? null,
    recordLogin: async (_tx: Tx, id: string, at: Date) => Object.assign(users.get(id)!, { lastLoginAt: at }),
    createSession: async (_tx: Tx, data: { userId: string; familyId: string }) =>
      ({ id: randomUUID(), ...data }) as Session,
    tokenClaims: async (_tx: Tx, id: string) => ({
      role: users.get(id)!.role,
      tokenVersion: users.get(id)!.tokenVersion,
    }),
    setRole: async (_tx: Tx, id: string, role: Role) => {
      calls.push(`setRole ${role}`);
      return Object.assign(users.get(id)!, { role });
    },
    revokeUserTokens: async (_tx: Tx, id: string, reason: string) => {
      calls.push(`revokeUserTokens ${reason}`);
      return ++users.get(id)!.tokenVersion;
    },
    eraseUser: async (_tx: Tx, user: Pick<User, 'id'>, deletedAt: Date) => {
      calls.push('eraseUser');
      Object.assign(users.get(user.id)!, { email: null, emailNormalized: null, deletedAt });
    },
  };
  return new Proxy(store, {
    get: (target, prop) => {
      if (prop in target) return target[prop as keyof typeof target];
      throw new Error(`the fake repository has no ${String(prop)}: the rule under test should not need it`);
    },
  }) as typeof store & AuthStore;
}

let issuer: TokenIssuer;
let passwordHash: string;
beforeAll(async () => {
  issuer = await TokenIssuer.create(undefined, 900);
  passwordHash = await hashPassword(PASSWORD);
});

let repo: ReturnType<typeof fakeStore>;
let service: AuthService;
let ada: User;
beforeEach(() => {
  repo = fakeStore();
  service = new AuthService(repo, issuer, settings);
  ada = {
    id: randomUUID(),
    email: 'ada@example.com',
    emailNormalized: 'ada@example.com',
    passwordHash,
    role: 'CLIENT',
    tokenVersion: 0,
    deletedAt: null,
  } as User;
  repo.users.set(ada.id, ada);
});

const attacker = { ip: '203.0.113.7' };
const owner = { ip: '198.51.100.20' };
const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: { extensions?: { code?: string } }) => e.extensions?.code,
  );
const logIn = (password: string, client: { ip: string }, email = ada.email!) =>
  service.logIn({ email, password }, client);

describe('the login lockout', () => {
  it('locks a client out of an account after AUTH_LOCKOUT_MAX_FAILURES wrong passwords, records the refusal, and refuses even the right password', async () => {
    for (let i = 0; i < settings.AUTH_LOCKOUT_MAX_FAILURES; i++)
      expect(await codeOf(logIn('wrong password!', attacker))).toBe('AUTH_INVALID_CREDENTIALS');
    expect(await codeOf(logIn(PASSWORD, attacker))).toBe('AUTH_LOCKED');
    expect(repo.attempts.map((a) => a.outcome)).toEqual(['FAILED', 'FAILED', 'FAILED', 'LOCKED']);
    expect(repo.calls.filter((c) => c === 'lockEmail')).toHaveLength(4);
  });

  it('does not lock the owner out from another network when an attacker hammers the account', async () => {
    for (let i = 0; i < settings.AUTH_LOCKOUT_MAX_FAILURES + 1; i++)
      await logIn('wrong password!', attacker).catch(() => undefined);
    const payload = await logIn(PASSWORD, owner);
    expect(payload.user.id).toBe(ada.id);
    expect(payload.accessToken).toMatch(/^ey/);
  });

  it('counts only the failures since the last success', async () => {
    await logIn('wrong password!', owner).catch(() => undefined);
    await logIn('wrong password!', owner).catch(() => undefined);
    await logIn(PASSWORD, owner);
    await logIn('wrong password!', owner).catch(() => undefined);
    await logIn('wrong password!', owner).catch(() => undefined);
    await expect(logIn(PASSWORD, owner)).resolves.toMatchObject({ user: { id: ada.id } });
  });

  it('locks a client out of every account once it passes AUTH_LOCKOUT_MAX_FAILURES_PER_IP failures, unknown emails included', async () => {
    for (let i = 0; i < settings.AUTH_LOCKOUT_MAX_FAILURES_PER_IP; i++) {
      expect(await codeOf(logIn('wrong password!', attacker, `nobody${i}@example.com`))).toBe(
        'AUTH_INVALID_CREDENTIALS',
      );
    }
    expect(await codeOf(logIn(PASSWORD, attacker))).toBe('AUTH_LOCKED');
  });

  it('refuses a deleted account with the same answer as a wrong password', async () => {
    ada.deletedAt = new Date();
    expect(await codeOf(logIn(PASSWORD, owner))).toBe('AUTH_INVALID_CREDENTIALS');
  });
});

describe('role changes and deletion', () => {
  const admin: Viewer = { userId: randomUUID(), role: 'ADMIN', sessionId: randomUUID() };

  it('refuses an admin changing their own role, before touching anything', async () => {
    expect(await codeOf(service.setUserRole(admin, admin.userId, 'CLIENT'))).toBe('FORBIDDEN');
    expect(repo.calls).toEqual([]);
  });

  it('changes a role and revokes the tokens carrying the old one in one transaction; the same role changes nothing', async () => {
    await service.setUserRole(admin, ada.id, 'CLIENT');
    expect(repo.calls).toEqual([]);
    const updated = await service.setUserRole(admin, ada.id, 'MANAGER');
    expect(updated.role).toBe('MANAGER');
    expect(repo.calls).toEqual(['transaction', 'setRole MANAGER', 'revokeUserTokens role_changed']);
    expect(await codeOf(service.setUserRole(admin, randomUUID(), 'MANAGER'))).toBe('NOT_FOUND');
  });

  it('erases a user once; a second deletion is NOT_FOUND', async () => {
    await expect(service.deleteUser(ada.id)).resolves.toMatchObject({ deletedUserId: ada.id });
    expect(await codeOf(service.deleteUser(ada.id))).toBe('NOT_FOUND');
    expect(repo.calls.filter((c) => c === 'eraseUser')).toHaveLength(1);
    expect(await codeOf(service.deleteUser('not-a-uuid'))).toBe('BAD_USER_INPUT');
  });
});
