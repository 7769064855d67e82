/**
 * `pnpm bench`: every benchmark section in one run, printed as one report and written to
 * `test/bench/results/latest.md` (with the machine's description). Sections live in
 * `test/bench/sections/`; each returns tables and notes (see report.ts).
 *
 *   pnpm bench [--quick] [--only name,name] [--out path]
 *
 * Exit 0 when every section met its targets and checks, 1 otherwise (the file is written either way),
 * 2 on bad flags.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineDescription, renderSection, type BenchSection, type Section } from './report.js';
import { benchArgs } from './support.js';

const HERE = dirname(fileURLToPath(import.meta.url));

/** Section name → loader, in the order they run. Each helper module exports `run: Section`. */
const SECTIONS: Record<string, () => Promise<{ run: Section }>> = {
  gateway: () => import('./sections/gateway.js'),
};

const USAGE = `usage: pnpm bench [--quick] [--only name,name] [--out path]
  --quick        fewer rounds and shorter runs (a smoke run; figures only indicative)
  --only names   run only these sections (${Object.keys(SECTIONS).join(', ') || 'none yet'})
  --out path     results file (default test/bench/results/latest.md)
  -h, --help     show this help`;

async function main(): Promise<number> {
  const values = benchArgs(process.argv.slice(2), USAGE, {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    out: { type: 'string', default: resolve(HERE, 'results/latest.md') },
  });
  const names = values.only ? values.only.split(',').map((s) => s.trim()) : Object.keys(SECTIONS);
  const unknown = names.filter((n) => !(n in SECTIONS));
  if (unknown.length > 0) {
    console.error(`unknown section(s): ${unknown.join(', ')}\n${USAGE}`);
    return 2;
  }
  const started = new Date();
  const machine = machineDescription();
  const log = (line: string) => console.error(`[bench] ${line}`);
  if (names.length === 0) {
    console.error('no benchmark sections to run');
    return 1;
  }
  const results: BenchSection[] = [];
  for (const name of names) {
    log(`section ${name}`);
    const { run } = await SECTIONS[name]!();
    try {
      results.push(await run({ quick: values.quick, log }));
    } catch (error) {
      results.push({
        title: name,
        tables: [],
        notes: [`the section failed: ${error instanceof Error ? error.message : String(error)}`],
        ok: false,
      });
    }
  }
  const report = `${[
    `# Benchmark results`,
    `Run ${started.toISOString()}${values.quick ? ' (--quick: indicative only)' : ''} on ${machine}.`,
    ...results.map(renderSection),
  ].join('\n\n')}\n`;
  console.log(report);
  await mkdir(dirname(values.out), { recursive: true });
  await writeFile(values.out, report);
  log(`written to ${values.out}`);
  return results.every((r) => r.ok) ? 0 : 1;
}

process.exitCode = await main();
