import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  errorCode,
  freshClientAddress,
  gqlFrom,
  PASSWORD,
  signUp,
  startSupergraph,
  uniqueEmail,
  type GraphQLResult,
  type Running,
} from './support/supergraph.js';

const LOG_IN = `mutation($i: LogInInput!) { logIn(input: $i) { accessToken } }`;
const REFRESH = `mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken } }`;
const REQUEST_RESET = `mutation($e: String!) { requestPasswordReset(email: $e) }`;
const RESET = `mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }`;
const REQUEST_VERIFICATION = `mutation { requestEmailVerification }`;
const VERIFY = `mutation($t: String!) { verifyEmail(token: $t) }`;
const ME = `{ me { id emailVerified } }`;
const NEW_PASSWORD = 'Fresh-foam-and-wax-31';
const RESET_SUBJECT = 'Reset your car-wash password';
const VERIFY_SUBJECT = 'Confirm your email address';
/** The defaults: AUTH_RECOVERY_MAX_PER_EMAIL and AUTH_RECOVERY_MAX_PER_CLIENT. */
const MAX_PER_EMAIL = 3;
const MAX_PER_CLIENT = 10;
const MAIL_WAIT_MS = 5000;
const TIMING_TOLERANCE_MS = 25;

let sg: Running;
beforeAll(async () => {
  sg = await startSupergraph({ authEnv: { AUTH_DEV_MAILBOX: 'true' } });
});
afterAll(async () => {
  await sg?.stop();
});

function gql(
  query: string,
  variables: Record<string, unknown> = {},
  options: { token?: string; from?: string } = {},
): Promise<GraphQLResult> {
  return gqlFrom(sg, options.from ?? freshClientAddress(), query, variables, options.token);
}

interface Mail {
  to: string;
  subject: string;
  text: string;
}
async function mailbox(to: string): Promise<Mail[]> {
  const res = await fetch(new URL(`/dev/mailbox?to=${encodeURIComponent(to)}`, sg.authUrl));
  expect(res.status).toBe(200);
  return ((await res.json()) as { messages: Mail[] }).messages;
}
/** Waits for the `nth` mail with that subject (reset mail is prepared after the answer) and returns its token. */
async function tokenFromMail(to: string, subject: string, nth = 1): Promise<string> {
  const deadline = Date.now() + MAIL_WAIT_MS;
  for (;;) {
    const mails = (await mailbox(to)).filter((m) => m.subject === subject);
    if (mails.length >= nth) {
      const token = /[?&]token=([A-Za-z0-9_-]+)/.exec(mails[0]!.text)?.[1];
      expect(token).toBeDefined();
      return token!;
    }
    if (Date.now() > deadline) throw new Error(`no mail "${subject}" #${nth} for ${to}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A new user, signed up from an address of their own. */
function newUser() {
  return signUp(sg, {
    tag: 'recovery',
    firstName: 'Rae',
    lastName: 'Covery',
    from: freshClientAddress(),
  });
}

async function requestResetToken(email: string, nth = 1): Promise<string> {
  const res = await gql(REQUEST_RESET, { e: email });
  expect(res.errors).toBeUndefined();
  expect(res.data).toEqual({ requestPasswordReset: true });
  return tokenFromMail(email, RESET_SUBJECT, nth);
}

const logInCode = async (email: string, password: string) =>
  errorCode(await gql(LOG_IN, { i: { email, password } }));

describe('password reset', () => {
  it('resets the password with the mailed link: every old session ends, the new password works and the old one does not', async () => {
    const user = await newUser();
    const token = await requestResetToken(user.email);
    expect(
      (
        await sg.auth.db.accountToken.findFirstOrThrow({
          where: { userId: user.id, purpose: 'RESET_PASSWORD' },
        })
      ).tokenHash,
    ).toBe(createHash('sha256').update(token).digest('hex'));

    const reset = await gql(RESET, { t: token, p: NEW_PASSWORD });
    expect(reset.errors).toBeUndefined();
    expect(reset.data).toEqual({ resetPassword: true });

    expect(errorCode(await gql(REFRESH, { t: user.refreshToken }))).toBe('AUTH_INVALID_REFRESH_TOKEN');
    const sessions = await sg.auth.db.session.findMany({ where: { userId: user.id } });
    expect(sessions.map((s) => s.revokedReason)).toEqual(['password_reset']);
    expect(await logInCode(user.email, NEW_PASSWORD)).toBe('OK');
    expect(await logInCode(user.email, PASSWORD)).toBe('AUTH_INVALID_CREDENTIALS');
  });

  it('refuses a reset link used a second time (an attacker replaying a mail they saw later)', async () => {
    const user = await newUser();
    const token = await requestResetToken(user.email);
    expect(errorCode(await gql(RESET, { t: token, p: NEW_PASSWORD }))).toBe('OK');
    const replay = await gql(RESET, { t: token, p: 'Attackers-own-pick-99' });
    expect(replay.errors?.[0]?.extensions).toMatchObject({ code: 'AUTH_RECOVERY_TOKEN_INVALID' });
    expect(await logInCode(user.email, NEW_PASSWORD)).toBe('OK');
  });

  it('lets exactly one of two concurrent resets with one link win', async () => {
    const user = await newUser();
    const token = await requestResetToken(user.email);
    const codes = (
      await Promise.all([
        gql(RESET, { t: token, p: NEW_PASSWORD }),
        gql(RESET, { t: token, p: 'Other-new-password-88' }),
      ])
    )
      .map(errorCode)
      .sort();
    expect(codes).toEqual(['AUTH_RECOVERY_TOKEN_INVALID', 'OK']);
  });

  it('refuses an expired reset link and leaves the password as it was', async () => {
    const user = await newUser();
    const token = await requestResetToken(user.email);
    // Test setup: the link's hour has passed.
    await sg.auth.db.accountToken.updateMany({
      where: { userId: user.id },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    expect(errorCode(await gql(RESET, { t: token, p: NEW_PASSWORD }))).toBe('AUTH_RECOVERY_TOKEN_INVALID');
    expect(await logInCode(user.email, PASSWORD)).toBe('OK');
  });

  it('honours only the newest reset link', async () => {
    const user = await newUser();
    const first = await requestResetToken(user.email, 1);
    const second = await requestResetToken(user.email, 2);
    expect(second).not.toBe(first);
    expect(errorCode(await gql(RESET, { t: first, p: NEW_PASSWORD }))).toBe('AUTH_RECOVERY_TOKEN_INVALID');
    expect(errorCode(await gql(RESET, { t: second, p: NEW_PASSWORD }))).toBe('OK');
  });

  it('refuses a weak new password without spending the link, which then works with a strong one', async () => {
    const user = await newUser();
    const token = await requestResetToken(user.email);
    const weak = await gql(RESET, { t: token, p: 'short' });
    expect(weak.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'newPassword' });
    expect(errorCode(await gql(RESET, { t: token, p: NEW_PASSWORD }))).toBe('OK');
  });

  it('refuses a verification link presented as a reset link', async () => {
    const user = await newUser();
    const verification = await tokenFromMail(user.email, VERIFY_SUBJECT);
    expect(errorCode(await gql(RESET, { t: verification, p: NEW_PASSWORD }))).toBe(
      'AUTH_RECOVERY_TOKEN_INVALID',
    );
    expect(await logInCode(user.email, PASSWORD)).toBe('OK');
  });
});

describe('no account enumeration', () => {
  it('answers a reset request for an unknown email exactly as for a known one, in similar time, and mails only the account holder', async () => {
    const SAMPLES = 8;
    const known = await Promise.all(Array.from({ length: SAMPLES }, () => newUser()));
    const unknown = Array.from({ length: SAMPLES }, () => uniqueEmail('nobody'));
    const timings = { known: [] as number[], unknown: [] as number[] };
    const bodies = new Set<string>();
    for (let i = 0; i < SAMPLES; i++) {
      for (const [kind, email] of [
        ['known', known[i]!.email],
        ['unknown', unknown[i]!],
      ] as const) {
        const started = performance.now();
        const res = await gql(REQUEST_RESET, { e: email });
        timings[kind].push(performance.now() - started);
        bodies.add(JSON.stringify({ data: res.data, errors: res.errors }));
      }
    }
    expect([...bodies]).toEqual([JSON.stringify({ data: { requestPasswordReset: true } })]);
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const gap = Math.abs(median(timings.known) - median(timings.unknown));
    console.info(
      `requestPasswordReset median: known ${median(timings.known).toFixed(1)} ms, unknown ${median(timings.unknown).toFixed(1)} ms`,
    );
    // The token and the mail are made after the answer, so both answers take the same work: a few ms
    // apart at most (the bound leaves room for a loaded test machine).
    expect(gap).toBeLessThan(Math.max(TIMING_TOLERANCE_MS, median(timings.unknown) / 2));
    await tokenFromMail(known[0]!.email, RESET_SUBJECT);
    expect(await mailbox(unknown[0]!)).toEqual([]);
  });

  it('throttles an unknown email exactly like a known one', async () => {
    const user = await newUser();
    const ghost = uniqueEmail('ghost');
    for (const email of [user.email, ghost]) {
      for (let i = 0; i < MAX_PER_EMAIL; i++)
        expect(errorCode(await gql(REQUEST_RESET, { e: email }))).toBe('OK');
      const refused = await gql(REQUEST_RESET, { e: email });
      expect(refused.errors?.[0]?.extensions?.code).toBe('AUTH_RECOVERY_THROTTLED');
      expect(refused.errors?.[0]?.extensions?.retryAfterSeconds).toBeGreaterThan(0);
    }
  });
});

describe('throttle', () => {
  it(`refuses a ${MAX_PER_EMAIL + 1}th reset mail for one email within the window, from any address (mail-bombing a user)`, async () => {
    const user = await newUser();
    for (let i = 0; i < MAX_PER_EMAIL; i++)
      expect(errorCode(await gql(REQUEST_RESET, { e: user.email }))).toBe('OK');
    const refused = await gql(REQUEST_RESET, { e: user.email });
    expect(refused.errors?.[0]?.extensions?.code).toBe('AUTH_RECOVERY_THROTTLED');
    expect(refused.errors?.[0]?.extensions?.retryAfterSeconds).toBeGreaterThan(3000);
    await tokenFromMail(user.email, RESET_SUBJECT, MAX_PER_EMAIL);
    await new Promise((r) => setTimeout(r, 200));
    expect((await mailbox(user.email)).filter((m) => m.subject === RESET_SUBJECT)).toHaveLength(
      MAX_PER_EMAIL,
    );
  });

  it(`refuses one address asking for a ${MAX_PER_CLIENT + 1}th email, while another address still may`, async () => {
    const from = freshClientAddress();
    for (let i = 0; i < MAX_PER_CLIENT; i++)
      expect(errorCode(await gql(REQUEST_RESET, { e: uniqueEmail('spray') }, { from }))).toBe('OK');
    expect(errorCode(await gql(REQUEST_RESET, { e: uniqueEmail('spray') }, { from }))).toBe(
      'AUTH_RECOVERY_THROTTLED',
    );
    expect(errorCode(await gql(REQUEST_RESET, { e: uniqueEmail('spray') }))).toBe('OK');
  });

  it('throttles verification mails per email too', async () => {
    const user = await newUser();
    for (let i = 0; i < MAX_PER_EMAIL; i++)
      expect(errorCode(await gql(REQUEST_VERIFICATION, {}, { token: user.accessToken }))).toBe('OK');
    expect(errorCode(await gql(REQUEST_VERIFICATION, {}, { token: user.accessToken }))).toBe(
      'AUTH_RECOVERY_THROTTLED',
    );
  });
});

describe('email verification', () => {
  it('verifies the email with the link mailed at sign-up, once', async () => {
    const user = await newUser();
    const before = await gql(ME, {}, { token: user.accessToken });
    expect(before.data).toEqual({ me: { id: user.id, emailVerified: false } });
    const token = await tokenFromMail(user.email, VERIFY_SUBJECT);
    // Opened signed out, e.g. on the phone that reads the mail.
    expect((await gql(VERIFY, { t: token })).data).toEqual({ verifyEmail: true });
    expect((await gql(ME, {}, { token: user.accessToken })).data).toEqual({
      me: { id: user.id, emailVerified: true },
    });
    expect(errorCode(await gql(VERIFY, { t: token }))).toBe('AUTH_RECOVERY_TOKEN_INVALID');
  });

  it('mails a fresh link on request, retires the earlier one, and sends nothing once verified', async () => {
    const user = await newUser();
    const atSignUp = await tokenFromMail(user.email, VERIFY_SUBJECT, 1);
    expect((await gql(REQUEST_VERIFICATION, {}, { token: user.accessToken })).data).toEqual({
      requestEmailVerification: true,
    });
    const fresh = await tokenFromMail(user.email, VERIFY_SUBJECT, 2);
    expect(errorCode(await gql(VERIFY, { t: atSignUp }))).toBe('AUTH_RECOVERY_TOKEN_INVALID');
    expect(errorCode(await gql(VERIFY, { t: fresh }))).toBe('OK');
    expect(errorCode(await gql(REQUEST_VERIFICATION, {}, { token: user.accessToken }))).toBe('OK');
    expect((await mailbox(user.email)).filter((m) => m.subject === VERIFY_SUBJECT)).toHaveLength(2);
  });

  it('refuses an expired verification link', async () => {
    const user = await newUser();
    const token = await tokenFromMail(user.email, VERIFY_SUBJECT);
    await sg.auth.db.accountToken.updateMany({
      where: { userId: user.id },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    expect(errorCode(await gql(VERIFY, { t: token }))).toBe('AUTH_RECOVERY_TOKEN_INVALID');
  });

  it('refuses to mail a verification link to nobody in particular (signed out)', async () => {
    expect(errorCode(await gql(REQUEST_VERIFICATION))).toBe('UNAUTHENTICATED');
  });

  it('marks the email verified by a password reset (the mailbox was proven)', async () => {
    const user = await newUser();
    const token = await requestResetToken(user.email);
    expect(errorCode(await gql(RESET, { t: token, p: NEW_PASSWORD }))).toBe('OK');
    expect((await sg.auth.db.user.findUniqueOrThrow({ where: { id: user.id } })).emailVerified).toBe(true);
  });
});
