/**
 * Two builds of the supergraph at rest, in one run: CPU time the five service processes and their
 * PostgreSQL backends spend while nobody sends a request (the outbox relays' polling showed there,
 * results/tuning-events.md). Each build runs as one process per service (services.ts), alone, one
 * after the other; rounds alternate between them.
 *
 *   tsx test/bench/compare-idle.ts <checkout A> <checkout B> [--rounds N] [--seconds S]
 *
 * Checkouts as for compare-dashboard.ts. Both run on this environment's feature databases
 * (`<FEATURE>_DATABASE_URL`), migrated first; the backends counted are those connected to them.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import pg from 'pg';
import migrate from '../support/global-setup.js';
import { median } from './report.js';
import { defaultDatabaseUrl, FEATURES, SERVICES, startServices, type ServiceName } from './services.js';

const CLOCK_TICKS_PER_S = 100;
/** Time for a started build's start-up work (first passes, pool warm-up) to pass before measuring. */
const SETTLE_MS = 5_000;
const SAMPLE_MS = 1_000;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { rounds: { type: 'string', default: '1' }, seconds: { type: 'string', default: '30' } },
});
const [rootA, rootB] = positionals;
if (!rootA || !rootB) {
  console.error('usage: tsx test/bench/compare-idle.ts <checkout A> <checkout B> [--rounds N] [--seconds S]');
  process.exit(2);
}
const ROUNDS = Number(values.rounds);
const SECONDS = Number(values.seconds);

const cpuMs = (pid: number): number | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S;
  } catch {
    return undefined;
  }
};

const databases = FEATURES.map((f) => new URL(defaultDatabaseUrl(f)).pathname.slice(1));
const admin = new pg.Client({ connectionString: defaultDatabaseUrl('auth') });

/**
 * CPU ms the backends of the feature databases spent over `ms`, sampled each second: a backend seen
 * first during the window counts from zero, one that ended counts up to its last sample.
 */
async function backendCpu(ms: number): Promise<{ cpuMs: number; backends: number }> {
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  const sample = async (initial: boolean) => {
    const { rows } = await admin.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE datname = ANY($1) AND pid <> pg_backend_pid()',
      [databases],
    );
    for (const { pid } of rows) {
      const c = cpuMs(pid);
      if (c === undefined) continue;
      if (!first.has(pid)) first.set(pid, initial ? c : 0);
      last.set(pid, c);
    }
  };
  await sample(true);
  const end = Date.now() + ms;
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, Math.min(SAMPLE_MS, end - Date.now())));
    await sample(false);
  }
  let total = 0;
  for (const [pid, c] of last) total += c - first.get(pid)!;
  return { cpuMs: total, backends: last.size };
}

migrate();
await admin.connect();
const roots = [rootA, rootB] as const;
const figures = roots.map(() => ({
  services: {} as Record<ServiceName, number[]>,
  postgres: [] as number[],
}));
try {
  for (let r = 0; r < ROUNDS; r++)
    for (const i of r % 2 === 0 ? [0, 1] : [1, 0]) {
      const services = await startServices({ root: roots[i]! });
      try {
        await new Promise((res) => setTimeout(res, SETTLE_MS));
        const before = services.usage();
        const pgCpu = await backendCpu(SECONDS * 1000);
        const after = services.usage();
        const perS = (v: number) => v / SECONDS;
        for (const s of SERVICES)
          (figures[i]!.services[s] ??= []).push(perS(after[s]!.cpuMs - before[s]!.cpuMs));
        figures[i]!.postgres.push(perS(pgCpu.cpuMs));
        console.error(
          `round ${r + 1} ${'AB'[i]}: ${SERVICES.map((s) => `${s} ${figures[i]!.services[s]!.at(-1)!.toFixed(1)}`).join(', ')}, postgres ${perS(pgCpu.cpuMs).toFixed(1)} (${pgCpu.backends} backends) CPU ms/s`,
        );
      } finally {
        await services.stop();
      }
    }
  for (const [i, root] of roots.entries()) {
    const f = figures[i]!;
    const subgraphs = FEATURES.reduce((a, s) => a + median(f.services[s]!), 0);
    console.log(
      `${'AB'[i]} (${root}): CPU ms per second at rest — ${SERVICES.map((s) => `${s} ${median(f.services[s]!).toFixed(1)}`).join(', ')}; subgraphs ${subgraphs.toFixed(1)}; their PostgreSQL backends ${median(f.postgres).toFixed(1)}`,
    );
  }
} finally {
  await admin.end();
}
