import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

/** What a running `pnpm start` writes into its data folder once ready (and removes when it stops). */
export interface RunFile {
  pid: number;
  /** The embedded databases' process, when any feature runs on one. */
  dbPid: number | null;
  gatewayUrl: string;
  subgraphUrls: Record<'auth' | 'booking' | 'location' | 'payment', string>;
  databases: Record<string, string>;
  eventBus: string;
  readyAfterMs: number;
  embeddedCreatedMs: number;
  seeded: boolean;
}

export const runFilePath = (dataDir: string) => path.join(dataDir, 'run.json');

/** Whether a process with this id still runs (signal 0 checks without sending anything). */
export const processAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The run file of a start that is still running on `dataDir`; a stale one (its process gone) is removed. */
export function readRunFile(dataDir: string): RunFile | undefined {
  const file = runFilePath(dataDir);
  if (!existsSync(file)) return undefined;
  const run = JSON.parse(readFileSync(file, 'utf8')) as RunFile;
  if (processAlive(run.pid)) return run;
  rmSync(file, { force: true });
  return undefined;
}
