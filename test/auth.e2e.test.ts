import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, PASSWORD, startSupergraph, uniqueEmail, type Running } from './support/supergraph.js';

const SIGN_UP = `mutation SignUp($input: SignUpInput!) {
  signUp(input: $input) { accessToken refreshToken accessTokenExpiresAt user { id email role } }
}`;
const LOG_IN = `mutation LogIn($input: LogInInput!) {
  logIn(input: $input) { accessToken refreshToken user { id email lastLoginAt } }
}`;
const REFRESH = `mutation Refresh($token: String!) { refreshSession(refreshToken: $token) { accessToken refreshToken user { id } } }`;
const ME = `{ me { id email firstName lastName role lastLoginAt deleted } }`;

interface Tokens {
  accessToken: string;
  refreshToken: string;
  user: { id: string; email: string };
}

let sg: Running;

beforeAll(async () => {
  sg = await startSupergraph();
});
afterAll(async () => {
  await sg?.stop();
});

async function signUp(email = uniqueEmail()): Promise<Tokens & { email: string }> {
  const res = await sg.gql<{ signUp: Tokens }>(SIGN_UP, {
    input: { email, password: PASSWORD, firstName: 'Ada', lastName: 'Byron' },
  });
  expect(res.errors).toBeUndefined();
  return { ...res.data!.signUp, email };
}

/** Test setup only: gives a user a role directly in the auth database, then logs in for a token carrying it. */
async function userWithRole(role: 'ADMIN' | 'MANAGER' | 'WASHER'): Promise<Tokens> {
  const { email, user } = await signUp(uniqueEmail(role.toLowerCase()));
  await sg.auth.db.user.update({ where: { id: user.id }, data: { role } });
  const res = await sg.gql<{ logIn: Tokens }>(LOG_IN, { input: { email, password: PASSWORD } });
  return res.data!.logIn;
}

describe('sign-up, log-in and me through the gateway', () => {
  it('signs up, logs in and reads the signed-in user', async () => {
    const email = uniqueEmail();
    const up = await signUp(email.toUpperCase());
    expect(up.user.email).toBe(email.toUpperCase());

    const login = await sg.gql<{ logIn: Tokens & { user: { lastLoginAt: string } } }>(LOG_IN, {
      input: { email, password: PASSWORD },
    });
    expect(login.errors).toBeUndefined();
    expect(login.data!.logIn.user.id).toBe(up.user.id);
    expect(new Date(login.data!.logIn.user.lastLoginAt).getTime()).toBeGreaterThan(Date.now() - 60_000);

    const me = await sg.gql<{ me: { id: string; email: string; role: string; deleted: boolean } }>(
      ME,
      {},
      login.data!.logIn.accessToken,
    );
    expect(me.data!.me).toMatchObject({
      id: up.user.id,
      email: email.toUpperCase(),
      role: 'CLIENT',
      deleted: false,
    });
  });

  it('answers me with null for an anonymous request', async () => {
    const res = await sg.gql(ME);
    expect(res.errors).toBeUndefined();
    expect(res.data).toEqual({ me: null });
  });

  it('refuses a second account for the same email in another case', async () => {
    const { email } = await signUp();
    const res = await sg.gql(SIGN_UP, {
      input: { email: `  ${email.toUpperCase()} `, password: PASSWORD, firstName: 'A', lastName: 'B' },
    });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'AUTH_EMAIL_TAKEN', field: 'input.email' });
  });

  it('refuses a wrong password without saying whether the email exists', async () => {
    const { email } = await signUp();
    const wrong = await sg.gql(LOG_IN, { input: { email, password: 'Not-the-password-1' } });
    const unknown = await sg.gql(LOG_IN, {
      input: { email: uniqueEmail('nobody'), password: 'Not-the-password-1' },
    });
    expect(wrong.errors?.[0]?.extensions?.code).toBe('AUTH_INVALID_CREDENTIALS');
    expect(unknown.errors?.[0]?.extensions?.code).toBe('AUTH_INVALID_CREDENTIALS');
    expect(wrong.errors?.[0]?.message).toBe(unknown.errors?.[0]?.message);
  });
});

describe('refresh tokens', () => {
  it('rotates the refresh token on every use', async () => {
    const first = await signUp();
    const second = await sg.gql<{ refreshSession: Tokens }>(REFRESH, { token: first.refreshToken });
    expect(second.errors).toBeUndefined();
    const rotated = second.data!.refreshSession;
    expect(rotated.refreshToken).not.toBe(first.refreshToken);
    expect(rotated.user.id).toBe(first.user.id);
    const me = await sg.gql<{ me: { id: string } }>(ME, {}, rotated.accessToken);
    expect(me.data!.me.id).toBe(first.user.id);
    const third = await sg.gql<{ refreshSession: Tokens }>(REFRESH, { token: rotated.refreshToken });
    expect(third.errors).toBeUndefined();
  });

  it('revokes the whole session family when a used refresh token comes back', async () => {
    const first = await signUp();
    const second = (await sg.gql<{ refreshSession: Tokens }>(REFRESH, { token: first.refreshToken })).data!
      .refreshSession;

    const replay = await sg.gql(REFRESH, { token: first.refreshToken });
    expect(replay.errors?.[0]?.extensions?.code).toBe('AUTH_REFRESH_TOKEN_REUSED');

    // The legitimate successor is now dead too: the thief and the victim must both sign in again.
    const successor = await sg.gql(REFRESH, { token: second.refreshToken });
    expect(successor.errors?.[0]?.extensions?.code).toBe('AUTH_INVALID_REFRESH_TOKEN');
    const sessions = await sg.auth.db.session.findMany({ where: { userId: first.user.id } });
    expect(sessions).toHaveLength(2);
    expect(sessions.every((s) => s.revokedAt !== null && s.revokedReason === 'reuse')).toBe(true);
  });

  it('lets exactly one of two concurrent refreshes with the same token win', async () => {
    const first = await signUp();
    const results = await Promise.all([
      sg.gql(REFRESH, { token: first.refreshToken }),
      sg.gql(REFRESH, { token: first.refreshToken }),
    ]);
    const codes = results.map(errorCode).sort();
    expect(codes).toEqual(['AUTH_REFRESH_TOKEN_REUSED', 'OK']);
  });

  it('ends the session on log-out', async () => {
    const first = await signUp();
    const out = await sg.gql(`mutation($t: String!) { logOut(refreshToken: $t) }`, { t: first.refreshToken });
    expect(out.data).toEqual({ logOut: true });
    const after = await sg.gql(REFRESH, { token: first.refreshToken });
    expect(after.errors?.[0]?.extensions?.code).toBe('AUTH_INVALID_REFRESH_TOKEN');
  });
});

describe('lockout', () => {
  it('refuses further attempts with AUTH_LOCKED after 5 failures, even with the right password', async () => {
    const { email } = await signUp();
    for (let i = 0; i < 5; i++) {
      const res = await sg.gql(LOG_IN, { input: { email, password: `Wrong-password-${i}` } });
      expect(res.errors?.[0]?.extensions?.code).toBe('AUTH_INVALID_CREDENTIALS');
    }
    const locked = await sg.gql(LOG_IN, { input: { email, password: PASSWORD } });
    expect(locked.errors?.[0]?.extensions?.code).toBe('AUTH_LOCKED');
    expect(locked.errors?.[0]?.extensions?.retryAfterSeconds).toBeGreaterThan(800);
    expect(locked.data).toBeNull();
    const attempts = await sg.auth.db.loginAttempt.groupBy({
      by: ['outcome'],
      where: { emailNormalized: email },
      _count: true,
    });
    expect(Object.fromEntries(attempts.map((a) => [a.outcome, a._count]))).toEqual({ FAILED: 5, LOCKED: 1 });
  });

  it('locks an unknown email exactly like a known one', async () => {
    const email = uniqueEmail('ghost');
    for (let i = 0; i < 5; i++) await sg.gql(LOG_IN, { input: { email, password: `Wrong-password-${i}` } });
    const locked = await sg.gql(LOG_IN, { input: { email, password: PASSWORD } });
    expect(locked.errors?.[0]?.extensions?.code).toBe('AUTH_LOCKED');
  });

  it('counts parallel guesses: 20 at once still yield at most 5 password checks', async () => {
    const { email } = await signUp();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        sg.gql(LOG_IN, { input: { email, password: `Parallel-guess-${i}` } }),
      ),
    );
    const codes = results.map((r) => r.errors?.[0]?.extensions?.code);
    expect(codes.filter((c) => c === 'AUTH_INVALID_CREDENTIALS')).toHaveLength(5);
    expect(codes.filter((c) => c === 'AUTH_LOCKED')).toHaveLength(15);
  });
});

describe('access tokens', () => {
  it('refuses a tampered token with 401 UNAUTHENTICATED', async () => {
    const { accessToken } = await signUp();
    const [header, payload, signature] = accessToken.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, role: 'ADMIN' })).toString('base64url')}.${signature}`;
    const res = await sg.gql(ME, {}, forged);
    expect(res.status).toBe(401);
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(res.data).toBeUndefined();
  });

  it('refuses an expired token with 401 UNAUTHENTICATED', async () => {
    const { user } = await signUp();
    const { token } = await sg.auth.issuer.accessToken(
      { userId: user.id, role: 'CLIENT', sessionId: user.id },
      new Date(Date.now() - 3_600_000),
    );
    const res = await sg.gql(ME, {}, token);
    expect(res.status).toBe(401);
    expect(res.errors?.[0]).toMatchObject({
      message: 'The access token has expired.',
      extensions: { code: 'UNAUTHENTICATED' },
    });
  });

  it('refuses a malformed Authorization header', async () => {
    const res = await fetch(sg.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Basic abc' },
      body: JSON.stringify({ query: ME }),
    });
    expect(res.status).toBe(401);
  });
});

describe('who may read what', () => {
  it("hides another user's email and last login from a client", async () => {
    const alice = await signUp();
    const bob = await signUp();
    const res = await sg.gql<{ user: { id: string; firstName: string; email: string | null } }>(
      `query($id: ID!) { user(id: $id) { id firstName email lastLoginAt } }`,
      { id: bob.user.id },
      alice.accessToken,
    );
    expect(res.data?.user).toMatchObject({ id: bob.user.id, firstName: 'Ada', email: null });
    expect(res.errors?.map((e) => [e.path?.join('.'), e.extensions?.code])).toEqual([
      ['user.email', 'FORBIDDEN'],
      ['user.lastLoginAt', 'FORBIDDEN'],
    ]);
  });

  it("shows another user's email to an admin and to a manager", async () => {
    const bob = await signUp();
    for (const role of ['ADMIN', 'MANAGER'] as const) {
      const staff = await userWithRole(role);
      const res = await sg.gql<{ user: { email: string } }>(
        `query($id: ID!) { user(id: $id) { email } }`,
        { id: bob.user.id },
        staff.accessToken,
      );
      expect(res.errors).toBeUndefined();
      expect(res.data!.user.email).toBe(bob.email);
    }
  });

  it('lists users for managers, paged and filtered by role, and refuses clients', async () => {
    const manager = await userWithRole('MANAGER');
    const washers = [
      await userWithRole('WASHER'),
      await userWithRole('WASHER'),
      await userWithRole('WASHER'),
    ];
    const q = `query($after: String) { users(first: 2, role: WASHER, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { id role } } }`;
    type Page = {
      users: {
        totalCount: number;
        pageInfo: { hasNextPage: boolean; endCursor: string };
        nodes: Array<{ id: string; role: string }>;
      };
    };
    const page1 = await sg.gql<Page>(q, {}, manager.accessToken);
    expect(page1.errors).toBeUndefined();
    expect(page1.data!.users.nodes).toHaveLength(2);
    expect(page1.data!.users.pageInfo.hasNextPage).toBe(true);
    expect(page1.data!.users.nodes.every((n) => n.role === 'WASHER')).toBe(true);
    // Newest first: the two washers this test just made lead the list.
    expect(page1.data!.users.nodes.map((n) => n.id)).toEqual([washers[2]!.user.id, washers[1]!.user.id]);
    const page2 = await sg.gql<Page>(q, { after: page1.data!.users.pageInfo.endCursor }, manager.accessToken);
    expect(page2.data!.users.nodes[0]!.id).toBe(washers[0]!.user.id);
    expect(page2.data!.users.totalCount).toBe(page1.data!.users.totalCount);

    // A cursor is opaque: an edited one, or one of another list, is refused with a coded error.
    const cursor = page1.data!.users.pageInfo.endCursor;
    const forged = Buffer.from(
      JSON.stringify(['k:auth.users', '2026-01-01T00:00:00Z', washers[0]!.user.id]),
    ).toString('base64url');
    for (const after of [`${cursor.slice(0, -3)}xyz`, forged, 'T0ZGU0VUOjQw']) {
      const bad = await sg.gql(q, { after }, manager.accessToken);
      expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    }
    const tooMany = await sg.gql(`{ users(first: 101) { totalCount } }`, {}, manager.accessToken);
    expect(tooMany.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });

    const client = await signUp();
    const refused = await sg.gql(q, {}, client.accessToken);
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('lets only admins change roles, and never their own', async () => {
    const admin = await userWithRole('ADMIN');
    const target = await signUp();
    const SET = `mutation($id: ID!, $role: Role!) { setUserRole(userId: $id, role: $role) { id role } }`;
    const byClient = await sg.gql(SET, { id: target.user.id, role: 'ADMIN' }, target.accessToken);
    expect(byClient.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const byAdmin = await sg.gql<{ setUserRole: { role: string } }>(
      SET,
      { id: target.user.id, role: 'WASHER' },
      admin.accessToken,
    );
    expect(byAdmin.data!.setUserRole.role).toBe('WASHER');
    const self = await sg.gql(SET, { id: admin.user.id, role: 'CLIENT' }, admin.accessToken);
    expect(self.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('changing the password and deleting a user', () => {
  it('changes the password, ends the old sessions and returns a new one', async () => {
    const u = await signUp();
    const CHANGE = `mutation($input: ChangePasswordInput!) { changePassword(input: $input) { refreshToken } }`;
    const wrong = await sg.gql(
      CHANGE,
      { input: { currentPassword: 'Not-it-at-all-1', newPassword: 'Another-strong-pw-7' } },
      u.accessToken,
    );
    expect(wrong.errors?.[0]?.extensions).toMatchObject({
      code: 'AUTH_INVALID_CREDENTIALS',
      field: 'input.currentPassword',
    });
    const weak = await sg.gql(
      CHANGE,
      { input: { currentPassword: PASSWORD, newPassword: 'short' } },
      u.accessToken,
    );
    expect(weak.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.newPassword',
    });
    const ok = await sg.gql<{ changePassword: { refreshToken: string } }>(
      CHANGE,
      { input: { currentPassword: PASSWORD, newPassword: 'Another-strong-pw-7' } },
      u.accessToken,
    );
    expect(ok.errors).toBeUndefined();
    expect((await sg.gql(REFRESH, { token: u.refreshToken })).errors?.[0]?.extensions?.code).toBe(
      'AUTH_INVALID_REFRESH_TOKEN',
    );
    expect(
      (await sg.gql(LOG_IN, { input: { email: u.email, password: 'Another-strong-pw-7' } })).errors,
    ).toBeUndefined();
  });

  it('erases personal data, keeps the id and records auth.user.deleted in the outbox', async () => {
    const u = await signUp();
    const other = await signUp();
    const DELETE = `mutation($id: ID!) { deleteUser(id: $id) { deletedUserId deletedAt } }`;
    const refused = await sg.gql(DELETE, { id: u.user.id }, other.accessToken);
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const res = await sg.gql<{ deleteUser: { deletedUserId: string } }>(
      DELETE,
      { id: u.user.id },
      u.accessToken,
    );
    expect(res.data!.deleteUser.deletedUserId).toBe(u.user.id);

    const row = await sg.auth.db.user.findUniqueOrThrow({ where: { id: u.user.id } });
    expect(row).toMatchObject({
      email: null,
      emailNormalized: null,
      passwordHash: null,
      firstName: null,
      lastName: null,
    });
    expect(row.deletedAt).not.toBeNull();
    const events = await sg.auth.db.outboxEvent.findMany({
      where: { aggregateId: u.user.id },
      orderBy: { seq: 'asc' },
    });
    // Its access tokens are revoked in the same transaction (auth.user.tokensRevoked, see revocation.e2e).
    expect(events.map((e) => e.topic)).toEqual(['auth.user.tokensRevoked', 'auth.user.deleted']);
    expect(events[1]).toMatchObject({
      topic: 'auth.user.deleted',
      version: 1,
      payload: { userId: u.user.id },
      publishedAt: null,
    });

    const admin = await userWithRole('ADMIN');
    const seen = await sg.gql<{ user: { id: string; deleted: boolean; firstName: string | null } }>(
      `query($id: ID!) { user(id: $id) { id deleted firstName } }`,
      { id: u.user.id },
      admin.accessToken,
    );
    expect(seen.data!.user).toEqual({ id: u.user.id, deleted: true, firstName: null });
    expect(
      (await sg.gql(LOG_IN, { input: { email: u.email, password: PASSWORD } })).errors?.[0]?.extensions?.code,
    ).toBe('AUTH_INVALID_CREDENTIALS');
    expect((await sg.gql(REFRESH, { token: u.refreshToken })).errors?.[0]?.extensions?.code).toBe(
      'AUTH_INVALID_REFRESH_TOKEN',
    );
  });
});

describe('auth.user.deleted on the event bus', () => {
  it('reaches a consumer once the relay publishes the outbox row', async () => {
    const u = await signUp();
    await sg.gql(
      `mutation($id: ID!) { deleteUser(id: $id) { deletedUserId } }`,
      { id: u.user.id },
      u.accessToken,
    );
    const received: Array<{ aggregateId: string; payload: { userId: string }; version: number }> = [];
    const consumer = await sg.auth.bus.consume({
      group: `e2e-${u.user.id.slice(0, 8)}`,
      blockMs: 50,
      retryBaseMs: 50,
      handlers: { 'auth.user.deleted': async (e) => void (e.aggregateId === u.user.id && received.push(e)) },
    });
    while ((await sg.auth.relay.runOnce()) > 0);
    const until = Date.now() + 10_000;
    while (received.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    await consumer.stop();
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ version: 1, payload: { userId: u.user.id } });
    const row = await sg.auth.db.outboxEvent.findFirstOrThrow({ where: { aggregateId: u.user.id } });
    expect(row.publishedAt).not.toBeNull();
  });
});

describe('bad input', () => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    [
      'a malformed email',
      { email: 'not-an-email', password: PASSWORD, firstName: 'A', lastName: 'B' },
      'input.email',
    ],
    [
      'an empty first name',
      { email: 'x@example.test', password: PASSWORD, firstName: '   ', lastName: 'B' },
      'input.firstName',
    ],
    [
      'a weak password',
      { email: 'x@example.test', password: 'password12', firstName: 'A', lastName: 'B' },
      'input.password',
    ],
    [
      // As large as the gateway lets through (MAX_REQUEST_BYTES, 256 KiB); larger bodies get 413 below.
      'a 200 KB last name',
      { email: 'x@example.test', password: PASSWORD, firstName: 'A', lastName: 'x'.repeat(200 * 1024) },
      'input.lastName',
    ],
  ];
  it.each(cases)('answers %s with BAD_USER_INPUT naming the field', async (_label, input, field) => {
    const res = await sg.gql(SIGN_UP, { input });
    expect(res.status).toBe(200);
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
  });

  it('answers a bad UUID with BAD_USER_INPUT naming the argument', async () => {
    const u = await signUp();
    const res = await sg.gql(`{ user(id: "42; DROP TABLE auth_users") { id } }`, {}, u.accessToken);
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
  });

  it('answers a body over the limit with 413 PAYLOAD_TOO_LARGE, not a 500', async () => {
    const res = await fetch(sg.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: ME, variables: { pad: 'x'.repeat(17 * 1024 * 1024) } }),
    });
    expect(res.status).toBe(413);
    expect(
      ((await res.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code,
    ).toBe('PAYLOAD_TOO_LARGE');
  });
});
