/**
 * Benchmark of access-token revocation THROUGH THE GATEWAY on this machine, real PostgreSQL and Redis:
 *
 *   client ──fetch──▶ gateway A ──▶ auth subgraph (logOut: commit, then the store write + announcement)
 *   client ──fetch──▶ gateway B ──▶ auth subgraph (`me` with the old token: refused once revoked)
 *
 * 1. Delay. Starts the supergraph in-process plus a second gateway replica (B) on the same subgraphs,
 *    signs one user up, then `--tries` times: logs in, sends `me` with the fresh token through both
 *    gateways (so both have it cached as valid — the worst case for a cache), logs out through A and,
 *    as soon as the answer arrives, sends `me` with the old token through B, back to back, until one is
 *    refused. The delay of a try is when the first refused request was sent minus when logOut answered
 *    (0 when the very first one is refused); requests still served after the answer are counted.
 * 2. Cost. `me` through gateway A for `--seconds` at `--concurrency`, one token: with the default
 *    check (1 s local cache, announcements), with REVOCATION_CACHE_TTL_MS=0 (every verification asks
 *    Redis: the gateway and the auth subgraph, two round trips per request) and with the in-memory store
 *    (EVENT_BUS=memory: the check costs a map lookup — close to no check at all), side by side in
 *    alternating one-second bursts. Then the verifier alone, in-process: µs per verification without
 *    revocations, with a cache hit, with a Redis read, with the in-memory store.
 *
 *   pnpm bench:revocation [--tries 200] [--seconds 5] [--concurrency 20]
 *
 * Users it creates stay (as in the e2e tests). Exit 0 on success, 1 if a revoked token is still served
 * after a second or on an unexpected error, 2 on bad flags. Servers log nothing unless TEST_LOG_LEVEL is set.
 */
import { performance } from 'node:perf_hooks';
import {
  createRevocationChecker,
  createUserTokenVerifier,
  MemoryRevocationStore,
  RedisRevocationStore,
  type UserTokenVerifier,
} from '@carwash/service-trust';
import {
  PASSWORD,
  postGraphQL,
  signUp,
  startGatewayReplica,
  startSupergraph,
  type Running,
} from '../support/supergraph.js';
import { benchArgs, integerOption, percentile } from './support.js';

/** The promise under test: a revoked token is refused within this. */
const REVOCATION_BUDGET_MS = 1000;
const VERIFY_ITERATIONS = 10_000;
const VERIFY_ROUNDS = 10;
const ME = `{ me { id } }`;
const LOG_IN = `mutation($i: LogInInput!) { logIn(input: $i) { accessToken refreshToken } }`;
const LOG_OUT = `mutation($t: String!) { logOut(refreshToken: $t) }`;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const USAGE = `usage: pnpm bench:revocation [--tries N] [--seconds S] [--concurrency C]
  --tries N        log-outs whose delay is measured (default 200)
  --seconds S      one-second bursts per throughput variant (default 5)
  --concurrency C  requests in flight during throughput runs (default 20)`;

function parseOptions(argv: string[]) {
  const values = benchArgs(argv, USAGE, {
    tries: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '20' },
  });
  return {
    tries: integerOption('tries', values.tries, 1, 100_000),
    seconds: integerOption('seconds', values.seconds, 1, 600),
    concurrency: integerOption('concurrency', values.concurrency, 1, 1000),
  };
}

const fmt = (t: number) => (t < 10 ? t.toFixed(2) : t.toFixed(1));
function summary(values: number[]): string {
  const s = [...values].sort((a, b) => a - b);
  return `p50 ${fmt(percentile(s, 50))} ms, p99 ${fmt(percentile(s, 99))} ms, max ${fmt(s.at(-1) ?? Number.NaN)} ms`;
}

async function logIn(
  gatewayUrl: string,
  email: string,
): Promise<{ accessToken: string; refreshToken: string }> {
  const res = await postGraphQL<{ logIn: { accessToken: string; refreshToken: string } }>(
    gatewayUrl,
    LOG_IN,
    { i: { email, password: PASSWORD } },
  );
  if (!res.data?.logIn) throw new Error(`logIn failed: ${JSON.stringify(res.errors)}`);
  return res.data.logIn;
}

async function measureDelay(sg: Running, tries: number): Promise<void> {
  // Replica B: a second gateway on the same subgraphs and the same store.
  const replica = await startGatewayReplica(sg);
  const replicaUrl = replica.url;
  try {
    const { email } = await signUp(sg, { tag: 'bench-revoke', firstName: 'Bench', lastName: 'Revoke' });
    const delays: number[] = [];
    const byReplica = { other: [] as number[], same: [] as number[] };
    const refusedAt: number[] = [];
    let servedAfterAnswer = 0;
    for (let i = 0; i < tries; i++) {
      const session = await logIn(sg.gatewayUrl, email);
      for (const url of [sg.gatewayUrl, replicaUrl]) {
        const warm = await postGraphQL(url, ME, {}, session.accessToken);
        if (warm.status !== 200) throw new Error(`a fresh token was refused (${warm.status})`);
      }
      const out = await sg.gql(LOG_OUT, { t: session.refreshToken });
      const answeredAt = performance.now();
      if (out.errors) throw new Error(`logOut failed: ${JSON.stringify(out.errors)}`);
      // Even tries ask the other replica first, odd ones the replica that served the log-out.
      const [first, second] = i % 2 === 0 ? [replicaUrl, sg.gatewayUrl] : [sg.gatewayUrl, replicaUrl];
      for (;;) {
        const sentAt = performance.now();
        const res = await postGraphQL(first, ME, {}, session.accessToken);
        if (res.status === 401) {
          refusedAt.push(performance.now() - answeredAt);
          delays.push(sentAt - answeredAt);
          byReplica[i % 2 === 0 ? 'other' : 'same'].push(sentAt - answeredAt);
          break;
        }
        servedAfterAnswer += 1;
        if (sentAt - answeredAt > REVOCATION_BUDGET_MS)
          throw new Error(
            `a logged-out token was still served ${Math.round(sentAt - answeredAt)} ms after logOut answered`,
          );
      }
      if ((await postGraphQL(second, ME, {}, session.accessToken)).status !== 401)
        throw new Error('the second gateway still served a revoked token');
    }
    console.log(
      `revocation delay, logOut answer → first refused request on a gateway with the token cached (${tries} tries): ${summary(delays)}`,
    );
    console.log(
      `  asked on the other replica first: ${summary(byReplica.other)}; on the replica that logged out: ${byReplica.same.length ? summary(byReplica.same) : 'n/a'}`,
    );
    console.log(`  the refusal itself arrived (one round trip later): ${summary(refusedAt)}`);
    console.log(`  requests still served after the answer: ${servedAfterAnswer} in ${tries} tries`);
  } finally {
    await replica.stop();
  }
}

/** Closed loop: `concurrency` workers send `me` back to back for `ms`; latencies are appended to `into`. */
async function burst(
  gatewayUrl: string,
  token: string,
  ms: number,
  concurrency: number,
  into: number[],
): Promise<void> {
  const until = performance.now() + ms;
  let failures = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        const started = performance.now();
        const res = await postGraphQL(gatewayUrl, ME, {}, token);
        into.push(performance.now() - started);
        if (res.status !== 200 || res.errors) failures += 1;
      }
    }),
  );
  if (failures) throw new Error(`${failures} requests failed during a throughput burst`);
}

async function signedInUser(sg: Running): Promise<string> {
  const { email } = await signUp(sg, { tag: 'bench-cost', firstName: 'Bench', lastName: 'Cost' });
  return (await logIn(sg.gatewayUrl, email)).accessToken;
}

/**
 * The machine is shared, so load drifts during a run: the variants run side by side and take turns in
 * one-second bursts (`seconds` rounds), and the verifier variants alternate likewise, so drift hits all alike.
 */
async function measureCost(seconds: number, concurrency: number): Promise<void> {
  const variants: Array<{
    label: string;
    env: Record<string, string>;
    latencies: number[];
    sg?: Running;
    token?: string;
  }> = [
    { label: 'Redis store, 1 s local cache (default)', env: {}, latencies: [] },
    {
      label: 'Redis store, no local cache (REVOCATION_CACHE_TTL_MS=0)',
      env: { REVOCATION_CACHE_TTL_MS: '0' },
      latencies: [],
    },
    { label: 'in-memory store (≈ no check)', env: { EVENT_BUS: 'memory' }, latencies: [] },
  ];
  try {
    for (const v of variants) {
      v.sg = await startSupergraph({ authEnv: v.env, gatewayEnv: v.env });
      v.token = await signedInUser(v.sg);
      await burst(v.sg.gatewayUrl, v.token, 500, concurrency, []); // warm-up
    }
    for (let round = 0; round < seconds; round++) {
      for (const v of variants) await burst(v.sg!.gatewayUrl, v.token!, 1000, concurrency, v.latencies);
    }
    for (const v of variants)
      console.log(
        `me through the gateway at concurrency ${concurrency}, ${v.label}: ${Math.round(v.latencies.length / seconds)} req/s, latency ${summary(v.latencies)}`,
      );

    // The verifier alone: what the check adds to one verification.
    const sg = variants[0]!.sg!;
    const redisStore = new RedisRevocationStore(REDIS_URL, { namespace: sg.namespace });
    try {
      const jwks = () => sg.auth.issuer.jwks();
      const header = `Bearer ${variants[0]!.token!}`;
      const verifiers: Array<[string, UserTokenVerifier, number[]]> = [
        ['signature only', createUserTokenVerifier({ jwks }), []],
        [
          '+ check, cache hit',
          createUserTokenVerifier({ jwks, revocations: createRevocationChecker(redisStore) }),
          [],
        ],
        [
          '+ check, Redis read',
          createUserTokenVerifier({
            jwks,
            revocations: createRevocationChecker(redisStore, { cacheTtlMs: 0 }),
          }),
          [],
        ],
        [
          '+ check, in-memory store',
          createUserTokenVerifier({
            jwks,
            revocations: createRevocationChecker(new MemoryRevocationStore({ namespace: 'bench' }), {
              cacheTtlMs: 0,
            }),
          }),
          [],
        ],
      ];
      for (let round = 0; round < VERIFY_ROUNDS; round++) {
        for (const [, verify, perCall] of verifiers) {
          const started = performance.now();
          for (let i = 0; i < VERIFY_ITERATIONS / VERIFY_ROUNDS; i++) await verify(header);
          perCall.push(((performance.now() - started) * 1000) / (VERIFY_ITERATIONS / VERIFY_ROUNDS));
        }
      }
      const median = (xs: number[]) =>
        percentile(
          [...xs].sort((a, b) => a - b),
          50,
        );
      console.log(
        `one verification, median of ${VERIFY_ROUNDS} rounds of ${VERIFY_ITERATIONS / VERIFY_ROUNDS}: ${verifiers.map(([label, , xs]) => `${label} ${median(xs).toFixed(1)} µs`).join('; ')}`,
      );
    } finally {
      await redisStore.close();
    }
  } finally {
    for (const v of variants) await v.sg?.stop();
  }
}

async function main(): Promise<void> {
  let options;
  try {
    options = parseOptions(process.argv.slice(2).filter((a) => a !== '--'));
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  process.env.APOLLO_TELEMETRY_DISABLED ??= '1';
  const sg = await startSupergraph();
  try {
    await measureDelay(sg, options.tries);
  } finally {
    await sg.stop();
  }
  await measureCost(options.seconds, options.concurrency);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
