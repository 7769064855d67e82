/**
 * The shape every `pnpm bench` section returns, and the results file they are written to.
 *
 * A section measures one thing (the gateway against its peers, the dashboard against a SQL floor, booking
 * under load, a fault drill) and returns tables of figures plus notes: how noisy the run was, what was
 * checked. `test/bench/run.ts` runs the sections in order and writes them all, with the machine's
 * description, to one Markdown file.
 */
import { cpus, freemem, loadavg, totalmem } from 'node:os';

export interface BenchTable {
  /** A short heading, e.g. "Static workloads: requests/s (median of 5 rounds)". */
  title: string;
  columns: string[];
  rows: Array<Array<string | number>>;
}

export interface BenchSection {
  /** The section's heading in the results file. */
  title: string;
  tables: BenchTable[];
  /** Plain sentences: how it was measured, the spread, checks that passed, what changed since. */
  notes: string[];
  /** False when a target the issue sets was missed or a correctness check failed; the run still writes. */
  ok: boolean;
}

export interface SectionContext {
  /** `--quick`: fewer rounds and shorter runs, for a smoke run; figures are then only indicative. */
  quick: boolean;
  /** Progress lines to stderr (the table goes to stdout and the file). */
  log: (line: string) => void;
}

export type Section = (ctx: SectionContext) => Promise<BenchSection>;

/** The machine, as the results file states it. */
export function machineDescription(): string {
  const cpu = cpus();
  const gib = (n: number) => (n / 1024 ** 3).toFixed(1);
  return [
    `${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}`,
    `${gib(totalmem())} GiB RAM (${gib(freemem())} GiB free at start)`,
    `Node ${process.version} on ${process.platform}/${process.arch}`,
    `load average at start ${loadavg()
      .map((n) => n.toFixed(2))
      .join(' / ')}`,
  ].join(', ');
}

function cell(value: string | number): string {
  return String(value).replaceAll('|', '\\|');
}

export function renderTable(table: BenchTable): string {
  const lines = [
    `**${table.title}**`,
    '',
    `| ${table.columns.map(cell).join(' | ')} |`,
    `|${table.columns.map(() => '---').join('|')}|`,
    ...table.rows.map((row) => `| ${row.map(cell).join(' | ')} |`),
  ];
  return lines.join('\n');
}

export function renderSection(section: BenchSection): string {
  const parts = [`## ${section.title}${section.ok ? '' : ' — TARGET MISSED OR CHECK FAILED'}`];
  for (const table of section.tables) parts.push(renderTable(table));
  if (section.notes.length > 0) parts.push(section.notes.map((n) => `- ${n}`).join('\n'));
  return parts.join('\n\n');
}

/** Median of `values` (NaN when empty). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The spread of `values` as "min–max (±x % around the median)". */
export function spread(values: readonly number[], digits = 0): string {
  if (values.length === 0) return '–';
  const m = median(values);
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const pct = m === 0 ? 0 : (Math.max(m - lo, hi - m) / m) * 100;
  return `${lo.toFixed(digits)}–${hi.toFixed(digits)} (±${pct.toFixed(0)} %)`;
}
