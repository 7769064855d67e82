import { randomUUID } from 'node:crypto';
import { AppError } from '@carwash/errors';
import type { Role, Viewer } from '@carwash/service-trust';
import {
  connection,
  keysetCursor,
  pageSize,
  validate,
  type Connection,
  type PageArgs,
} from '@carwash/subgraph-kit';
import { clientKey } from '@carwash/client-address';
import type { AuthConfig } from './config.js';
import { hashPassword, verifyPassword } from './passwords.js';
import { isUniqueViolation, type AuthRepository, type Tx, type User } from './repository.js';
import { hashRefreshToken, newRefreshToken, type TokenIssuer } from './tokens.js';
import * as input from './validation.js';

export interface AuthPayload {
  accessToken: string;
  accessTokenExpiresAt: Date;
  refreshToken: string;
  refreshTokenExpiresAt: Date;
  user: User;
}

export interface ClientInfo {
  ip?: string | undefined;
  userAgent?: string | undefined;
}

/** `Query.users` pages on (createdAt, id), newest first. */
const USERS_CURSOR = keysetCursor('auth.users', 'time');

type Settings = Pick<
  AuthConfig,
  | 'AUTH_REFRESH_TOKEN_TTL_SECONDS'
  | 'AUTH_LOCKOUT_MAX_FAILURES'
  | 'AUTH_LOCKOUT_WINDOW_SECONDS'
  | 'AUTH_LOCKOUT_MAX_FAILURES_PER_IP'
>;

/**
 * How long one lockout transaction may run: it holds the email's lock while the password hash is
 * checked (deliberately slow work), so parallel guesses for one email queue behind it.
 */
const LOCKOUT_TRANSACTION_TIMEOUT_MS = 15_000;

/**
 * What the rules need of the repository: its public methods, without the raw client it keeps for
 * callers outside the services (so unit tests can hand in a fake).
 */
export type AuthStore = Omit<Pick<AuthRepository, keyof AuthRepository>, 'db'>;

/** The auth feature's rules: accounts, credentials, sessions and the lockout. */
export class AuthService {
  constructor(
    private readonly repo: AuthStore,
    private readonly issuer: TokenIssuer,
    private readonly settings: Settings,
  ) {}

  async signUp(raw: unknown, client: ClientInfo): Promise<AuthPayload> {
    const data = validate(input.signUpInput, raw, 'input');
    const passwordHash = await hashPassword(data.password);
    try {
      return await this.repo.transaction(async (tx) => {
        const user = await this.repo.createUser(
          {
            email: data.email,
            emailNormalized: input.normalizeEmail(data.email),
            passwordHash,
            firstName: data.firstName,
            lastName: data.lastName,
          },
          tx,
        );
        return this.startSession(tx, user, randomUUID(), client);
      });
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new AppError('AUTH_EMAIL_TAKEN', { field: 'input.email' });
      }
      throw err;
    }
  }

  /**
   * Every attempt is recorded with the network it came from (see `clientKey`). Attempts for one email
   * are serialised (advisory lock). An address is refused for an email once AUTH_LOCKOUT_MAX_FAILURES
   * failures *from that address* since its last success fall inside the window, and for every email
   * once it has AUTH_LOCKOUT_MAX_FAILURES_PER_IP failures: an attacker locks out only their own address,
   * never the real user logging in from elsewhere. Unknown emails are treated exactly like known ones
   * (same lockout, a decoy hash verified), so neither errors nor timing reveal an account.
   */
  async logIn(raw: unknown, client: ClientInfo): Promise<AuthPayload> {
    const data = validate(input.logInInput, raw, 'input');
    const email = input.normalizeEmail(data.email);
    return this.underLockout(email, client, async (tx, now) => {
      const user = await this.repo.findUserByEmail(email, tx);
      const ok = await verifyPassword(user?.passwordHash, data.password);
      if (!ok || !user || user.deletedAt) return null;
      const updated = await this.repo.recordLogin(tx, user.id, now);
      return this.startSession(tx, updated, randomUUID(), client);
    });
  }

  /**
   * Runs one password check for `email` under the lockout: refuses with AUTH_LOCKED while this client's
   * network is locked out (for this email or altogether), else runs `check` (null = wrong password) and
   * records its outcome. The failed or locked attempt is committed before we refuse, so it counts.
   */
  private async underLockout<T>(
    email: string,
    client: ClientInfo,
    check: (tx: Tx, now: Date) => Promise<T | null>,
  ): Promise<T> {
    const {
      AUTH_LOCKOUT_MAX_FAILURES: max,
      AUTH_LOCKOUT_WINDOW_SECONDS: windowSeconds,
      AUTH_LOCKOUT_MAX_FAILURES_PER_IP: maxPerClient,
    } = this.settings;
    const key = clientKey(client.ip);
    const outcome = await this.repo.transaction(
      async (tx) => {
        await this.repo.lockEmail(tx, email);
        const now = new Date();
        const since = new Date(now.getTime() - windowSeconds * 1000);
        const recent = await this.repo.recentAttempts(tx, email, key, since, max);
        const failures = recent.findIndex((a) => a.outcome === 'SUCCEEDED');
        const consecutive = failures === -1 ? recent.length : failures;
        // Not serialised across emails (one lock per email): a burst may overshoot this limit by a few.
        const clientLocked = (await this.repo.countClientFailures(tx, key, since)) >= maxPerClient;
        if (consecutive >= max || clientLocked) {
          await this.repo.recordAttempt(tx, {
            emailNormalized: email,
            ip: client.ip,
            clientKey: key,
            outcome: 'LOCKED',
          });
          const oldest = recent[max - 1]?.attemptedAt ?? now;
          const retryAfterSeconds = Math.max(
            1,
            Math.ceil((oldest.getTime() + windowSeconds * 1000 - now.getTime()) / 1000),
          );
          return {
            kind: 'locked' as const,
            retryAfterSeconds: clientLocked ? windowSeconds : retryAfterSeconds,
          };
        }
        const value = await check(tx, now);
        await this.repo.recordAttempt(tx, {
          emailNormalized: email,
          ip: client.ip,
          clientKey: key,
          outcome: value === null ? 'FAILED' : 'SUCCEEDED',
        });
        return value === null ? { kind: 'failed' as const } : { kind: 'ok' as const, value };
      },
      { timeout: LOCKOUT_TRANSACTION_TIMEOUT_MS },
    );
    if (outcome.kind === 'locked')
      throw new AppError('AUTH_LOCKED', { extensions: { retryAfterSeconds: outcome.retryAfterSeconds } });
    if (outcome.kind === 'failed') throw new AppError('AUTH_INVALID_CREDENTIALS');
    return outcome.value;
  }

  /**
   * Exchanges a refresh token for a new pair. The presented token is marked used and succeeded by a
   * new one in the same family. A token that was already used means it was copied: the whole family
   * is revoked (the thief and the victim both have to sign in again).
   */
  async refresh(rawToken: unknown, client: ClientInfo): Promise<AuthPayload> {
    const token = validate(input.refreshToken, rawToken, 'refreshToken');
    const result = await this.repo.transaction(async (tx) => {
      const now = new Date();
      const session = await this.repo.findSessionForUpdate(tx, hashRefreshToken(token));
      if (!session || session.revokedAt || session.expiresAt <= now) return { kind: 'invalid' as const };
      if (session.usedAt) {
        await this.repo.revokeFamily(tx, session.familyId, 'reuse', now);
        return { kind: 'reused' as const };
      }
      const user = await this.repo.findUserById(session.userId, tx);
      if (!user || user.deletedAt) return { kind: 'invalid' as const };
      await this.repo.markSessionUsed(tx, session.id, now);
      return { kind: 'ok' as const, payload: await this.startSession(tx, user, session.familyId, client) };
    });
    if (result.kind === 'reused') throw new AppError('AUTH_REFRESH_TOKEN_REUSED');
    if (result.kind === 'invalid') throw new AppError('AUTH_INVALID_REFRESH_TOKEN');
    return result.payload;
  }

  /**
   * Ends the family of this token, its access tokens included (refused everywhere once this returns).
   * Unknown tokens are ignored: logging out never fails.
   */
  async logOut(rawToken: unknown): Promise<boolean> {
    const token = validate(input.refreshToken, rawToken, 'refreshToken');
    await this.repo.transaction(async (tx) => {
      const session = await this.repo.findSessionForUpdate(tx, hashRefreshToken(token));
      if (session) await this.repo.revokeFamily(tx, session.familyId, 'logout');
    });
    return true;
  }

  /**
   * Sets a new password after checking the current one under the account's lockout (a wrong current
   * password is a recorded failure; a locked-out client gets AUTH_LOCKED), ends every session and
   * returns a fresh one.
   */
  async changePassword(viewer: Viewer, raw: unknown, client: ClientInfo): Promise<AuthPayload> {
    const data = validate(input.changePasswordInput, raw, 'input');
    const user = await this.repo.findUserById(viewer.userId);
    if (!user || user.deletedAt || !user.emailNormalized) throw new AppError('UNAUTHENTICATED');
    validate(input.password(user.email ?? undefined), data.newPassword, 'input.newPassword');
    const passwordHash = await hashPassword(data.newPassword);
    // Every session and access token of the user ends, this one's included; the new session's token
    // carries the raised version, so it alone works.
    try {
      return await this.underLockout(user.emailNormalized, client, async (tx) => {
        // Read again under the account's lock: a password changed meanwhile is the one to check.
        const current = await this.repo.findUserById(user.id, tx);
        if (
          !current ||
          current.deletedAt ||
          !(await verifyPassword(current.passwordHash, data.currentPassword))
        )
          return null;
        const updated = await this.repo.setPasswordHash(tx, user.id, passwordHash);
        await this.repo.revokeAllForUser(tx, user.id, 'password_changed');
        return this.startSession(tx, updated, randomUUID(), client);
      });
    } catch (err) {
      if (err instanceof AppError && err.code === 'AUTH_INVALID_CREDENTIALS') {
        throw new AppError('AUTH_INVALID_CREDENTIALS', {
          message: 'The current password is incorrect.',
          field: 'input.currentPassword',
        });
      }
      throw err;
    }
  }

  async setUserRole(viewer: Viewer, rawUserId: unknown, role: Role): Promise<User> {
    const userId = validate(input.uuid, rawUserId, 'userId');
    if (userId === viewer.userId)
      throw new AppError('FORBIDDEN', { message: 'Admins cannot change their own role.' });
    const user = await this.repo.findUserById(userId);
    if (!user || user.deletedAt) throw new AppError('NOT_FOUND', { message: 'No such user.' });
    if (user.role === role) return user;
    // Tokens carry the role: the old ones must die, and a refresh issues one with the new role.
    return this.repo.transaction(async (tx) => {
      const updated = await this.repo.setRole(tx, userId, role);
      await this.repo.revokeUserTokens(tx, userId, 'role_changed');
      return updated;
    });
  }

  /**
   * Erases personal data (email, names, password, login history) but keeps the row, so the id other
   * features hold stays valid. Sessions and access tokens end. `auth.user.deleted` is written to the outbox in the same
   * transaction: the event exists if and only if the deletion happened.
   */
  async deleteUser(rawId: unknown): Promise<{ deletedUserId: string; deletedAt: Date }> {
    const id = validate(input.uuid, rawId, 'id');
    const deletedAt = new Date();
    const done = await this.repo.transaction(async (tx: Tx) => {
      const user = await this.repo.findUserById(id, tx);
      if (!user || user.deletedAt) return false;
      await this.repo.eraseUser(tx, user, deletedAt);
      return true;
    });
    if (!done) throw new AppError('NOT_FOUND', { message: 'No such user.' });
    return { deletedUserId: id, deletedAt };
  }

  /** `Query.users`: newest first, keyset-paged on (createdAt, id) so pages stay stable while users sign up. */
  async listUsers(
    raw: PageArgs & { role?: Role | null; includeDeleted?: boolean | null },
  ): Promise<Connection<User>> {
    const first = pageSize(raw.first);
    const args = validate(input.usersArgs, raw);
    const after = USERS_CURSOR.decode(args.after);
    // One row more than asked tells whether there is a next page.
    const page = await this.repo.listUsers({
      limit: first + 1,
      after: after && { createdAt: after.key, id: after.id },
      role: args.role ?? undefined,
      includeDeleted: args.includeDeleted ?? false,
    });
    return connection(page.users, first, page.totalCount, (u) =>
      USERS_CURSOR.encode({ key: u.createdAt, id: u.id }),
    );
  }

  private async startSession(tx: Tx, user: User, familyId: string, client: ClientInfo): Promise<AuthPayload> {
    const refresh = newRefreshToken();
    const refreshTokenExpiresAt = new Date(Date.now() + this.settings.AUTH_REFRESH_TOKEN_TTL_SECONDS * 1000);
    const session = await this.repo.createSession(tx, {
      userId: user.id,
      familyId,
      tokenHash: refresh.hash,
      expiresAt: refreshTokenExpiresAt,
      userAgent: client.userAgent?.slice(0, 512),
      ip: client.ip?.slice(0, 64),
    });
    // Read now rather than taken from `user`: a revocation earlier in this transaction, or a role change
    // committed since `user` was read, may have raised the version — and role and version must match.
    const claims = await this.repo.tokenClaims(tx, user.id);
    const access = await this.issuer.accessToken({
      userId: user.id,
      role: claims.role,
      sessionId: session.familyId,
      version: claims.tokenVersion,
    });
    return {
      accessToken: access.token,
      accessTokenExpiresAt: access.expiresAt,
      refreshToken: refresh.token,
      refreshTokenExpiresAt,
      user,
    };
  }
}
