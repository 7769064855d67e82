/**
 * What our gateway's memory is made of, by variant (test/bench/results/tuning-gateway.md, "Memory"): each
 * variant is ours as `pnpm bench` runs it, with extra `node` flags and environment (`"UNSET"` removes a
 * variable), and memory-sampler.mjs preloaded. Warm-up, then ROUNDS rounds of the nested and the small
 * workload, variants interleaved; prints peak RSS, the sampler's maxima and heap spaces at the peak, req/s
 * and CPU per operation. Wrap it in the bench lock like `pnpm bench`:
 *
 *   flock /tmp/bench.lock pnpm exec tsx test/bench/memory-probe.ts \
 *     '[{"name":"shipped","flags":[],"env":{}},{"name":"old512","flags":["--max-old-space-size=512"],"env":{}}]' 6 2
 *
 * Arguments: variants (JSON), seconds per run (8), rounds (1); CONNS sets the connections (50).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import {
  CONTENDERS,
  startContender,
  type ContenderSpec,
  type RunningContender,
} from './contenders/gateways.js';
import { startStaticSubgraphs, WORKLOADS } from './static/index.js';

interface Variant {
  name: string;
  flags: string[];
  env: Record<string, string>;
}
const variants: Variant[] = JSON.parse(process.argv[2]!);
const seconds = Number(process.argv[3] ?? 8);
const rounds = Number(process.argv[4] ?? 1);
const conns = Number(process.env.CONNS ?? 50);
const sub = await startStaticSubgraphs();
const dir = await mkdtemp(join(tmpdir(), 'gwmem-'));
// Kept after the run: each variant's log (`--trace-gc` output, say) and sampler file.
console.log('logs in', dir);
const base = CONTENDERS.find((c) => c.name === 'ours')!;
const running: Array<{ v: Variant; c: RunningContender }> = [];
try {
  for (const v of variants) {
    const spec: ContenderSpec = {
      ...base,
      args: (s, p) => [
        ...v.flags,
        '--import',
        fileURLToPath(new URL('./memory-sampler.mjs', import.meta.url)),
        ...base.args(s, p),
      ],
      env: (s, p) => {
        const e: Record<string, string> = {
          ...base.env(s, p),
          ...v.env,
          MEMPROBE_OUT: join(dir, `${v.name}.json`),
        };
        for (const k of Object.keys(e)) if (e[k] === 'UNSET') delete e[k];
        return e;
      },
    };
    running.push({ v, c: await startContender(spec, sub.supergraphPath, join(dir, `${v.name}.log`)) });
  }
  const res: Record<
    string,
    Record<string, { rps: number[]; cpu: number[]; p99: number[]; wrong: number }>
  > = {};
  const run = async (c: (typeof running)[number]['c'], w: (typeof WORKLOADS)[number], s: number) => {
    const cpu0 = c.cpuSeconds();
    const r = await new Promise<autocannon.Result>((resolve, reject) =>
      autocannon(
        {
          url: c.url,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: w.body,
          connections: conns,
          duration: s,
        },
        (e, r) => (e ? reject(e) : resolve(r)),
      ),
    );
    await new Promise((r) => setTimeout(r, 1500));
    return {
      rps: r.requests.total / r.duration,
      cpu: ((c.cpuSeconds() - cpu0) * 1e6) / Math.max(1, r.requests.total),
      p99: r.latency.p99,
      wrong: r.non2xx + r.errors,
    };
  };
  for (const { c } of running) for (const w of WORKLOADS) await run(c, w, 2);
  for (let i = 0; i < rounds; i++)
    for (const w of [...WORKLOADS].reverse())
      for (let k = 0; k < running.length; k++) {
        const { v, c } = running[(k + i) % running.length]!;
        const s = await run(c, w, seconds);
        const e = ((res[v.name] ??= {})[w.name] ??= { rps: [], cpu: [], p99: [], wrong: 0 });
        e.rps.push(Math.round(s.rps));
        e.cpu.push(Math.round(s.cpu));
        e.p99.push(s.p99);
        e.wrong += s.wrong;
      }
  await new Promise((r) => setTimeout(r, 700));
  console.log(
    `load ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  const MB = (n: number) => Math.round(n / 2 ** 20);
  for (const { v, c } of running) {
    const p = JSON.parse(readFileSync(join(dir, `${v.name}.json`), 'utf8'));
    const mx = Object.fromEntries(Object.entries(p.max).map(([k, n]) => [k, MB(n as number)]));
    const at = p.atPeak;
    console.log(
      `${v.name}: HWM ${c.peakRssMiB().toFixed(0)} MiB | max ${JSON.stringify(mx)} | atPeak rss ${MB(at.rss)} heapTotal ${MB(at.heapTotal)} used ${MB(at.heapUsed)} ext ${MB(at.external)} ab ${MB(at.arrayBuffers)} spaces ${JSON.stringify(at.spaces.filter((s: number[]) => s[1]))}`,
    );
    for (const [w, e] of Object.entries(res[v.name]!))
      console.log(
        `   ${w}: rps ${e.rps.join(',')} cpuµs/op ${e.cpu.join(',')} p99 ${e.p99.join(',')} bad ${e.wrong}`,
      );
  }
} finally {
  for (const { c } of running) await c.stop();
  await sub.close();
}
