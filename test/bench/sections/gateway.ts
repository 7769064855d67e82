/**
 * `pnpm bench` section `gateway`: our gateway against Hive Gateway 2.15 (default runtime and Rust query
 * planner) and vanilla Apollo, on the static subgraphs (test/bench/static) with the small (~500 B) and the
 * nested (~95 KB) workload. Every contender is its own process, started once, all serving the same
 * supergraph file; autocannon drives one at a time with 50 connections, warm-up first, then R rounds in
 * which the contenders take turns (the starting one rotates per round). Every response body is compared
 * byte for byte with the reference (static/index.ts `referenceBody`); a mismatch or a non-2xx fails it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import type { BenchTable, Section } from '../report.js';
import { median, spread } from '../report.js';
import {
  BENCH_RATE_LIMIT_TIERS,
  CONTENDERS,
  ensurePeersInstalled,
  startContender,
  type ContenderName,
  type RunningContender,
} from '../contenders/gateways.js';
import { buildServices } from '../services.js';
import { referenceBody, startStaticSubgraphs, WORKLOADS, type Workload } from '../static/index.js';

const CONNECTIONS = 50;
/** The targets the issue sets for ours, in one run. */
const TARGET_RATIO_VS_HIVE = 1.2;
const TARGET_PEAK_RSS_MIB = 250;

interface Settings {
  rounds: number;
  seconds: number;
  warmupSeconds: number;
}
const FULL: Settings = { rounds: 5, seconds: 8, warmupSeconds: 4 };
const QUICK: Settings = { rounds: 2, seconds: 3, warmupSeconds: 2 };

interface Sample {
  rps: number;
  p50: number;
  p99: number;
  /** Subgraph requests the static subgraphs received per completed operation. */
  subgraphPerOp: number;
  /** Answers whose body differed from the reference, or whose status was not 2xx. */
  wrong: number;
  /** Connection errors and timeouts (autocannon's 10 s): no answer at all. */
  errors: number;
  /** Seconds the contender stayed busy after the run, serving the requests autocannon abandoned. */
  tailSeconds: number;
}

type Key = `${Workload['name']}/${ContenderName}`;

export const run: Section = async ({ quick, log }) => {
  const settings = quick ? QUICK : FULL;
  const loadBefore = loadavg();
  ensurePeersInstalled(log);
  buildServices(log);
  const subgraphs = await startStaticSubgraphs();
  const logs = await mkdtemp(join(tmpdir(), 'carwash-bench-gateways-'));
  const running: RunningContender[] = [];
  try {
    log(`starting ${CONTENDERS.map((c) => c.name).join(', ')}`);
    const started = await Promise.allSettled(
      CONTENDERS.map((spec) =>
        startContender(spec, subgraphs.supergraphPath, join(logs, `${spec.name}.log`)),
      ),
    );
    for (const r of started) if (r.status === 'fulfilled') running.push(r.value);
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    // Each contender's exact answer must be the reference (Apollo Server adds a final newline).
    const expected = new Map<Key, string>();
    const problems: string[] = [];
    for (const w of WORKLOADS) {
      const reference = await referenceBody(w.query);
      for (const c of running) {
        const res = await fetch(c.url, { method: 'POST', headers: JSON_HEADERS, body: w.body });
        const body = await res.text();
        if (res.ok && (body === reference || body === `${reference}\n`))
          expected.set(`${w.name}/${c.spec.name}`, body);
        else
          problems.push(
            `${c.spec.name} answered ${w.name} with ${res.status} and a body that is not the reference`,
          );
      }
    }
    if (problems.length) throw new Error(problems.join('; '));

    const totalFetches = async () => Object.values(await subgraphs.counts()).reduce((a, b) => a + b, 0);
    const load = async (c: RunningContender, w: Workload, seconds: number): Promise<Sample> => {
      let answered = 0;
      // Subgraph requests per operation in the steady middle of the run (from 25 % to 90 % of it): at its
      // edges, operations in flight have sent some of their fetches but are not answered yet.
      const window: Array<{ answered: number; fetched: number }> = [];
      const mark = async () => window.push({ answered, fetched: await totalFetches() });
      const timers = [0.25, 0.9].map((at) => setTimeout(() => void mark(), at * seconds * 1000));
      const result = await new Promise<autocannon.Result>((resolve, reject) => {
        const instance = autocannon(
          {
            url: c.url,
            method: 'POST',
            headers: JSON_HEADERS,
            body: w.body,
            connections: CONNECTIONS,
            duration: seconds,
            expectBody: expected.get(`${w.name}/${c.spec.name}`)!,
          },
          (error, r) => (error ? reject(error) : resolve(r)),
        );
        instance.on('response', () => void answered++);
      });
      timers.forEach(clearTimeout);
      const tailSeconds = await drain(c);
      const [from, to] = window;
      return {
        rps: result.requests.total / result.duration,
        p50: result.latency.p50,
        p99: result.latency.p99,
        subgraphPerOp:
          from && to && to.answered > from.answered
            ? (to.fetched - from.fetched) / (to.answered - from.answered)
            : Number.NaN,
        wrong: result.mismatches + result.non2xx,
        errors: result.errors,
        tailSeconds,
      };
    };

    log(`warm-up: ${settings.warmupSeconds} s per contender and workload`);
    const warmup = new Map<Key, Sample>();
    for (const w of WORKLOADS)
      for (const c of running)
        warmup.set(`${w.name}/${c.spec.name}`, await load(c, w, settings.warmupSeconds));

    const samples = new Map<Key, Sample[]>();
    for (let round = 0; round < settings.rounds; round++) {
      for (const w of WORKLOADS) {
        // Round-robin, the first contender rotating each round: none always runs right after the same one.
        const order = running.map((_, i) => running[(i + round) % running.length]!);
        for (const c of order) {
          const s = await load(c, w, settings.seconds);
          const key: Key = `${w.name}/${c.spec.name}`;
          samples.set(key, [...(samples.get(key) ?? []), s]);
          log(
            `round ${round + 1}/${settings.rounds} ${w.name} ${c.spec.name}: ${s.rps.toFixed(0)} req/s, p99 ${s.p99} ms`,
          );
        }
      }
    }
    const peak = new Map(running.map((c) => [c.spec.name, c.peakRssMiB()]));
    return report({ running, samples, peak, warmup, settings, loadBefore });
  } finally {
    await Promise.all(running.map((c) => c.stop()));
    await subgraphs.close();
    await rm(logs, { recursive: true, force: true });
  }
};

const JSON_HEADERS = { 'content-type': 'application/json' };

/**
 * After a run, the requests autocannon abandoned are still being served (a gateway does not stop work for
 * a closed connection): wait until the contender is idle — under 5 % of a core over half a second — so the
 * next run does not share the CPU with this one's tail. Returns the seconds waited.
 */
async function drain(c: RunningContender, maxSeconds = 60): Promise<number> {
  const started = performance.now();
  let cpu = c.cpuSeconds();
  while (performance.now() - started < maxSeconds * 1000) {
    await new Promise((r) => setTimeout(r, 500));
    const now = c.cpuSeconds();
    const busy = (now - cpu) / 0.5;
    cpu = now;
    if (busy < 0.05) break;
  }
  return (performance.now() - started) / 1000;
}

function report({
  running,
  samples,
  peak,
  warmup,
  settings,
  loadBefore,
}: {
  running: RunningContender[];
  samples: Map<Key, Sample[]>;
  peak: Map<ContenderName, number>;
  warmup: Map<Key, Sample>;
  settings: Settings;
  loadBefore: number[];
}) {
  const rps = (w: Workload['name'], c: ContenderName) =>
    median((samples.get(`${w}/${c}`) ?? []).map((s) => s.rps));
  const results: BenchTable = {
    title: `Static workloads, ${CONNECTIONS} connections: requests/s (median of ${settings.rounds} rounds of ${settings.seconds} s)`,
    columns: [
      'workload',
      'gateway',
      'req/s',
      'spread over rounds',
      'p50 ms',
      'p99 ms',
      'subgraph req/op',
      'peak RSS MiB',
      'wrong answers',
      'no answer',
    ],
    rows: [],
  };
  let wrong = 0;
  let errors = 0;
  for (const w of WORKLOADS)
    for (const c of running) {
      const list = samples.get(`${w.name}/${c.spec.name}`) ?? [];
      const all = [warmup.get(`${w.name}/${c.spec.name}`)!, ...list];
      const wrongHere = all.reduce((n, s) => n + s.wrong, 0);
      const errorsHere = all.reduce((n, s) => n + s.errors, 0);
      wrong += wrongHere;
      errors += errorsHere;
      results.rows.push([
        w.name,
        c.spec.name,
        rps(w.name, c.spec.name).toFixed(0),
        spread(list.map((s) => s.rps)),
        median(list.map((s) => s.p50)).toFixed(0),
        median(list.map((s) => s.p99)).toFixed(0),
        median(list.map((s) => s.subgraphPerOp)).toFixed(2),
        (peak.get(c.spec.name) ?? Number.NaN).toFixed(0),
        wrongHere,
        errorsHere,
      ]);
    }
  const ratio = (w: Workload['name'], peer: ContenderName) => rps(w, 'ours') / rps(w, peer);
  const ratios: BenchTable = {
    title: 'Ratios of requests/s (medians, same run)',
    columns: ['workload', 'ours / Hive (default)', 'ours / Hive (router runtime)', 'ours / vanilla Apollo'],
    rows: WORKLOADS.map((w) => [
      w.name,
      `${ratio(w.name, 'hive').toFixed(2)}×`,
      `${ratio(w.name, 'hive-router').toFixed(2)}×`,
      `${ratio(w.name, 'apollo').toFixed(2)}×`,
    ]),
  };
  const oursPeak = peak.get('ours') ?? Number.NaN;
  const meetsRatio = WORKLOADS.every((w) => ratio(w.name, 'hive') >= TARGET_RATIO_VS_HIVE);
  const meetsRss = oursPeak <= TARGET_PEAK_RSS_MIB;
  const loadAfter = loadavg();
  const fmtLoad = (l: number[]) => l.map((n) => n.toFixed(2)).join(' / ');
  return {
    title: 'Gateway vs peers (static subgraphs)',
    tables: [results, ratios],
    notes: [
      `Targets: ours ≥ ${TARGET_RATIO_VS_HIVE}× Hive (default runtime) on both workloads — ${meetsRatio ? 'met' : 'MISSED'}; ours ≤ ${TARGET_PEAK_RSS_MIB} MiB peak RSS — ${meetsRss ? 'met' : 'MISSED'} (${oursPeak.toFixed(0)} MiB). Stretch: ours ≥ Hive with its router runtime (ratio above).`,
      `Correctness: every response body byte-compared with a reference computed by graphql-js over the same rows (Apollo Server's final newline allowed); answers that differed or were not 2xx, over warm-up and rounds: ${wrong} (any fails the section); requests with no answer (connection error or autocannon's 10 s timeout, counted in "no answer"): ${errors}.`,
      `Contenders: ${running.map((c) => c.spec.label).join('; ')}. Each is one process on 127.0.0.1, started once for the whole section; all serve one supergraph file.`,
      `Ours runs with NODE_ENV=production, its edge limits and operation gate at their defaults (GATEWAY_MAX_OPERATIONS 32 in flight, the rest queued), rate limiting on in Redis with tiers ${BENCH_RATE_LIMIT_TIERS} (so the one load generator is not refused), JWKS_URL=none (anonymous requests), SANDBOX=false, LOG_LEVEL=warn (no per-request access log).`,
      `Load: autocannon in the bench process, ${CONNECTIONS} connections, ${settings.warmupSeconds} s warm-up per contender and workload, then ${settings.rounds} rounds with the contenders interleaved (starting contender rotating). Subgraphs: one process, bare node:http, each distinct request executed once and then answered from memory, so they cost little; subgraph req/op is the requests they received per answered operation between 25 % and 90 % of each run (steady state).`,
      `Before each next run the contender was left to finish the requests abandoned at the end of the last (until under 5 % CPU): ${running
        .map((c) => {
          const all = WORKLOADS.flatMap((w) => samples.get(`${w.name}/${c.spec.name}`) ?? []);
          return `${c.spec.name} ${median(all.map((x) => x.tailSeconds)).toFixed(1)} s median`;
        })
        .join(', ')}.`,
      `Peak RSS is VmHWM from /proc (process and descendants). Load average (1/5/15 min) ${fmtLoad(loadBefore)} at the start of the section, ${fmtLoad(loadAfter)} at its end: the machine is shared, figures are noisy (see the spread).`,
    ],
    ok: wrong === 0 && meetsRatio && meetsRss,
  };
}
