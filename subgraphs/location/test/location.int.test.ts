import { randomUUID } from 'node:crypto';
import { generateServiceKeys } from '@carwash/config';
import { signedFetch } from '@carwash/service-trust';
import { createLogger, pgErrorCode } from '@carwash/subgraph-kit';
import { integrationEnv } from '@carwash/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLocationConfig } from '../src/config.js';
import { sqlStatements } from '../src/db.js';
import { createLocationSubgraph, type LocationSubgraph } from '../src/server.js';
import { siteRow } from './support.js';

const keys = generateServiceKeys();
const config = loadLocationConfig(integrationEnv(keys.envFor('location')));
let sut: LocationSubgraph;
let url: string;
const signed = signedFetch(keys.credentials.gateway!, 'location');

beforeAll(async () => {
  sut = await createLocationSubgraph(config, createLogger('location', 'silent'));
  url = (await sut.listen(0)).url;
});
afterAll(async () => {
  await sut?.stop();
});

async function sites(n: number): Promise<string[]> {
  const rows = Array.from({ length: n }, (_, i) =>
    siteRow({ name: `int-${i}`, timeZone: 'Europe/Berlin', latitude: 1, longitude: 1 }),
  );
  await sut.db.washSite.createMany({ data: rows });
  return rows.map((r) => r.id);
}

describe('location database rules', () => {
  it('refuses overlapping active shifts of one person (exclusion constraint 23P01), at any site', async () => {
    const [a, b] = await sites(2);
    const userId = randomUUID();
    const t = (h: number) => new Date(Date.UTC(2030, 0, 1, h));
    await sut.db.staffAssignment.create({
      data: { siteId: a!, userId, role: 'WASHER', startsAt: t(8), endsAt: t(12) },
    });
    const err = await sut.db.staffAssignment
      .create({ data: { siteId: b!, userId, role: 'WASHER', startsAt: t(11), endsAt: t(13) } })
      .catch((e: unknown) => e);
    expect(pgErrorCode(err)).toBe('23P01');
    // An ended shift no longer blocks the time.
    await sut.db.staffAssignment.updateMany({ where: { userId }, data: { endedAt: new Date() } });
    await expect(
      sut.db.staffAssignment.create({
        data: { siteId: b!, userId, role: 'WASHER', startsAt: t(11), endsAt: t(13) },
      }),
    ).resolves.toBeTruthy();
  });

  it('refuses zero bays and a shift that ends before it starts (CHECK constraints)', async () => {
    const err = await sut.db.washSite.create({ data: siteRow({ bays: 0 }) }).catch((e: unknown) => e);
    expect(pgErrorCode(err)).toBe('23514');
    const [site] = await sites(1);
    const bad = await sut.db.staffAssignment
      .create({
        data: {
          siteId: site!,
          userId: randomUUID(),
          role: 'WASHER',
          startsAt: new Date(2030, 0, 2),
          endsAt: new Date(2030, 0, 1),
        },
      })
      .catch((e: unknown) => e);
    expect(pgErrorCode(bad)).toBe('23514');
  });
});

describe('WashSite references', () => {
  it('resolves 200 representations of 100 sites with one SQL statement', async () => {
    const ids = await sites(100);
    const before = sqlStatements.count;
    const res = await signed(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: 'query($r: [_Any!]!) { _entities(representations: $r) { ... on WashSite { id name } } }',
        variables: { r: [...ids, ...ids].map((id) => ({ __typename: 'WashSite', id })) },
      }),
    });
    const body = (await res.json()) as { data: { _entities: Array<{ id: string }> }; errors?: unknown };
    expect(body.errors).toBeUndefined();
    expect(body.data._entities.map((e) => e.id)).toEqual([...ids, ...ids]);
    expect(sqlStatements.count - before).toBe(1);
  });

  it('refuses a direct call without the service credential', async () => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(res.status).toBe(401);
  });
});

describe('replay guard', () => {
  it('fails closed: refuses signed calls with 503 while its nonce store (Redis) is unreachable, and says so on /ready', async () => {
    // Port 1 on loopback: nothing listens there, so every Redis command fails.
    const down = await createLocationSubgraph(
      loadLocationConfig(integrationEnv({ ...keys.envFor('location'), REDIS_URL: 'redis://127.0.0.1:1' })),
      createLogger('location', 'silent'),
    );
    try {
      const { url: downUrl } = await down.listen(0);
      const res = await signed(downUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      expect(res.status).toBe(503);
      expect(
        ((await res.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions
          .code,
      ).toBe('SERVICE_UNAVAILABLE');
      const ready = await fetch(downUrl.replace('/graphql', '/ready'));
      expect(ready.status).toBe(503);
      expect(
        ((await ready.json()) as { checks: Record<string, { ok: boolean }> }).checks.nonceStore?.ok,
      ).toBe(false);
    } finally {
      await down.stop();
    }
  });
});
