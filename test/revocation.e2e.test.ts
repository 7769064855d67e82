import { signedFetch } from '@carwash/service-trust';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PASSWORD,
  signUp,
  signUpAs,
  startSupergraph,
  type GraphQLResult,
  type Running,
} from './support/supergraph.js';
import { startedForSuite } from './support/suite.js';

const LOG_IN = `mutation($i: LogInInput!) { logIn(input: $i) { accessToken refreshToken } }`;
const LOG_OUT = `mutation($t: String!) { logOut(refreshToken: $t) }`;
const REFRESH = `mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken refreshToken user { role } } }`;
const CHANGE_PASSWORD = `mutation($i: ChangePasswordInput!) { changePassword(input: $i) { accessToken refreshToken } }`;
const SET_ROLE = `mutation($id: ID!, $role: Role!) { setUserRole(userId: $id, role: $role) { id role } }`;
const DELETE_USER = `mutation($id: ID!) { deleteUser(id: $id) { deletedUserId } }`;
const ME = `{ me { id role } }`;
const USERS = `{ users(first: 1) { totalCount } }`;

interface Session {
  accessToken: string;
  refreshToken: string;
}

let sg: Running;
beforeAll(async () => {
  sg = await startSupergraph();
});
afterAll(async () => {
  await sg?.stop();
});

/** A new client and the session of their sign-up. */
function newClient() {
  return signUp(sg, { tag: 'revoke', firstName: 'Rita', lastName: 'Vokes' });
}

async function logIn(email: string, password = PASSWORD): Promise<Session> {
  const res = await sg.gql<{ logIn: Session }>(LOG_IN, { i: { email, password } });
  expect(res.errors).toBeUndefined();
  return res.data!.logIn;
}

function expectRevoked(res: GraphQLResult): void {
  expect(res.status).toBe(401);
  expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  expect(res.errors?.[0]?.message).toBe('The access token has been revoked.');
  expect(res.data ?? null).toBeNull();
}

async function me(token: string) {
  return sg.gql<{ me: { id: string; role: string } }>(ME, {}, token);
}

describe('revocation of access tokens before they expire', () => {
  it('refuses the access token of a session that logged out, and keeps the other session working', async () => {
    const { email, ...first } = await newClient();
    const other = await logIn(email);
    expect((await me(first.accessToken)).status).toBe(200);

    const out = await sg.gql<{ logOut: boolean }>(LOG_OUT, { t: first.refreshToken }, first.accessToken);
    expect(out.data?.logOut).toBe(true);

    expectRevoked(await me(first.accessToken));
    expect((await me(other.accessToken)).data?.me).toBeTruthy();
    // A fresh token after logging in again works.
    const again = await logIn(email);
    expect((await me(again.accessToken)).data?.me).toBeTruthy();
  });

  it('refuses a demoted manager listing users with their old token; the refreshed token carries CLIENT', async () => {
    const admin = await signUpAs(sg, 'ADMIN');
    const { id: managerId, email: managerEmail } = await signUp(sg, {
      tag: 'manager',
      firstName: 'Max',
      lastName: 'Manager',
    });
    await sg.auth.db.user.update({ where: { id: managerId }, data: { role: 'MANAGER' } });
    const manager = await logIn(managerEmail);
    expect((await sg.gql(USERS, {}, manager.accessToken)).errors).toBeUndefined();
    // Setting the role a user already has changes nothing, so it revokes nothing.
    await sg.gql(SET_ROLE, { id: managerId, role: 'MANAGER' }, admin.token);
    expect((await sg.gql(USERS, {}, manager.accessToken)).errors).toBeUndefined();

    const demoted = await sg.gql<{ setUserRole: { role: string } }>(
      SET_ROLE,
      { id: managerId, role: 'CLIENT' },
      admin.token,
    );
    expect(demoted.data?.setUserRole.role).toBe('CLIENT');

    expectRevoked(await sg.gql(USERS, {}, manager.accessToken));
    const refreshed = await sg.gql<{ refreshSession: Session & { user: { role: string } } }>(REFRESH, {
      t: manager.refreshToken,
    });
    expect(refreshed.data?.refreshSession.user.role).toBe('CLIENT');
    const fresh = refreshed.data!.refreshSession.accessToken;
    expect((await me(fresh)).data?.me.role).toBe('CLIENT');
    expect((await sg.gql(USERS, {}, fresh)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    // The admin's own token is untouched by someone else's role change.
    expect((await sg.gql(USERS, {}, admin.token)).errors).toBeUndefined();
  });

  it('ends every older token of the user on changePassword, while the returned token works', async () => {
    const { email, ...first } = await newClient();
    const second = await logIn(email);
    const changed = await sg.gql<{ changePassword: Session }>(
      CHANGE_PASSWORD,
      { i: { currentPassword: PASSWORD, newPassword: 'Brand-new-pass-77' } },
      first.accessToken,
    );
    expect(changed.errors).toBeUndefined();

    expectRevoked(await me(first.accessToken));
    expectRevoked(await me(second.accessToken));
    expect((await me(changed.data!.changePassword.accessToken)).data?.me).toBeTruthy();
    // The returned refresh token yields tokens that work too; the old ones yield nothing.
    const refreshed = await sg.gql<{ refreshSession: Session }>(REFRESH, {
      t: changed.data!.changePassword.refreshToken,
    });
    expect((await me(refreshed.data!.refreshSession.accessToken)).data?.me).toBeTruthy();
    expect((await sg.gql(REFRESH, { t: second.refreshToken })).errors?.[0]?.extensions?.code).toBe(
      'AUTH_INVALID_REFRESH_TOKEN',
    );
    expect((await me((await logIn(email, 'Brand-new-pass-77')).accessToken)).data?.me).toBeTruthy();
  });

  it("refuses a deleted user's tokens, every session of theirs", async () => {
    const { id, email, ...first } = await newClient();
    const second = await logIn(email);
    const deleted = await sg.gql<{ deleteUser: { deletedUserId: string } }>(
      DELETE_USER,
      { id },
      first.accessToken,
    );
    expect(deleted.data?.deleteUser.deletedUserId).toBe(id);
    expectRevoked(await me(first.accessToken));
    expectRevoked(await me(second.accessToken));
  });

  it('refuses the access tokens of a family whose refresh token was replayed', async () => {
    const first = await newClient();
    const rotated = await sg.gql<{ refreshSession: Session }>(REFRESH, { t: first.refreshToken });
    const current = rotated.data!.refreshSession;
    expect((await me(current.accessToken)).data?.me).toBeTruthy();
    // The thief replays the used token: the whole family ends, the victim's current access token included.
    expect((await sg.gql(REFRESH, { t: first.refreshToken })).errors?.[0]?.extensions?.code).toBe(
      'AUTH_REFRESH_TOKEN_REUSED',
    );
    expectRevoked(await me(current.accessToken));
  });

  it('refuses a revoked token sent straight to a subgraph, signed as the gateway', async () => {
    const first = await newClient();
    const signed = signedFetch(sg.keys.credentials.gateway!, 'auth');
    const direct = (token: string) =>
      signed(sg.authUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: ME }),
      });
    expect((await direct(first.accessToken)).status).toBe(200);
    await sg.gql(LOG_OUT, { t: first.refreshToken });
    const res = await direct(first.accessToken);
    expect(res.status).toBe(401);
    const body = (await res.json()) as GraphQLResult;
    expect(body.errors?.[0]).toMatchObject({
      message: 'The access token has been revoked.',
      extensions: { code: 'UNAUTHENTICATED' },
    });
  });
});

describe('when the revocation store is unreachable', () => {
  // Only the gateway loses Redis: it must refuse signed-in requests rather than let revoked tokens through.
  const cut: Running = startedForSuite(() =>
    startSupergraph({ gatewayEnv: { REDIS_URL: 'redis://127.0.0.1:1' } }),
  );

  it('fails closed for signed-in requests (503) and still serves anonymous ones', async () => {
    // Sign-up is anonymous: it works (signUp fails the test otherwise).
    const { accessToken } = await signUp(cut, { tag: 'cut', firstName: 'Cut', lastName: 'Off' });
    const started = Date.now();
    const res = await cut.gql(ME, {}, accessToken);
    expect(res.status).toBe(503);
    expect(res.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    // Fails fast: a dead store must not stall every request.
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('in the single-process mode (EVENT_BUS=memory)', () => {
  let solo: Running;
  beforeAll(async () => {
    solo = await startSupergraph({ authEnv: { EVENT_BUS: 'memory' }, gatewayEnv: { EVENT_BUS: 'memory' } });
  });
  afterAll(async () => {
    await solo?.stop();
  });

  it('refuses a logged-out token just the same, with no Redis involved', async () => {
    const { accessToken, refreshToken } = await signUp(solo, {
      tag: 'solo',
      firstName: 'So',
      lastName: 'Lo',
    });
    expect((await solo.gql(ME, {}, accessToken)).status).toBe(200);
    await solo.gql(LOG_OUT, { t: refreshToken });
    expectRevoked(await solo.gql(ME, {}, accessToken));
  });
});
