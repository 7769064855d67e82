import { randomUUID } from 'node:crypto';
import { RedisRevocationStore, signedFetch } from '@carwash/service-trust';
import { exportJWK, generateKeyPair } from 'jose';
import { createLogger } from '@carwash/subgraph-kit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateServiceKeys } from '@carwash/config';
import { loadAuthConfig } from '../src/config.js';
import { AuthRepository } from '../src/repository.js';
import { RevocationProjector } from '../src/revocations.js';
import { createAuthSubgraph, type AuthSubgraph } from '../src/server.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const namespace = `test-auth-rev-${randomUUID().slice(0, 8)}`;
// Two replicas of one deployment: one signing key.
const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
const signingKeys = JSON.stringify([{ ...(await exportJWK(privateKey)), kid: `test-rev-${process.pid}` }]);
const keys = generateServiceKeys();
const base = {
  ...process.env,
  ...keys.envFor('auth'),
  LOG_LEVEL: 'silent',
  EVENTS_NAMESPACE: namespace,
  AUTH_JWT_PRIVATE_KEYS: signingKeys,
};
const config = loadAuthConfig(base);
const signed = signedFetch(keys.credentials.gateway!, 'auth');
const PASSWORD = 'Wash-my-car-42';

/**
 * An auth replica cut off from the shared Redis (it runs on in-memory stores, so it still answers signed
 * calls: a replica whose nonce store is unreachable refuses them all): its fast-path revocation writes never
 * reach the shared store, but its commits land, with their outbox rows.
 */
let cutOff: AuthSubgraph;
let cutOffUrl: string;
/** A healthy replica: its relay and projector carry the outbox into the revocation store. */
let healthy: AuthSubgraph;
let healthyUrl: string;
let store: RedisRevocationStore;

beforeAll(async () => {
  cutOff = await createAuthSubgraph(
    loadAuthConfig({ ...base, EVENT_BUS: 'memory' }),
    createLogger('auth', 'silent'),
  );
  cutOffUrl = (await cutOff.listen(0)).url;
  healthy = await createAuthSubgraph(config, createLogger('auth', 'silent'));
  healthyUrl = (await healthy.listen(0)).url;
  store = new RedisRevocationStore(REDIS_URL, { namespace });
});
afterAll(async () => {
  await cutOff?.stop();
  await healthy?.stop();
  await store?.close();
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${namespace}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

async function gql<T>(url: string, query: string, variables: Record<string, unknown> = {}, token?: string) {
  const res = await signed(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return {
    status: res.status,
    ...((await res.json()) as {
      data?: T;
      errors?: Array<{ message: string; extensions?: { code?: string } }>;
    }),
  };
}

async function signUpAndLogOut(
  url: string,
): Promise<{ userId: string; sessionId: string; accessToken: string; committedAt: number }> {
  const email = `rev.${randomUUID()}@example.test`;
  const up = await gql<{ signUp: { accessToken: string; refreshToken: string; user: { id: string } } }>(
    url,
    `mutation($i: SignUpInput!) { signUp(input: $i) { accessToken refreshToken user { id } } }`,
    { i: { email, password: PASSWORD, firstName: 'Out', lastName: 'Box' } },
  );
  const { accessToken, refreshToken, user } = up.data!.signUp;
  const sessionId = JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString()).sid as string;
  const out = await gql<{ logOut: boolean }>(url, `mutation($t: String!) { logOut(refreshToken: $t) }`, {
    t: refreshToken,
  });
  expect(out.data?.logOut).toBe(true);
  // When the revocation was written (inside the transaction, just before its commit).
  const event = await healthy.db.outboxEvent.findFirstOrThrow({
    where: { aggregateId: sessionId, topic: 'auth.session.revoked' },
  });
  return { userId: user.id, sessionId, accessToken, committedAt: event.occurredAt.getTime() };
}

/** Wall-clock time at which the store first shows the session revoked. */
async function revokedWithin(userId: string, sessionId: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!(await store.status(userId, sessionId)).sessionRevoked) {
    if (Date.now() - started > timeoutMs) throw new Error('revocation never reached the store');
    await new Promise((r) => setTimeout(r, 1));
  }
  return Date.now();
}

describe('revocations committed while the shared store is out of reach', () => {
  it('logs out without an error, and the outbox brings the revocation to the store once a relay can publish', async () => {
    const { userId, sessionId, accessToken } = await signUpAndLogOut(cutOffUrl);
    // The fast path failed: the store knows nothing yet, and the healthy replica still accepts the token.
    expect((await store.status(userId, sessionId)).sessionRevoked).toBe(false);
    expect((await gql(healthyUrl, '{ me { id } }', {}, accessToken)).status).toBe(200);

    const consumer = await healthy.startConsumers({ blockMs: 50, retryBaseMs: 100 });
    try {
      while ((await healthy.relay.runOnce()) > 0);
      await revokedWithin(userId, sessionId, 10_000);
      const refused = await gql(healthyUrl, '{ me { id } }', {}, accessToken);
      expect(refused.status).toBe(401);
      expect(refused.errors?.[0]?.message).toBe('The access token has been revoked.');
    } finally {
      await consumer.stop();
    }
  });

  it('takes well under a second on the outbox path alone (relay polling + projector), measured', async () => {
    const consumer = await healthy.startConsumers({ blockMs: 1000 });
    healthy.relay.start();
    try {
      // Drain whatever earlier tests left in the shared outbox, so the figures are steady-state.
      const warm = await signUpAndLogOut(cutOffUrl);
      await revokedWithin(warm.userId, warm.sessionId, 30_000);
      const delays: number[] = [];
      for (let i = 0; i < 20; i++) {
        const { userId, sessionId, committedAt } = await signUpAndLogOut(cutOffUrl);
        delays.push((await revokedWithin(userId, sessionId, 5000)) - committedAt);
      }
      delays.sort((a, b) => a - b);
      const p50 = delays[Math.floor(delays.length / 2)]!;
      const max = delays.at(-1)!;
      console.log(
        `outbox-path revocation delay (commit → store) over ${delays.length}: p50 ${p50} ms, max ${max} ms`,
      );
      expect(max).toBeLessThan(1000);
    } finally {
      await healthy.relay.stop();
      await consumer.stop();
    }
  });
});

describe(AuthRepository.name, () => {
  /** A repository whose commits feed the revocation store, and a fresh user to revoke. */
  async function repositoryAndUser(tag: string, firstName: string, lastName: string) {
    const sut = new AuthRepository(
      healthy.db,
      new RevocationProjector(store, createLogger('auth', 'silent')).applyCommitted,
    );
    const user = await healthy.db.user.create({
      data: {
        email: `${tag}.${randomUUID()}@example.test`,
        emailNormalized: `${tag}.${randomUUID()}@example.test`,
        firstName,
        lastName,
      },
    });
    return { sut, user };
  }

  it('applies the revocations of any interactive db.$transaction right after it commits (e.g. a password reset)', async () => {
    const { sut, user } = await repositoryAndUser('reset', 'Re', 'Set');
    // Written the way any feature code writes a transaction, not through `sut.transaction`.
    await sut.db.$transaction(async (tx) => {
      await sut.revokeAllForUser(tx, user.id, 'password_reset');
    });
    expect((await store.status(user.id, randomUUID())).minVersion).toBe(1);
    expect((await healthy.db.user.findUniqueOrThrow({ where: { id: user.id } })).tokenVersion).toBe(1);
  });

  it('applies nothing when the transaction rolls back', async () => {
    const { sut, user } = await repositoryAndUser('rb', 'Roll', 'Back');
    await expect(
      sut.db.$transaction(async (tx) => {
        await sut.revokeAllForUser(tx, user.id, 'password_reset');
        throw new Error('something later in the transaction failed');
      }),
    ).rejects.toThrow('something later');
    expect((await store.status(user.id, randomUUID())).minVersion).toBe(0);
    expect(await healthy.db.outboxEvent.count({ where: { aggregateId: user.id } })).toBe(0);
  });
});
