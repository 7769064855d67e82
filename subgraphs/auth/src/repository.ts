import type { AuthDb } from './db.js';
import { outbox } from './events.js';
import {
  Prisma,
  type AccountToken,
  type AccountTokenPurpose,
  type LoginOutcome,
  type Role,
  type Session,
  type User,
} from './generated/prisma/client.js';

export type { AccountToken, AccountTokenPurpose, Role, Session, User };
export type Tx = Prisma.TransactionClient;
type TransactionOptions = {
  timeout?: number;
  maxWait?: number;
  isolationLevel?: Prisma.TransactionIsolationLevel;
};

/** What a committed transaction revoked: a session family, or every token of a user below a version. */
export type Revocation =
  | { kind: 'session'; sessionId: string; userId: string }
  | { kind: 'user'; userId: string; minVersion: number };

/** True when `err` is a unique-constraint violation (Prisma's P2002), e.g. an email already taken. */
export function isUniqueViolation(err: unknown): boolean {
  return err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002';
}

/** Records an event in the auth outbox, inside the caller's transaction (see `featureOutbox`). */
const recordEvent = outbox.record;

/**
 * Data access for the auth feature's tables, and the only user of the auth Prisma client (lint rule
 * `carwash/prisma-in-repositories`). No rules here: those live in the service. Writes take the
 * transaction client that `transaction` hands out.
 */
export class AuthRepository {
  /** Revocations recorded by a transaction still open, keyed by its client; applied once it commits. */
  private readonly pending = new WeakMap<Tx, Revocation[]>();

  /**
   * The database, with one addition: an interactive `db.$transaction(fn)` is `transaction(fn)`, so every
   * caller — whoever writes it — gets its revocations applied right after the commit.
   */
  readonly db: AuthDb;
  private readonly begin: AuthDb['$transaction'];

  /**
   * @param afterCommit applies the revocations of a committed transaction to the revocation store at
   *   once (the fast path); the outbox events recorded with them are the guarantee if that fails.
   */
  constructor(
    db: AuthDb,
    private readonly afterCommit: (revocations: Revocation[]) => Promise<void> = async () => {},
  ) {
    this.begin = db.$transaction.bind(db) as AuthDb['$transaction'];
    const interactive = (arg: unknown, options?: TransactionOptions) =>
      typeof arg === 'function'
        ? this.transaction(arg as (tx: Tx) => Promise<unknown>, options)
        : (this.begin as (a: unknown, o?: unknown) => Promise<unknown>)(arg, options);
    this.db = new Proxy(db, {
      get: (target, prop) => {
        if (prop === '$transaction') return interactive;
        const value: unknown = Reflect.get(target, prop, target);
        // Bound, so the client's own methods never see the proxy as `this`.
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }

  /**
   * `$transaction`, plus: the revocations it recorded are applied before this resolves, so the old
   * tokens are refused by the time the mutation answers.
   */
  async transaction<T>(fn: (tx: Tx) => Promise<T>, options?: TransactionOptions): Promise<T> {
    let client: Tx | undefined;
    const result = await this.begin((tx) => {
      client = tx;
      return fn(tx);
    }, options);
    const revocations = client && this.pending.get(client);
    if (revocations?.length) await this.afterCommit(revocations);
    return result;
  }

  private remember(tx: Tx, revocation: Revocation): void {
    const list = this.pending.get(tx) ?? [];
    list.push(revocation);
    this.pending.set(tx, list);
  }

  /**
   * What an access token states about the user, read in one statement inside the transaction that
   * issues it: a role change and its version bump commit together, so the two always match.
   */
  tokenClaims(tx: Tx, userId: string): Promise<{ role: Role; tokenVersion: number }> {
    return tx.user.findUniqueOrThrow({ where: { id: userId }, select: { role: true, tokenVersion: true } });
  }

  /**
   * Ends every access token the user holds: raises the token version (tokens issued later in this
   * transaction carry the new one) and records `auth.user.tokensRevoked` in the outbox. Returns the new version.
   */
  async revokeUserTokens(tx: Tx, userId: string, reason: string): Promise<number> {
    const { tokenVersion } = await tx.user.update({
      where: { id: userId },
      data: { tokenVersion: { increment: 1 } },
      select: { tokenVersion: true },
    });
    await recordEvent(tx, 'auth.user.tokensRevoked', userId, { userId, minVersion: tokenVersion, reason });
    this.remember(tx, { kind: 'user', userId, minVersion: tokenVersion });
    return tokenVersion;
  }

  /** Stamps a successful login. */
  recordLogin(tx: Tx, userId: string, at: Date): Promise<User> {
    return tx.user.update({ where: { id: userId }, data: { lastLoginAt: at } });
  }

  /** Stores a new password hash; `emailVerified` too when the change proved the mailbox (a reset link). */
  setPasswordHash(
    tx: Tx,
    userId: string,
    passwordHash: string,
    proof: { emailVerified?: true } = {},
  ): Promise<User> {
    return tx.user.update({ where: { id: userId }, data: { passwordHash, ...proof } });
  }

  async markEmailVerified(tx: Tx, userId: string): Promise<void> {
    await tx.user.update({ where: { id: userId }, data: { emailVerified: true } });
  }

  /** Changes the role only; callers revoke the tokens that carry the old one (`revokeUserTokens`). */
  setRole(tx: Tx, userId: string, role: Role): Promise<User> {
    return tx.user.update({ where: { id: userId }, data: { role } });
  }

  /**
   * Erases a user's personal data but keeps the row (other features hold its id): login history,
   * sessions and mailed tokens go, every access token is revoked, the personal columns are cleared,
   * and `auth.user.deleted` goes to the outbox — all in the caller's transaction.
   */
  async eraseUser(tx: Tx, user: Pick<User, 'id' | 'emailNormalized'>, deletedAt: Date): Promise<void> {
    if (user.emailNormalized)
      await tx.loginAttempt.deleteMany({ where: { emailNormalized: user.emailNormalized } });
    await tx.session.deleteMany({ where: { userId: user.id } });
    await tx.accountToken.deleteMany({ where: { userId: user.id } });
    await this.revokeUserTokens(tx, user.id, 'deleted');
    await tx.user.update({
      where: { id: user.id },
      data: {
        email: null,
        emailNormalized: null,
        passwordHash: null,
        firstName: null,
        lastName: null,
        deletedAt,
      },
    });
    await recordEvent(tx, 'auth.user.deleted', user.id, { userId: user.id });
  }

  /** One statement for any number of ids (the DataLoader batch). */
  findUsersByIds(ids: readonly string[]): Promise<User[]> {
    // Raw: every `User` reference of a response comes through here (200 on a dashboard of 100
    // bookings); it skips the client's query compilation and result mapping.
    return this.db.$queryRaw<User[]>`
      SELECT id, email, email_normalized AS "emailNormalized", password_hash AS "passwordHash",
             first_name AS "firstName", last_name AS "lastName", role::text AS role,
             email_verified AS "emailVerified", created_at AS "createdAt", updated_at AS "updatedAt",
             last_login_at AS "lastLoginAt", deleted_at AS "deletedAt", token_version AS "tokenVersion"
      FROM auth_users WHERE id = ANY(${[...ids]}::uuid[])`;
  }

  findUserByEmail(emailNormalized: string, tx: Tx = this.db): Promise<User | null> {
    return tx.user.findUnique({ where: { emailNormalized } });
  }

  findUserById(id: string, tx: Tx = this.db): Promise<User | null> {
    return tx.user.findUnique({ where: { id } });
  }

  createUser(
    data: {
      email: string;
      emailNormalized: string;
      passwordHash: string;
      firstName: string;
      lastName: string;
      role?: Role;
      emailVerified?: boolean;
    },
    tx: Tx = this.db,
  ): Promise<User> {
    return tx.user.create({ data });
  }

  /** Newest first, keyset-paginated on (createdAt, id) so pages stay stable while users sign up. */
  async listUsers(args: {
    /** Rows to read: the page and one more, which tells whether there is a next page. */
    limit: number;
    after?: { createdAt: Date; id: string } | undefined;
    role?: Role | undefined;
    includeDeleted: boolean;
  }): Promise<{ users: User[]; totalCount: number }> {
    const filter: Prisma.UserWhereInput = {
      ...(args.role ? { role: args.role } : {}),
      ...(args.includeDeleted ? {} : { deletedAt: null }),
    };
    const page: Prisma.UserWhereInput = args.after
      ? {
          OR: [
            { createdAt: { lt: args.after.createdAt } },
            { createdAt: args.after.createdAt, id: { lt: args.after.id } },
          ],
        }
      : {};
    const [rows, totalCount] = await Promise.all([
      this.db.user.findMany({
        where: { AND: [filter, page] },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: args.limit,
      }),
      this.db.user.count({ where: filter }),
    ]);
    return { users: rows, totalCount };
  }

  /** Serialises login attempts for one email, so parallel guesses cannot slip past the lockout. */
  async lockEmail(tx: Tx, emailNormalized: string): Promise<void> {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${'auth.login:' + emailNormalized}, 0))`;
  }

  /** Outcomes of the latest attempts for an email from one client network since `since`, newest first (LOCKED ones ignored). */
  recentAttempts(
    tx: Tx,
    emailNormalized: string,
    clientKey: string,
    since: Date,
    limit: number,
  ): Promise<Array<{ outcome: LoginOutcome; attemptedAt: Date }>> {
    return tx.loginAttempt.findMany({
      where: { emailNormalized, clientKey, attemptedAt: { gt: since }, outcome: { not: 'LOCKED' } },
      orderBy: { attemptedAt: 'desc' },
      take: limit,
      select: { outcome: true, attemptedAt: true },
    });
  }

  /** Failures from one client network since `since`, whatever the email. */
  countClientFailures(tx: Tx, clientKey: string, since: Date): Promise<number> {
    return tx.loginAttempt.count({ where: { clientKey, outcome: 'FAILED', attemptedAt: { gt: since } } });
  }

  async recordAttempt(
    tx: Tx,
    attempt: { emailNormalized: string; ip: string | undefined; clientKey: string; outcome: LoginOutcome },
  ): Promise<void> {
    await tx.loginAttempt.create({ data: { ...attempt, ip: attempt.ip?.slice(0, 64) ?? null } });
  }

  createSession(
    tx: Tx,
    data: {
      userId: string;
      familyId: string;
      tokenHash: string;
      expiresAt: Date;
      userAgent?: string | undefined;
      ip?: string | undefined;
    },
  ): Promise<Session> {
    return tx.session.create({ data: { ...data, userAgent: data.userAgent ?? null, ip: data.ip ?? null } });
  }

  /** Locks the session row so two refreshes of one token cannot both succeed. */
  async findSessionForUpdate(tx: Tx, tokenHash: string): Promise<Session | null> {
    const rows = await tx.$queryRaw<
      Array<{ id: string }>
    >`SELECT id FROM auth_user_sessions WHERE token_hash = ${tokenHash} FOR UPDATE`;
    if (rows.length === 0) return null;
    return tx.session.findUnique({ where: { id: rows[0]!.id } });
  }

  async markSessionUsed(tx: Tx, id: string, at: Date): Promise<void> {
    await tx.session.update({ where: { id }, data: { usedAt: at } });
  }

  /** Stores a new mailed token (its hash only) and retires the user's earlier unspent ones of that purpose: only the newest mail works. */
  async createAccountToken(
    tx: Tx,
    data: {
      userId: string;
      purpose: AccountTokenPurpose;
      tokenHash: string;
      emailNormalized: string;
      expiresAt: Date;
    },
    now = new Date(),
  ): Promise<void> {
    await tx.accountToken.updateMany({
      where: { userId: data.userId, purpose: data.purpose, usedAt: null },
      data: { usedAt: now },
    });
    await tx.accountToken.create({ data });
  }

  /** A token that can still be spent: right purpose, unspent, unexpired. */
  findLiveAccountToken(
    tokenHash: string,
    purpose: AccountTokenPurpose,
    now = new Date(),
    tx: Tx = this.db,
  ): Promise<AccountToken | null> {
    return tx.accountToken.findFirst({ where: { tokenHash, purpose, usedAt: null, expiresAt: { gt: now } } });
  }

  /** Spends a token; false when another request spent it first (so exactly one use wins). */
  async spendAccountToken(tx: Tx, id: string, now = new Date()): Promise<boolean> {
    const { count } = await tx.accountToken.updateMany({
      where: { id, usedAt: null, expiresAt: { gt: now } },
      data: { usedAt: now },
    });
    return count === 1;
  }

  /** Retires every unspent token of the user (e.g. all reset links once the password was reset). */
  async spendAllAccountTokens(
    tx: Tx,
    userId: string,
    purpose: AccountTokenPurpose,
    now = new Date(),
  ): Promise<void> {
    await tx.accountToken.updateMany({ where: { userId, purpose, usedAt: null }, data: { usedAt: now } });
  }

  /**
   * Ends a session family: its refresh tokens here, its access tokens everywhere (`auth.session.revoked`
   * in the outbox, for the revocation store). A family already ended records nothing again.
   */
  async revokeFamily(tx: Tx, familyId: string, reason: string, at = new Date()): Promise<number> {
    const { count } = await tx.session.updateMany({
      where: { familyId, revokedAt: null },
      data: { revokedAt: at, revokedReason: reason },
    });
    if (count > 0) {
      const { userId } = await tx.session.findFirstOrThrow({ where: { familyId }, select: { userId: true } });
      await recordEvent(tx, 'auth.session.revoked', familyId, { sessionId: familyId, userId, reason });
      this.remember(tx, { kind: 'session', sessionId: familyId, userId });
    }
    return count;
  }

  /** Ends every session of the user and every access token it holds (see `revokeUserTokens`). */
  async revokeAllForUser(tx: Tx, userId: string, reason: string, at = new Date()): Promise<number> {
    const { count } = await tx.session.updateMany({
      where: { userId, revokedAt: null },
      data: { revokedAt: at, revokedReason: reason },
    });
    await this.revokeUserTokens(tx, userId, reason);
    return count;
  }
}
