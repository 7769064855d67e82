#!/usr/bin/env -S node --import tsx
/**
 * Operating the event bus from a shell:
 *
 *   pnpm events lag <group…> [--json]                  pending / oldest pending age / undelivered per stream
 *   pnpm events dlq list <group> [--limit N] [--json]  the group's dead letters, oldest first
 *   pnpm events dlq replay <group> <id…|--all>         re-delivers dead letters to that group only
 *
 * Settings come from the environment only: REDIS_URL (default redis://127.0.0.1:6379) and
 * EVENTS_NAMESPACE (default carwash). Exit codes: 0 done, 1 failed (Redis unreachable, unknown
 * dead-letter id, unknown group), 2 usage or settings error.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { DEFAULT_NAMESPACE, type DeadLetter, type EventBus, type GroupLag } from './bus.js';
import { createEventBus } from './create.js';

export const USAGE = `usage:
  pnpm events lag <group…> [--json]
  pnpm events dlq list <group> [--limit N] [--json]
  pnpm events dlq replay <group> <id…|--all>

environment:
  REDIS_URL         Redis to connect to (default redis://127.0.0.1:6379)
  EVENTS_NAMESPACE  key prefix of the environment's streams (default ${DEFAULT_NAMESPACE})`;

const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
const DEFAULT_LIST_LIMIT = 100;
/** Dead-letter streams are trimmed to about 100,000 entries, so this reads all of one. */
const REPLAY_ALL_LIMIT = 1_000_000;
const NAMESPACE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/;
const GROUP_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$/;
const ENTRY_ID_PATTERN = /^\d+-\d+$/;

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** A mistake in the command line or the settings: exit 2 with the usage. */
class UsageError extends Error {}
/** The command ran and did not succeed: exit 1. */
class Failure extends Error {}

type Command =
  | { kind: 'help' }
  | { kind: 'lag'; groups: string[]; json: boolean }
  | { kind: 'list'; group: string; limit: number; json: boolean }
  | { kind: 'replay'; group: string; ids: string[] | 'all' };

interface Settings {
  redisUrl: string;
  namespace: string;
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

export function readSettings(env: NodeJS.ProcessEnv): Settings {
  const redisUrl = env.REDIS_URL?.trim() || DEFAULT_REDIS_URL;
  let parsed: URL;
  try {
    parsed = new URL(redisUrl);
  } catch {
    throw new UsageError(
      `REDIS_URL is not a URL: "${redactUrl(redisUrl)}" (expected e.g. ${DEFAULT_REDIS_URL})`,
    );
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')
    throw new UsageError(`REDIS_URL must start with redis:// or rediss://, got "${redactUrl(redisUrl)}"`);
  const namespace = env.EVENTS_NAMESPACE?.trim() || DEFAULT_NAMESPACE;
  if (!NAMESPACE_PATTERN.test(namespace))
    throw new UsageError(
      `EVENTS_NAMESPACE must be letters, digits and _ . : - (up to 100), got "${namespace}"`,
    );
  return { redisUrl, namespace };
}

function group(value: string | undefined, command: string): string {
  if (value === undefined || value.startsWith('--'))
    throw new UsageError(`${command} needs a consumer group`);
  if (!GROUP_PATTERN.test(value))
    throw new UsageError(`invalid consumer group "${value}": letters, digits and _ . : - only`);
  return value;
}

/** Splits `--flag` / `--flag value` options from positionals; only the options listed are accepted. */
function splitArgs(
  args: readonly string[],
  flags: readonly string[],
  valued: readonly string[],
): { positionals: string[]; options: Map<string, string | true> } {
  const positionals: string[] = [];
  const options = new Map<string, string | true>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (flags.includes(name)) {
      if (eq > 0) throw new UsageError(`${name} takes no value`);
      options.set(name, true);
    } else if (valued.includes(name)) {
      const value = eq > 0 ? arg.slice(eq + 1) : args[++i];
      if (value === undefined || value === '') throw new UsageError(`${name} needs a value`);
      options.set(name, value);
    } else {
      throw new UsageError(`unknown option ${name}`);
    }
  }
  return { positionals, options };
}

export function parseCommand(argv: readonly string[]): Command {
  const [first, ...rest] = argv;
  if (first === undefined) throw new UsageError('missing command');
  if (first === 'help' || first === '--help' || first === '-h') return { kind: 'help' };

  if (first === 'lag') {
    const { positionals, options } = splitArgs(rest, ['--json'], []);
    if (positionals.length === 0) throw new UsageError('lag needs at least one consumer group');
    return {
      kind: 'lag',
      groups: [...new Set(positionals.map((g) => group(g, 'lag')))],
      json: options.has('--json'),
    };
  }

  if (first === 'dlq') {
    const [sub, ...args] = rest;
    if (sub === 'list') {
      const { positionals, options } = splitArgs(args, ['--json'], ['--limit']);
      if (positionals.length > 1)
        throw new UsageError(`dlq list takes one consumer group, got ${positionals.length}`);
      const limitText = options.get('--limit');
      let limit = DEFAULT_LIST_LIMIT;
      if (limitText !== undefined) {
        limit = Number(limitText);
        if (
          typeof limitText !== 'string' ||
          !/^\d+$/.test(limitText) ||
          limit < 1 ||
          limit > REPLAY_ALL_LIMIT
        )
          throw new UsageError(
            `--limit must be an integer from 1 to ${REPLAY_ALL_LIMIT}, got "${String(limitText)}"`,
          );
      }
      return { kind: 'list', group: group(positionals[0], 'dlq list'), limit, json: options.has('--json') };
    }
    if (sub === 'replay') {
      const { positionals, options } = splitArgs(args, ['--all'], []);
      const g = group(positionals[0], 'dlq replay');
      const ids = positionals.slice(1);
      if (options.has('--all')) {
        if (ids.length) throw new UsageError('dlq replay takes either dead-letter ids or --all, not both');
        return { kind: 'replay', group: g, ids: 'all' };
      }
      if (ids.length === 0)
        throw new UsageError('dlq replay needs a dead-letter id (see `dlq list`) or --all');
      for (const id of ids)
        if (!ENTRY_ID_PATTERN.test(id))
          throw new UsageError(
            `invalid dead-letter id "${id}": expected a stream entry id like 1712345678901-0 (see \`dlq list\`)`,
          );
      return { kind: 'replay', group: g, ids: [...new Set(ids)] };
    }
    throw new UsageError(
      sub === undefined
        ? 'dlq needs a subcommand: list or replay'
        : `unknown dlq subcommand "${sub}" (expected list or replay)`,
    );
  }

  throw new UsageError(`unknown command "${first}"`);
}

function formatAge(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.floor(s % 60)} s`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
}

/** Left-aligned columns, two spaces apart; long cells are not cut (errors are at most 500 characters). */
function table(header: readonly string[], rows: readonly string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

async function lag(
  bus: EventBus,
  cmd: Extract<Command, { kind: 'lag' }>,
  settings: Settings,
  io: Io,
): Promise<number> {
  const results: Array<{ group: string; streams: GroupLag[] }> = [];
  for (const g of cmd.groups) results.push({ group: g, streams: await bus.lag(g) });
  const unknown = results.filter((r) => r.streams.length === 0).map((r) => r.group);
  if (cmd.json) {
    io.out(
      JSON.stringify(
        results.flatMap((r) => r.streams),
        null,
        2,
      ),
    );
  } else {
    const rows = results.flatMap((r) =>
      r.streams.map((l) => [
        l.group,
        l.stream,
        String(l.pending),
        l.pending ? formatAge(l.oldestPendingAgeMs) : '-',
        l.undelivered === null ? 'unknown' : String(l.undelivered),
      ]),
    );
    if (rows.length)
      for (const l of table(['GROUP', 'STREAM', 'PENDING', 'OLDEST PENDING', 'UNDELIVERED'], rows)) io.out(l);
  }
  for (const g of unknown)
    io.err(
      `error: consumer group "${g}" reads no stream in namespace "${settings.namespace}" (misspelt, never started, or another EVENTS_NAMESPACE?)`,
    );
  return unknown.length ? 1 : 0;
}

function deadLetterJson(d: DeadLetter) {
  return {
    id: d.id,
    group: d.group,
    topic: d.event.type,
    aggregateId: d.event.aggregateId,
    deliveries: d.deliveries,
    error: d.error,
    deadAt: d.deadAt,
    sourceStream: d.sourceStream,
    event: d.event,
  };
}

async function list(
  bus: EventBus,
  cmd: Extract<Command, { kind: 'list' }>,
  settings: Settings,
  io: Io,
): Promise<number> {
  const letters = await bus.deadLetters(cmd.group, cmd.limit);
  if (cmd.json) {
    io.out(JSON.stringify(letters.map(deadLetterJson), null, 2));
    return 0;
  }
  if (letters.length === 0) {
    io.out(`no dead letters for group "${cmd.group}" in namespace "${settings.namespace}"`);
    return 0;
  }
  const rows = letters.map((d) => [
    d.id,
    d.event.type ?? '?',
    d.event.aggregateId ?? '?',
    String(d.deliveries),
    d.deadAt,
    oneLine(d.error),
  ]);
  // The error goes last: it is the one column of unbounded width.
  for (const l of table(['ID', 'TOPIC', 'AGGREGATE ID', 'DELIVERIES', 'DEAD AT', 'ERROR'], rows)) io.out(l);
  if (letters.length === cmd.limit) io.out(`(first ${cmd.limit}; more may follow — use --limit)`);
  return 0;
}

async function replay(
  bus: EventBus,
  cmd: Extract<Command, { kind: 'replay' }>,
  settings: Settings,
  io: Io,
): Promise<number> {
  if (cmd.ids === 'all') {
    // One snapshot: a letter that fails again while we replay gets a new id and is not replayed twice.
    const letters = await bus.deadLetters(cmd.group, REPLAY_ALL_LIMIT);
    if (letters.length === 0) {
      io.out(
        `no dead letters for group "${cmd.group}" in namespace "${settings.namespace}"; nothing replayed`,
      );
      return 0;
    }
    for (const d of letters) await bus.replayDeadLetter(cmd.group, d.id);
    io.out(
      `replayed ${letters.length} dead letter${letters.length === 1 ? '' : 's'} to group "${cmd.group}"`,
    );
    return 0;
  }
  let failed = 0;
  for (const id of cmd.ids) {
    try {
      await bus.replayDeadLetter(cmd.group, id);
      io.out(`replayed dead letter ${id} to group "${cmd.group}"`);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (!message.startsWith('no dead letter')) throw err;
      failed += 1;
      io.err(
        `error: ${message} in namespace "${settings.namespace}" (see \`pnpm events dlq list ${cmd.group}\`)`,
      );
    }
  }
  return failed ? 1 : 0;
}

/** Runs one command; returns the exit code. Never throws. */
export async function run(argv: readonly string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  let cmd: Command;
  let settings: Settings;
  try {
    cmd = parseCommand(argv);
    if (cmd.kind === 'help') {
      io.out(USAGE);
      return 0;
    }
    settings = readSettings(env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`error: ${err.message}\n\n${USAGE}`);
    return 2;
  }

  const bus = createEventBus({ kind: 'redis', url: settings.redisUrl, namespace: settings.namespace });
  try {
    try {
      await bus.ping();
    } catch (err) {
      throw new Failure(
        `cannot reach Redis at ${redactUrl(settings.redisUrl)}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    switch (cmd.kind) {
      case 'lag':
        return await lag(bus, cmd, settings, io);
      case 'list':
        return await list(bus, cmd, settings, io);
      case 'replay':
        return await replay(bus, cmd, settings, io);
    }
  } catch (err) {
    io.err(`error: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    await bus.close().catch(() => {});
  }
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

/** Exits once stdout and stderr are flushed, without waiting for a Redis client's disconnect grace timer. */
function exitAfterFlush(code: number): void {
  process.exitCode = code;
  let open = 2;
  const flushed = () => {
    if (--open === 0) process.exit(code);
  };
  process.stdout.write('', flushed);
  process.stderr.write('', flushed);
}

if (isEntryPoint()) {
  const io: Io = {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  };
  run(process.argv.slice(2), process.env, io).then(exitAfterFlush, (err: unknown) => {
    io.err(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    exitAfterFlush(1);
  });
}
