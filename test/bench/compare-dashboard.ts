/**
 * Two builds of the supergraph on the dashboard, in one run: the tuning tool behind
 * results/tuning-dashboard.md. Each build runs as one process per service (services.ts); rounds
 * alternate between them; it prints requests/s and CPU time per request in each service process.
 *
 *   tsx test/bench/compare-dashboard.ts <checkout A> <checkout B> [--rounds N] [--seconds S] [--b-flags F]
 *
 * `--b-flags` gives B's service processes Node flags (space-separated, e.g. `--max-semi-space-size=32`):
 * with A and B the same checkout, it measures a runtime setting.
 *
 * A checkout is a folder with this repository's layout: this worktree, or a copy of it at another
 * commit whose node_modules/.pnpm links to this one's (generated Prisma clients included). The data is
 * seeded through an in-process supergraph of this checkout, as the dashboard section does.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { DateTime } from 'luxon';
import migrate from '../support/global-setup.js';
import { signUpAs, startSupergraph } from '../support/supergraph.js';
import { startLoadGenerator } from './load.js';
import { median } from './report.js';
import { DASHBOARD, seed, unseed } from './sections/dashboard.js';
import { authSigningKeys, SERVICES, startServices, type ServiceName, type Services } from './services.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: 'string', default: '4' },
    seconds: { type: 'string', default: '8' },
    'b-flags': { type: 'string', default: '' },
  },
});
const [rootA, rootB] = positionals;
if (!rootA || !rootB) {
  console.error(
    'usage: tsx test/bench/compare-dashboard.ts <checkout A> <checkout B> [--rounds N] [--seconds S]',
  );
  process.exit(2);
}
const ROUNDS = Number(values.rounds);
const SECONDS = Number(values.seconds);
const CONNECTIONS = 10;
const BOOKINGS = 100;

migrate();
const signingKeys = await authSigningKeys();
const sg = await startSupergraph({ authEnv: { AUTH_JWT_PRIVATE_KEYS: signingKeys } });
const seeded: Parameters<typeof unseed>[1][] = [];
const builds: Array<{ name: string; services: Services }> = [];
const load = startLoadGenerator();
try {
  for (const [name, root] of [
    ['A', rootA],
    ['B', rootB],
  ] as const)
    builds.push({
      name: `${name} (${root}${name === 'B' && values['b-flags'] ? ` ${values['b-flags']}` : ''})`,
      services: await startServices({
        root,
        ...(name === 'B' && values['b-flags']
          ? {
              nodeFlags: Object.fromEntries(
                SERVICES.map((s) => [s, values['b-flags']!.split(' ').filter(Boolean)]),
              ),
            }
          : {}),
        env: {
          auth: { AUTH_JWT_PRIVATE_KEYS: signingKeys },
          booking: { BOOKING_DATABASE_POOL_SIZE: '20' },
          payment: { PAYMENT_DATABASE_POOL_SIZE: '20' },
        },
      }),
    });
  const manager = await signUpAs(sg, 'MANAGER', 'Dana');
  const date = DateTime.now().setZone('Europe/Berlin').plus({ days: 30 }).toISODate()!;
  const site = await seed(sg, BOOKINGS, date, randomUUID().slice(0, 8), seeded);
  const request = {
    method: 'POST' as const,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${manager.token}` },
    body: JSON.stringify({ query: DASHBOARD, variables: { site: site.siteId, date } }),
  };
  const bodies = await Promise.all(
    builds.map(async (b) => (await fetch(b.services.gatewayUrl, request)).text()),
  );
  if (bodies[0] !== bodies[1]) console.error('WARNING: the two builds answer different bytes');
  const figures = builds.map(() => ({ rps: [] as number[], cpu: {} as Record<ServiceName, number[]> }));
  const runRound = async (i: number, duration: number) => {
    const { services } = builds[i]!;
    const before = services.usage();
    const res = await load.run({
      url: services.gatewayUrl,
      ...request,
      connections: CONNECTIONS,
      duration,
      expectBody: bodies[i],
    });
    const after = services.usage();
    if (res.errors) console.error(`${builds[i]!.name}: ${res.errorKinds}`);
    return { res, before, after };
  };
  for (const i of [0, 1]) await runRound(i, 3); // warm-up
  for (let r = 0; r < ROUNDS; r++)
    for (const i of r % 2 === 0 ? [0, 1] : [1, 0]) {
      const { res, before, after } = await runRound(i, SECONDS);
      figures[i]!.rps.push(res.rps);
      for (const s of SERVICES)
        (figures[i]!.cpu[s] ??= []).push((after[s]!.cpuMs - before[s]!.cpuMs) / res.requests);
      console.error(`round ${r + 1} ${builds[i]!.name}: ${res.rps.toFixed(1)} req/s`);
    }
  for (const [i, b] of builds.entries()) {
    const f = figures[i]!;
    const cpu = SERVICES.map((s) => `${s} ${median(f.cpu[s]).toFixed(1)}`);
    const total = SERVICES.reduce((a, s) => a + median(f.cpu[s]), 0);
    console.log(
      `${b.name}: ${median(f.rps).toFixed(1)} req/s (rounds ${f.rps.map((x) => x.toFixed(0)).join(', ')}); CPU ms/request ${cpu.join(', ')}; total ${total.toFixed(1)}`,
    );
  }
  console.log(`B / A = ${(median(figures[1]!.rps) / median(figures[0]!.rps)).toFixed(2)}×`);
} finally {
  load.stop();
  for (const b of builds) await b.services.stop();
  for (const s of seeded) await unseed(sg, s);
  await sg.stop();
}
