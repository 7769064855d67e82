import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { developmentServiceKey } from '@carwash/config';
import { createPaymentSubgraph, loadPaymentConfig, type PaymentSubgraph } from '@carwash/payment';
import { signRequest, type ServiceCredential } from '@carwash/service-trust';
import { createLogger } from '@carwash/subgraph-kit';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addCard, createBooking, createOpenSite, createService, siteDay } from './support/fixtures.js';
import { signUpAs, startSupergraph, type Running } from './support/supergraph.js';

/**
 * Issue 9, "a key that fails open": requests sent straight to a subgraph, as an attacker inside the
 * network (or holding the repository's development key) would send them, and the legitimate calls next
 * to them.
 */
let sg: Running;
let client: { id: string; token: string };
let manager: { id: string; token: string };

/** A client's cards and charges, asked of payment as the gateway asks for them. */
const CARDS = `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id paymentMethods { last4 } transactions { totalCount } } } }`;
const SHIFTS = `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id assignments { site { id } startsAt endsAt endedAt } } } }`;

interface Reply {
  status: number;
  body: { data?: { _entities?: unknown[] } | null; errors?: Array<{ extensions?: { code?: string } }> };
  text: string;
}

/** Sends `query` to a subgraph with hand-made signed headers: exactly what an attacker can do. */
async function send(url: string, headers: Record<string, string>, body: string): Promise<Reply> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as Reply['body'], text };
}

function signed(
  credential: ServiceCredential,
  audience: string,
  body: string,
  authorization?: string,
): Record<string, string> {
  return {
    ...signRequest(credential, audience, { method: 'POST', path: '/graphql', body, authorization }),
    ...(authorization ? { authorization } : {}),
  };
}

/** Sends `body` to a subgraph signed with `credential` for `audience` (and the user's `authorization`). */
const sendSigned = (
  url: string,
  credential: ServiceCredential,
  audience: string,
  body: string,
  authorization?: string,
) => send(url, signed(credential, audience, body, authorization), body);

/**
 * Sends `body` to subgraph `to` signed with `from`'s real key from this run, on the behalf of the holder
 * of `userToken` when one is given.
 */
const callAs = (
  from: 'booking' | 'payment',
  to: 'auth' | 'location' | 'payment',
  body: string,
  userToken?: string,
) =>
  sendSigned(
    { auth: sg.authUrl, location: sg.locationUrl, payment: sg.paymentUrl }[to],
    sg.keys.credentials[from]!,
    to,
    body,
    userToken ? `Bearer ${userToken}` : undefined,
  );

const cardsOf = (userId: string) =>
  JSON.stringify({ query: CARDS, variables: { r: [{ __typename: 'User', id: userId }] } });
const codes = (r: Reply) => (r.body.errors ?? []).map((e) => e.extensions?.code);

beforeAll(async () => {
  sg = await startSupergraph();
  client = await signUpAs(sg, 'CLIENT');
  manager = await signUpAs(sg, 'MANAGER');
  await addCard(sg, client.token);
});
afterAll(async () => {
  await sg?.stop();
});

describe("the issue's attack on payment", () => {
  it("refuses the repository's development key claiming to be booking, with no user token (401 SERVICE_CREDENTIAL_INVALID)", async () => {
    const body = cardsOf(client.id);
    const res = await sendSigned(
      sg.paymentUrl,
      { service: 'booking', key: developmentServiceKey('booking') },
      'payment',
      body,
    );
    expect(res.status).toBe(401);
    expect(codes(res)).toEqual(['SERVICE_CREDENTIAL_INVALID']);
    expect(res.text).not.toContain('4242');
  });

  it("refuses booking's real key asking payment for a client's cards and charges (SERVICE_ACCESS_DENIED)", async () => {
    const body = cardsOf(client.id);
    const res = await callAs('booking', 'payment', body);
    expect(res.status).toBe(200);
    expect(codes(res)).toContain('SERVICE_ACCESS_DENIED');
    expect(res.text).not.toContain('4242');
    expect(res.text).not.toContain('totalCount');
  });

  it("refuses booking's key even with a user token: the allow-list holds on a user's behalf too", async () => {
    const body = cardsOf(client.id);
    const res = await callAs('booking', 'payment', body, client.token);
    expect(codes(res)).toContain('SERVICE_ACCESS_DENIED');
    expect(res.text).not.toContain('4242');
  });

  it("refuses booking's key claiming to be the gateway (401 SERVICE_CREDENTIAL_INVALID)", async () => {
    const body = cardsOf(client.id);
    const booking = sg.keys.credentials.booking!;
    const res = await sendSigned(sg.paymentUrl, { service: 'gateway', key: booking.key }, 'payment', body);
    expect(res.status).toBe(401);
    expect(codes(res)).toEqual(['SERVICE_CREDENTIAL_INVALID']);
  });

  it('lets the gateway read the cards as the end user: the owner sees them, another client does not', async () => {
    const body = cardsOf(client.id);
    const gateway = sg.keys.credentials.gateway!;
    const own = await sendSigned(sg.paymentUrl, gateway, 'payment', body, `Bearer ${client.token}`);
    expect(own.body.errors).toBeUndefined();
    expect(own.body.data?._entities).toEqual([
      { id: client.id, paymentMethods: [{ last4: '4242' }], transactions: { totalCount: 0 } },
    ]);
    const other = await signUpAs(sg, 'CLIENT');
    const snoop = await sendSigned(sg.paymentUrl, gateway, 'payment', body, `Bearer ${other.token}`);
    expect(codes(snoop)).toContain('FORBIDDEN');
    expect(snoop.text).not.toContain('4242');
  });
});

describe('replays', () => {
  it('refuses a captured signed request sent again (401 SERVICE_CREDENTIAL_REPLAYED)', async () => {
    const body = cardsOf(client.id);
    const captured = signed(sg.keys.credentials.gateway!, 'payment', body, `Bearer ${client.token}`);
    const first = await send(sg.paymentUrl, captured, body);
    expect(first.status).toBe(200);
    const replay = await send(sg.paymentUrl, captured, body);
    expect(replay.status).toBe(401);
    expect(codes(replay)).toEqual(['SERVICE_CREDENTIAL_REPLAYED']);
    expect(replay.text).not.toContain('4242');
  });

  it('refuses the replay on another replica of payment sharing the Redis', async () => {
    const replica: PaymentSubgraph = await createPaymentSubgraph(
      loadPaymentConfig({
        ...process.env,
        ...sg.keys.envFor('payment'),
        LOG_LEVEL: 'silent',
        EVENTS_NAMESPACE: sg.namespace,
        BOOKING_GRAPHQL_URL: sg.bookingUrl,
      }),
      createLogger('payment', 'silent'),
    );
    try {
      const { url } = await replica.listen(0);
      const body = cardsOf(client.id);
      const captured = signed(sg.keys.credentials.gateway!, 'payment', body, `Bearer ${client.token}`);
      expect((await send(sg.paymentUrl, captured, body)).status).toBe(200);
      const replay = await send(url, captured, body);
      expect(replay.status).toBe(401);
      expect(codes(replay)).toEqual(['SERVICE_CREDENTIAL_REPLAYED']);
    } finally {
      await replica.stop();
    }
  });

  it('refuses a request signed for booking when it is sent to payment (401 SERVICE_CREDENTIAL_INVALID)', async () => {
    const body = cardsOf(client.id);
    const forBooking = signed(sg.keys.credentials.gateway!, 'booking', body, `Bearer ${client.token}`);
    const res = await send(sg.paymentUrl, forBooking, body);
    expect(res.status).toBe(401);
    expect(codes(res)).toEqual(['SERVICE_CREDENTIAL_INVALID']);
  });
});

describe('least privilege between services', () => {
  let washer: { id: string; token: string };

  beforeAll(async () => {
    washer = await signUpAs(sg, 'WASHER');
    const siteId = await createOpenSite(sg, manager.token, { name: 'Trust wash', bays: 2 });
    const start = DateTime.now().plus({ days: 3 }).startOf('hour');
    // location → auth: the washer is checked with location's own key.
    const shift = await sg.gql(
      `mutation($s: ID!, $u: ID!, $shift: ShiftInput!) { assignStaff(siteId: $s, userId: $u, shift: $shift) { id } }`,
      {
        s: siteId,
        u: washer.id,
        shift: { startsAt: start.toISO(), endsAt: start.plus({ hours: 4 }).toISO() },
      },
      manager.token,
    );
    expect(shift.errors).toBeUndefined();
  });

  it("lets booking read a washer's shifts from location on its own authority (its allow-list)", async () => {
    const body = JSON.stringify({ query: SHIFTS, variables: { r: [{ __typename: 'User', id: washer.id }] } });
    const res = await callAs('booking', 'location', body);
    expect(res.body.errors).toBeUndefined();
    expect((res.body.data?._entities?.[0] as { assignments: unknown[] }).assignments).toHaveLength(1);
  });

  it("checks booking as the user when it calls on a client's behalf: the client may not read a washer's shifts", async () => {
    const body = JSON.stringify({ query: SHIFTS, variables: { r: [{ __typename: 'User', id: washer.id }] } });
    const res = await callAs('booking', 'location', body, client.token);
    expect(codes(res)).toContain('FORBIDDEN');
    expect(res.text).not.toContain('startsAt');
  });

  it("refuses booking a field of location outside its allow-list (a site's staff list)", async () => {
    const body = JSON.stringify({
      query: `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id assignments { user { id } } } } }`,
      variables: { r: [{ __typename: 'User', id: washer.id }] },
    });
    const res = await callAs('booking', 'location', body);
    expect(codes(res)).toContain('SERVICE_ACCESS_DENIED');
  });

  it('refuses payment reading users from auth, which it never needs', async () => {
    const body = JSON.stringify({
      query: `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id role deleted } } }`,
      variables: { r: [{ __typename: 'User', id: client.id }] },
    });
    const res = await callAs('payment', 'auth', body);
    expect(codes(res)).toContain('SERVICE_ACCESS_DENIED');
    expect(res.text).not.toContain('CLIENT');
  });

  it('keeps the legitimate chain working: a client books (booking → auth, location) and pays (payment → booking)', async () => {
    const siteId = await createOpenSite(sg, manager.token, { name: 'Chain wash' });
    const serviceId = await createService(sg, manager.token, { name: 'Trust', priceCents: 4200 });
    // Through the gateway: booking asks auth and location (createBooking fails the test if it cannot).
    const booked = await createBooking(sg, client.token, {
      siteId,
      serviceId,
      startsAt: siteDay(20).at('10:00'),
    });
    const methods = await sg.gql<{ me: { paymentMethods: Array<{ id: string }> } }>(
      `{ me { paymentMethods { id } } }`,
      {},
      client.token,
    );
    const paid = await sg.gql<{ payForBooking: { status: string } }>(
      `mutation($b: ID!, $m: ID!, $k: String!) { payForBooking(bookingId: $b, methodId: $m, idempotencyKey: $k) { status } }`,
      {
        b: booked,
        m: methods.data!.me.paymentMethods[0]!.id,
        k: `trust-${booked}`,
      },
      client.token,
    );
    expect(paid.errors).toBeUndefined();
    expect(paid.data!.payForBooking.status).toBe('CAPTURED');
  });

  it('answers the gateway on every subgraph (its readiness probe is a signed call to each)', async () => {
    const res = await fetch(sg.gatewayUrl.replace(/\/graphql$/, '/ready'));
    const body = (await res.json()) as { subgraphs: Record<string, { ok: boolean }> };
    expect(res.status).toBe(200);
    expect(
      Object.entries(body.subgraphs)
        .map(([name, c]) => [name, c.ok])
        .sort(),
    ).toEqual([
      ['auth', true],
      ['booking', true],
      ['location', true],
      ['payment', true],
    ]);
  });
});

describe('start-up without real keys', () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  /** Starts a service's main.ts with `env` and returns its exit code and error output. */
  async function start(
    cwd: string,
    env: Record<string, string | undefined>,
  ): Promise<{ code: number | null; stderr: string }> {
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SERVICE_')));
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: `${root}/${cwd}`,
      env: { ...base, NODE_ENV: 'development', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    clearTimeout(timer);
    return { code, stderr };
  }

  it.each(['subgraphs/payment', 'subgraphs/auth', 'subgraphs/booking', 'subgraphs/location', 'gateway'])(
    '%s refuses to start with no keys, naming the settings',
    async (cwd) => {
      const { code, stderr } = await start(cwd, {});
      expect(code).toBe(1);
      expect(stderr).toMatch(/SERVICE_SIGNING_KEY: required/);
      if (cwd !== 'gateway') expect(stderr).toMatch(/SERVICE_TRUSTED_KEYS: required/);
    },
  );

  it('refuses the development key given as a real key without SERVICE_CREDENTIALS=development', async () => {
    const dev = developmentServiceKey('payment');
    const gw = developmentServiceKey('gateway');
    const { code, stderr } = await start('subgraphs/payment', {
      SERVICE_SIGNING_KEY: `${dev.id}:${dev.secret}`,
      SERVICE_TRUSTED_KEYS: `gateway=${gw.id}:${gw.secret}`,
    });
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /SERVICE_SIGNING_KEY: the development key is accepted only with SERVICE_CREDENTIALS=development/,
    );
  });

  it('accepts the development keys with the explicit setting (as `pnpm dev` runs)', () => {
    const config = loadPaymentConfig({ SERVICE_CREDENTIALS: 'development' });
    expect(config.credentials).toMatchObject({
      mode: 'development',
      signing: { service: 'payment', key: developmentServiceKey('payment') },
    });
  });
});
