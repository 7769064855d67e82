import { createHash, randomBytes } from 'node:crypto';
import { AppError } from '@carwash/errors';
import type { Viewer } from '@carwash/service-trust';
import { validate, z, type Logger } from '@carwash/subgraph-kit';
import { clientKey } from '@carwash/client-address';
import type { AuthConfig } from './config.js';
import type { MailSender } from './mail.js';
import { hashPassword } from './passwords.js';
import type { AccountTokenPurpose, User } from './repository.js';
import type { AuthStore, ClientInfo } from './service.js';
import type { RecoveryThrottle } from './throttle.js';
import * as input from './validation.js';

/** 256 random bits: unguessable, so only the mail's reader can use the link. */
const TOKEN_BYTES = 32;
const SECONDS_PER_MINUTE = 60;
const SECONDS_PER_HOUR = 3600;

/** "60 minutes", "48 hours": how long a link works, as the mail says it. */
function lifetime(seconds: number): string {
  return seconds < 2 * SECONDS_PER_HOUR
    ? `${Math.round(seconds / SECONDS_PER_MINUTE)} minutes`
    : `${Math.round(seconds / SECONDS_PER_HOUR)} hours`;
}

type Settings = Pick<
  AuthConfig,
  'AUTH_PUBLIC_URL' | 'AUTH_PASSWORD_RESET_TTL_SECONDS' | 'AUTH_EMAIL_VERIFICATION_TTL_SECONDS'
>;

/** The mails that carry an account token: what each says, where its link points, how long the token works. */
const LINK_MAILS: Record<
  AccountTokenPurpose,
  {
    ttl: Exclude<keyof Settings, 'AUTH_PUBLIC_URL'>;
    path: string;
    subject: string;
    paragraphs: (validFor: string, link: string) => string[];
  }
> = {
  RESET_PASSWORD: {
    ttl: 'AUTH_PASSWORD_RESET_TTL_SECONDS',
    path: '/reset-password',
    subject: 'Reset your car-wash password',
    paragraphs: (validFor, link) => [
      'Someone (hopefully you) asked to reset the password of your car-wash account.',
      `Choose a new password here; the link works once, for ${validFor}:`,
      link,
      'If it was not you, ignore this mail: your password stays as it is.',
    ],
  },
  VERIFY_EMAIL: {
    ttl: 'AUTH_EMAIL_VERIFICATION_TTL_SECONDS',
    path: '/verify-email',
    subject: 'Confirm your email address',
    paragraphs: (validFor, link) => [
      'Confirm this address for your car-wash account.',
      `The link works once, for ${validFor}:`,
      link,
    ],
  },
};

const accountToken = z.string().min(1, 'must not be empty').max(200, 'is not a token from our mail');

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function invalidToken(): AppError {
  return new AppError('AUTH_RECOVERY_TOKEN_INVALID', { field: 'token' });
}

/**
 * Email verification and password reset: single-use, expiring links sent by mail, stored as SHA-256.
 * Asking for a reset answers the same (and does the same work before answering) whether or not the
 * email has an account: the token and the mail are made after the answer, in the background.
 */
export class AccountRecovery {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly repo: AuthStore,
    private readonly mail: MailSender,
    private readonly throttle: RecoveryThrottle,
    private readonly settings: Settings,
    private readonly logger: Logger,
  ) {}

  /** Always true (unless throttled or malformed): the answer never says whether the email has an account. */
  async requestPasswordReset(rawEmail: unknown, client: ClientInfo): Promise<true> {
    const email = input.normalizeEmail(validate(input.email, rawEmail, 'email'));
    await this.throttle.consume('reset', email, clientKey(client.ip));
    const user = await this.repo.findUserByEmail(email);
    if (user && !user.deletedAt && user.email)
      this.inBackground('password reset', () => this.sendLink(user, 'RESET_PASSWORD'));
    return true;
  }

  /**
   * Sets a new password with a reset token and ends every session of the account (refresh and access
   * tokens: through `revokeAllForUser`). The token is spent only when the new password is acceptable,
   * so a weak choice can be corrected with the same link. Also proves the mailbox: the email counts as
   * verified, and this client's lockout for the account is cleared.
   */
  async resetPassword(rawToken: unknown, rawPassword: unknown, client: ClientInfo): Promise<true> {
    const token = validate(accountToken, rawToken, 'token');
    const row = await this.repo.findLiveAccountToken(hashToken(token), 'RESET_PASSWORD');
    const user = row ? await this.repo.findUserById(row.userId) : null;
    if (!row || !user || user.deletedAt || user.emailNormalized !== row.emailNormalized) throw invalidToken();
    const password = validate(
      z.string().pipe(input.password(user.email ?? undefined)),
      rawPassword,
      'newPassword',
    );
    const passwordHash = await hashPassword(password);
    const done = await this.repo.transaction(async (tx) => {
      if (!(await this.repo.spendAccountToken(tx, row.id))) return false;
      await this.repo.setPasswordHash(tx, user.id, passwordHash, { emailVerified: true });
      await this.repo.spendAllAccountTokens(tx, user.id, 'RESET_PASSWORD');
      await this.repo.revokeAllForUser(tx, user.id, 'password_reset');
      await this.repo.recordAttempt(tx, {
        emailNormalized: row.emailNormalized,
        ip: client.ip,
        clientKey: clientKey(client.ip),
        outcome: 'SUCCEEDED',
      });
      return true;
    });
    if (!done) throw invalidToken();
    return true;
  }

  /** Mails the signed-in user a verification link (nothing when already verified). Throttled like resets. */
  async requestEmailVerification(viewer: Viewer, client: ClientInfo): Promise<true> {
    const user = await this.repo.findUserById(viewer.userId);
    if (!user || user.deletedAt || !user.emailNormalized) throw new AppError('UNAUTHENTICATED');
    await this.throttle.consume('verify', user.emailNormalized, clientKey(client.ip));
    if (!user.emailVerified) await this.sendLink(user, 'VERIFY_EMAIL');
    return true;
  }

  /** Marks the address the link was sent to as verified. Needs no session: the link may be opened anywhere. */
  async verifyEmail(rawToken: unknown): Promise<true> {
    const token = validate(accountToken, rawToken, 'token');
    const row = await this.repo.findLiveAccountToken(hashToken(token), 'VERIFY_EMAIL');
    const user = row ? await this.repo.findUserById(row.userId) : null;
    // A link for an address the account no longer has proves nothing about the current one.
    if (!row || !user || user.deletedAt || user.emailNormalized !== row.emailNormalized) throw invalidToken();
    const done = await this.repo.transaction(async (tx) => {
      if (!(await this.repo.spendAccountToken(tx, row.id))) return false;
      await this.repo.markEmailVerified(tx, user.id);
      await this.repo.spendAllAccountTokens(tx, user.id, 'VERIFY_EMAIL');
      return true;
    });
    if (!done) throw invalidToken();
    return true;
  }

  /** After sign-up: the first verification mail. Never fails the sign-up; a failure is logged. */
  async welcome(user: User): Promise<void> {
    try {
      await this.sendLink(user, 'VERIFY_EMAIL');
    } catch (err) {
      this.logger.error({ err, userId: user.id }, 'could not send the verification mail after sign-up');
    }
  }

  /** Waits for mail still being prepared (on shutdown). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  /** Mails `user` a new single-use link for `purpose`, saying how long it works. */
  private async sendLink(user: User, purpose: AccountTokenPurpose): Promise<void> {
    const mail = LINK_MAILS[purpose];
    const ttl = this.settings[mail.ttl];
    const token = await this.issue(user, purpose, ttl);
    await this.mail.send({
      to: user.email!,
      subject: mail.subject,
      text: mail.paragraphs(lifetime(ttl), this.link(mail.path, token)).join('\n\n'),
    });
  }

  private async issue(user: User, purpose: AccountTokenPurpose, ttlSeconds: number): Promise<string> {
    const token = randomBytes(TOKEN_BYTES).toString('base64url');
    const now = new Date();
    await this.repo.transaction((tx) =>
      this.repo.createAccountToken(
        tx,
        {
          userId: user.id,
          purpose,
          tokenHash: hashToken(token),
          emailNormalized: user.emailNormalized!,
          expiresAt: new Date(now.getTime() + ttlSeconds * 1000),
        },
        now,
      ),
    );
    return token;
  }

  private link(path: string, token: string): string {
    const url = new URL(path, this.settings.AUTH_PUBLIC_URL);
    url.searchParams.set('token', token);
    return url.toString();
  }

  private inBackground(what: string, task: () => Promise<void>): void {
    const run: Promise<void> = task()
      .catch((err: unknown) => this.logger.error({ err }, `could not send the ${what} mail`))
      .finally(() => this.pending.delete(run));
    this.pending.add(run);
  }
}
