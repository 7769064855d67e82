import { signRequest } from '@carwash/service-trust';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCountingProxy, type CountingProxy } from './support/counting-proxy.js';
import { metricValue, scrapeMetrics } from './support/metrics.js';
import {
  postGraphQL,
  signUpAs,
  startGatewayReplica,
  startSupergraph,
  type GraphQLResult,
  type Running,
} from './support/supergraph.js';

/**
 * Identical in-flight subgraph fetches shared by the gateway (SUBGRAPH_DEDUPE), through the real
 * supergraph: gateways whose auth subgraph sits behind a proxy that counts what reaches auth and holds
 * it until every fetch of a burst has either arrived or joined one in flight, so the overlap is certain.
 */
let sg: Running;
let proxy: CountingProxy;
let sharing: { url: string; stop(): Promise<void> };
let alone: { url: string; stop(): Promise<void> };
let alice: { id: string; token: string };
let bob: { id: string; token: string };

beforeAll(async () => {
  sg = await startSupergraph();
  proxy = await startCountingProxy(sg.authUrl);
  sharing = await startGatewayReplica(sg, { SUBGRAPH_AUTH_URL: proxy.url });
  alone = await startGatewayReplica(sg, { SUBGRAPH_AUTH_URL: proxy.url, SUBGRAPH_DEDUPE: 'off' });
  [alice, bob] = await Promise.all([signUpAs(sg, 'CLIENT', 'Alice'), signUpAs(sg, 'CLIENT', 'Bob')]);
});
afterAll(async () => {
  await alone?.stop();
  await sharing?.stop();
  await proxy?.close();
  await sg?.stop();
});

const sharedOn = async (url: string) =>
  metricValue(await scrapeMetrics(url), 'gateway_subgraph_fetches_shared_total', { subgraph: 'auth' });

/**
 * Holds the auth requests matching `pattern` until `expected` of them are accounted for: arrived at the
 * proxy, or (read from the gateway's own counter) shared. Gives up after 10 s, so a broken gateway makes
 * the test fail on its counts rather than hang.
 */
function holdUntil(gatewayUrl: string, pattern: RegExp, expected: number, sharedBefore: number) {
  const deadline = Date.now() + 10_000;
  proxy.gate = async () => {
    for (;;) {
      const shared = (await sharedOn(gatewayUrl)) - sharedBefore;
      if (proxy.count(pattern) + shared >= expected || Date.now() > deadline) return;
      await new Promise((r) => setTimeout(r, 10));
    }
  };
}

type Me = { me: { id: string; firstName: string } | null };

describe('shared subgraph fetches (SUBGRAPH_DEDUPE=on, the default)', () => {
  it('sends concurrent identical queries once per identity, and no caller ever gets another’s data', async () => {
    const query = 'query SharedMe { me { id firstName } }';
    const pattern = /SharedMe__auth/;
    const perCaller = 6;
    const sharedBefore = await sharedOn(sharing.url);
    holdUntil(sharing.url, pattern, 3 * perCaller, sharedBefore);
    const ask = (token?: string) =>
      Array.from({ length: perCaller }, () => postGraphQL<Me>(sharing.url, query, {}, token));
    const [asAlice, asBob, anonymous] = await Promise.all([
      Promise.all(ask(alice.token)),
      Promise.all(ask(bob.token)),
      Promise.all(ask()),
    ]);
    proxy.gate = undefined;

    const ids = (results: GraphQLResult<Me>[]) => results.map((r) => r.data?.me?.id ?? null);
    expect(ids(asAlice)).toEqual(Array(perCaller).fill(alice.id));
    expect(ids(asBob)).toEqual(Array(perCaller).fill(bob.id));
    expect(ids(anonymous)).toEqual(Array(perCaller).fill(null));
    expect(asAlice.every((r) => r.data?.me?.firstName === 'Alice' && !r.errors)).toBe(true);
    expect(asBob.every((r) => r.data?.me?.firstName === 'Bob' && !r.errors)).toBe(true);
    // One fetch per identity reached auth; the other 15 waited for their own identity's answer.
    expect(proxy.count(pattern)).toBe(3);
    expect((await sharedOn(sharing.url)) - sharedBefore).toBe(3 * perCaller - 3);
  });

  it('never shares a mutation, even identical ones of one user at the same moment', async () => {
    const mutation = 'mutation SharedLogOut { logOut(refreshToken: "no-such-token") }';
    const pattern = /SharedLogOut__auth/;
    const concurrent = 5;
    const sharedBefore = await sharedOn(sharing.url);
    holdUntil(sharing.url, pattern, concurrent, sharedBefore);
    const results = await Promise.all(
      Array.from({ length: concurrent }, () =>
        postGraphQL<{ logOut: boolean }>(sharing.url, mutation, {}, alice.token),
      ),
    );
    proxy.gate = undefined;
    expect(results.map((r) => r.data?.logOut)).toEqual(Array(concurrent).fill(true));
    expect(proxy.count(pattern)).toBe(concurrent);
    expect((await sharedOn(sharing.url)) - sharedBefore).toBe(0);
  });

  it('with SUBGRAPH_DEDUPE=off sends every fetch, identical or not', async () => {
    const query = 'query AloneMe { me { id } }';
    const pattern = /AloneMe__auth/;
    const concurrent = 5;
    holdUntil(alone.url, pattern, concurrent, 0);
    const results = await Promise.all(
      Array.from({ length: concurrent }, () => postGraphQL<Me>(alone.url, query, {}, alice.token)),
    );
    proxy.gate = undefined;
    expect(results.map((r) => r.data?.me?.id)).toEqual(Array(concurrent).fill(alice.id));
    expect(proxy.count(pattern)).toBe(concurrent);
    expect(await sharedOn(alone.url)).toBe(0);
  });
});

describe('subgraph inline traces', () => {
  it('are off: a subgraph asked for a federated trace (ftv1) answers without one', async () => {
    const body = JSON.stringify({ query: '{ __typename }' });
    const credential = sg.keys.credentials.gateway!;
    const res = await fetch(sg.authUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'apollo-federation-include-trace': 'ftv1',
        ...signRequest(credential, 'auth', { method: 'POST', path: '/graphql', body }),
      },
      body,
    });
    const answer = (await res.json()) as { data?: unknown; extensions?: Record<string, unknown> };
    expect(res.status).toBe(200);
    expect(answer.data).toEqual({ __typename: 'Query' });
    expect(answer.extensions?.ftv1).toBeUndefined();
  });
});
