/** What the benchmark scripts share: their command line, latency summaries, stopping child processes. */
import type { ChildProcess } from 'node:child_process';
import { parseArgs, type ParseArgsConfig } from 'node:util';

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;
const HELP = { help: { type: 'boolean', short: 'h', default: false } } as const;

/**
 * A benchmark's command line, parsed strictly (an unknown flag or a positional argument is an error),
 * with `-h`/`--help` printing `usage` and exiting 0.
 */
export function benchArgs<const O extends OptionsConfig>(argv: string[], usage: string, options: O) {
  const { values } = parseArgs<{
    args: string[];
    strict: true;
    allowPositionals: false;
    options: O & typeof HELP;
  }>({ args: argv, strict: true, allowPositionals: false, options: { ...options, ...HELP } });
  if ('help' in values && values.help === true) {
    console.log(usage);
    process.exit(0);
  }
  return values;
}

/** A command-line integer within [min, max], or an error naming the option. */
export function integerOption(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max)
    throw new Error(`--${name} must be an integer from ${min} to ${max}, got "${text}"`);
  return n;
}

/** Nearest-rank percentile `p` (0–100) of ascending `sorted`; NaN when it is empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  return (
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN
  );
}

/** Stops a child process: SIGTERM, SIGKILL if it is still there after `graceMs`; resolves once it exited. */
export async function stopChild(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
