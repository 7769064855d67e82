import { randomInt } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  errorCode,
  freshClientAddress,
  gqlFrom,
  PASSWORD,
  postGraphQL,
  signUp,
  startSupergraph,
  uniqueEmail,
  type Running,
} from './support/supergraph.js';

const LOG_IN = `mutation($i: LogInInput!) { logIn(input: $i) { accessToken user { id } } }`;
const CHANGE_PASSWORD = `mutation($i: ChangePasswordInput!) { changePassword(input: $i) { accessToken } }`;
/** The attack: this many failed log-ins, each for another unknown email, from one address. */
const ATTACK_FAILURES = 50;
const MAX_FAILURES = 5;
const NEW_PASSWORD = 'Rinse-and-shine-77';

function freshIPv6Prefix(): string {
  return `2001:db8:${randomInt(0x10000).toString(16)}:${randomInt(0x10000).toString(16)}`;
}

/** `changePassword` to NEW_PASSWORD from `address`, as the holder of `token`, giving `currentPassword`. */
const changePassword = (sg: Running, address: string, token: string, currentPassword: string) =>
  gqlFrom(sg, address, CHANGE_PASSWORD, { i: { currentPassword, newPassword: NEW_PASSWORD } }, token);
/** This machine's first non-loopback IPv4 address, if it has one: a peer that is not a trusted proxy. */
const externalAddress = Object.values(networkInterfaces())
  .flat()
  .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

/** A new user, signed up from `address` (from the test's own when not given). */
function newUser(sg: Running, address?: string) {
  return signUp(sg, {
    tag: 'lockout',
    firstName: 'Lee',
    lastName: 'Lock',
    from: address,
  });
}

describe('the client address at the gateway', () => {
  let trusting: Running;
  let distrusting: Running;
  beforeAll(async () => {
    // The default: loopback (our own proxy in the tests) is trusted to set X-Forwarded-For.
    trusting = await startSupergraph();
    // A gateway whose only trusted proxy is elsewhere: the test client on loopback is an untrusted peer.
    distrusting = await startSupergraph({ gatewayEnv: { TRUSTED_PROXIES: '192.0.2.250/32' } });
  });
  afterAll(async () => {
    await trusting?.stop();
    await distrusting?.stop();
  });

  it('counts a log-in under the address the trusted proxy saw, not one the client forged in front of it', async () => {
    const email = uniqueEmail('xff');
    const real = freshClientAddress();
    const res = await gqlFrom(trusting, `6.6.6.6, ${real}`, LOG_IN, {
      i: { email, password: 'Wrong-password-1' },
    });
    expect(errorCode(res)).toBe('AUTH_INVALID_CREDENTIALS');
    const rows = await trusting.auth.db.loginAttempt.findMany({ where: { emailNormalized: email } });
    expect(rows.map((r) => [r.ip, r.clientKey])).toEqual([[real, real]]);
  });

  it.skipIf(!externalAddress)(
    'ignores X-Forwarded-For from a non-loopback peer under the default setting',
    async () => {
      // The same gateway app, reachable on this machine's own network address: the peer is then that
      // address, not loopback, so the default (loopback only) must not believe its header.
      const server = http.createServer(trusting.gateway.app);
      await new Promise<void>((resolve) => server.listen(0, externalAddress, resolve));
      try {
        const url = `http://${externalAddress}:${(server.address() as AddressInfo).port}/graphql`;
        const email = uniqueEmail('peer');
        const res = await postGraphQL<Record<string, unknown>>(
          url,
          LOG_IN,
          { i: { email, password: 'Wrong-password-1' } },
          undefined,
          { 'x-forwarded-for': freshClientAddress() },
        );
        expect(errorCode(res)).toBe('AUTH_INVALID_CREDENTIALS');
        const rows = await trusting.auth.db.loginAttempt.findMany({ where: { emailNormalized: email } });
        expect(rows.map((r) => r.clientKey)).toEqual([externalAddress]);
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    },
  );

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy: a spoofed address is counted under the real one', async () => {
    const email = uniqueEmail('spoof');
    const res = await gqlFrom(distrusting, freshClientAddress(), LOG_IN, {
      i: { email, password: 'Wrong-password-1' },
    });
    expect(errorCode(res)).toBe('AUTH_INVALID_CREDENTIALS');
    const rows = await distrusting.auth.db.loginAttempt.findMany({ where: { emailNormalized: email } });
    expect(rows).toHaveLength(1);
    expect(rows[0]!.ip).toMatch(/^(::ffff:)?127\.0\.0\.1$/);
    expect(rows[0]!.clientKey).toBe('127.0.0.1');
  });
});

describe('lockout an attacker cannot turn on others', () => {
  let sg: Running;
  beforeAll(async () => {
    // The production limit per address (the harness raises it for the other test files).
    sg = await startSupergraph({ authEnv: { AUTH_LOCKOUT_MAX_FAILURES_PER_IP: String(ATTACK_FAILURES) } });
  });
  afterAll(async () => {
    await sg?.stop();
  });

  it(`lets the real client log in from another address after ${ATTACK_FAILURES} failures for ${ATTACK_FAILURES} unknown emails from one address, and refuses that address`, async () => {
    const victim = await newUser(sg);
    const attacker = freshClientAddress();
    for (let i = 0; i < ATTACK_FAILURES; i++) {
      const res = await gqlFrom(sg, attacker, LOG_IN, {
        i: { email: uniqueEmail('ghost'), password: `Guess-number-${i}` },
      });
      expect(errorCode(res)).toBe('AUTH_INVALID_CREDENTIALS');
    }
    const real = await gqlFrom(sg, freshClientAddress(), LOG_IN, {
      i: { email: victim.email, password: PASSWORD },
    });
    expect(real.errors).toBeUndefined();
    expect((real.data as { logIn: { user: { id: string } } }).logIn.user.id).toBe(victim.id);

    const again = await gqlFrom(sg, attacker, LOG_IN, { i: { email: victim.email, password: PASSWORD } });
    expect(errorCode(again)).toBe('AUTH_LOCKED');
    expect(again.errors?.[0]?.extensions?.retryAfterSeconds).toBeGreaterThan(0);
  });

  it("keeps a user's account open to them while the address guessing its password is locked out", async () => {
    const victim = await newUser(sg);
    const attacker = freshClientAddress();
    for (let i = 0; i < MAX_FAILURES; i++) {
      expect(
        errorCode(
          await gqlFrom(sg, attacker, LOG_IN, { i: { email: victim.email, password: `Guess-number-${i}` } }),
        ),
      ).toBe('AUTH_INVALID_CREDENTIALS');
    }
    // Even the right password is refused from the guessing address…
    expect(
      errorCode(await gqlFrom(sg, attacker, LOG_IN, { i: { email: victim.email, password: PASSWORD } })),
    ).toBe('AUTH_LOCKED');
    // …while the user, elsewhere, signs in.
    const real = await gqlFrom(sg, freshClientAddress(), LOG_IN, {
      i: { email: victim.email, password: PASSWORD },
    });
    expect(errorCode(real)).toBe('OK');
  });

  it('counts every address of one IPv6 /64 as one client, so rotating addresses inside it buys no guesses', async () => {
    const victim = await newUser(sg);
    const prefix = freshIPv6Prefix();
    for (let i = 1; i <= MAX_FAILURES; i++) {
      expect(
        errorCode(
          await gqlFrom(sg, `${prefix}::${i}`, LOG_IN, {
            i: { email: victim.email, password: `Guess-number-${i}` },
          }),
        ),
      ).toBe('AUTH_INVALID_CREDENTIALS');
    }
    expect(
      errorCode(
        await gqlFrom(sg, `${prefix}:ffff:ffff:ffff:ffff`, LOG_IN, {
          i: { email: victim.email, password: PASSWORD },
        }),
      ),
    ).toBe('AUTH_LOCKED');
    // Another /64 is another client.
    expect(
      errorCode(
        await gqlFrom(sg, `${freshIPv6Prefix()}::1`, LOG_IN, {
          i: { email: victim.email, password: PASSWORD },
        }),
      ),
    ).toBe('OK');
  });

  it('serves no development mailbox unless AUTH_DEV_MAILBOX is set', async () => {
    const res = await fetch(new URL('/dev/mailbox?to=someone@example.test', sg.authUrl));
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
  });

  it('still gives 20 parallel guesses from one address exactly 5 password checks', async () => {
    const victim = await newUser(sg);
    const attacker = freshClientAddress();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        gqlFrom(sg, attacker, LOG_IN, { i: { email: victim.email, password: `Parallel-guess-${i}` } }),
      ),
    );
    const codes = results.map(errorCode);
    expect(codes.filter((c) => c === 'AUTH_INVALID_CREDENTIALS')).toHaveLength(MAX_FAILURES);
    expect(codes.filter((c) => c === 'AUTH_LOCKED')).toHaveLength(20 - MAX_FAILURES);
  });

  it('refuses changePassword guesses at the current password (a stolen access token) with AUTH_LOCKED after 5 failures', async () => {
    const address = freshClientAddress();
    const user = await newUser(sg, address);
    for (let i = 0; i < MAX_FAILURES; i++) {
      const res = await changePassword(sg, address, user.accessToken, `Guess-number-${i}`);
      expect(res.errors?.[0]?.extensions).toMatchObject({
        code: 'AUTH_INVALID_CREDENTIALS',
        field: 'input.currentPassword',
      });
    }
    const locked = await changePassword(sg, address, user.accessToken, PASSWORD);
    expect(errorCode(locked)).toBe('AUTH_LOCKED');
    // The same lockout covers log-in from that address: the guesses were counted against the account.
    expect(
      errorCode(await gqlFrom(sg, address, LOG_IN, { i: { email: user.email, password: PASSWORD } })),
    ).toBe('AUTH_LOCKED');
    const attempts = await sg.auth.db.loginAttempt.groupBy({
      by: ['outcome'],
      where: { emailNormalized: user.email },
      _count: true,
    });
    expect(Object.fromEntries(attempts.map((a) => [a.outcome, a._count]))).toEqual({
      FAILED: MAX_FAILURES,
      LOCKED: 2,
    });
    // The password did not change.
    expect(
      errorCode(
        await gqlFrom(sg, freshClientAddress(), LOG_IN, { i: { email: user.email, password: NEW_PASSWORD } }),
      ),
    ).toBe('AUTH_INVALID_CREDENTIALS');
  });

  it('changes the password with the right current password; the new one logs in and the old one does not', async () => {
    const address = freshClientAddress();
    const user = await newUser(sg, address);
    const changed = await changePassword(sg, address, user.accessToken, PASSWORD);
    expect(changed.errors).toBeUndefined();
    expect(
      errorCode(await gqlFrom(sg, address, LOG_IN, { i: { email: user.email, password: NEW_PASSWORD } })),
    ).toBe('OK');
    expect(
      errorCode(await gqlFrom(sg, address, LOG_IN, { i: { email: user.email, password: PASSWORD } })),
    ).toBe('AUTH_INVALID_CREDENTIALS');
  });
});
