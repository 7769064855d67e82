/**
 * What every script that writes committed, generated files does alike (`pnpm codegen`,
 * `pnpm codegen:client`): `write` brings the files in line with what the generator produces now,
 * `check` (run by CI) fails when a committed file is missing, differs, or is a leftover the generator
 * no longer produces. The generator itself runs in memory; only this module writes.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { generate, type CodegenConfig } from '@graphql-codegen/cli';

/** What a generator produced: file (absolute path) → content. */
export type GeneratedFiles = Map<string, string>;

/** GraphQL Code Generator's output for `config`, run from `cwd`, in memory (saveToFile: false). */
export async function codegenInMemory(config: CodegenConfig, cwd: string): Promise<GeneratedFiles> {
  const outputs: Array<{ filename: string; content: string }> = await generate(
    { ...config, cwd, silent: true },
    false,
  );
  return new Map(outputs.map((o) => [resolve(cwd, o.filename), o.content]));
}

export interface Generator {
  /** The script, as its usage line names it (`codegen.ts`). */
  script: string;
  /** The command that rewrites the files, as the messages tell the reader to run it (`pnpm codegen`). */
  command: string;
  /** The repository root; messages name files relative to it. */
  root: string;
  /**
   * Runs the generator. `committed`: the files already in the generated folder, so that a file it no
   * longer produces is removed (write) or reported (check). `problems`: reasons to fail before anything
   * is compared or written.
   */
  produce(): Promise<{ files: GeneratedFiles; committed?: string[]; problems?: string[] }>;
  /** What the files are, for the closing line (`resolver types of 4 subgraphs`). */
  describe(files: GeneratedFiles): string;
}

/** A committed file's text, or undefined; line endings normalised so a CRLF checkout is not stale. */
function readCommitted(file: string): string | undefined {
  return existsSync(file) ? readFileSync(file, 'utf8').replace(/\r\n/g, '\n') : undefined;
}

async function main(generator: Generator, mode: string | undefined): Promise<number> {
  if (mode !== 'write' && mode !== 'check') {
    console.error(`usage: ${generator.script} <write|check>`);
    return 2;
  }
  const { files, committed = [], problems = [] } = await generator.produce();
  if (problems.length > 0) {
    for (const problem of problems) console.error(problem);
    return 1;
  }
  const name = (file: string) => relative(generator.root, file);

  const differences: string[] = [];
  for (const [file, content] of files) {
    if (readCommitted(file) === content) continue;
    differences.push(`${name(file)} is stale or missing`);
    if (mode === 'write') {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, content);
      console.log(`wrote ${name(file)}`);
    }
  }
  for (const file of committed.filter((f) => !files.has(f))) {
    differences.push(`${name(file)} is no longer generated`);
    if (mode === 'write') {
      rmSync(file);
      console.log(`removed ${name(file)}`);
    }
  }

  const what = generator.describe(files);
  if (mode === 'write') {
    if (differences.length === 0) console.log(`${what} are already up to date`);
    return 0;
  }
  if (differences.length > 0) {
    for (const difference of differences) console.error(`${difference}: run ${generator.command}`);
    return 1;
  }
  console.log(`OK: ${what} are up to date`);
  return 0;
}

/** Runs `generator` in the mode named by the first argument and sets the exit code (2 for a bad usage). */
export async function runGenerator(generator: Generator): Promise<void> {
  try {
    process.exitCode = await main(generator, process.argv[2]);
  } catch (e) {
    console.error(`${generator.command.replace(/^pnpm /, '')}: ${(e as Error).message}`);
    process.exitCode = 1;
  }
}
