/** `pnpm reset`: wipes the data folder of `pnpm start` (embedded databases, keys); the next start seeds again. */
import { existsSync, rmSync } from 'node:fs';
import { loadOrExit } from '@carwash/config';
import { loadStartConfig } from './start/config.js';
import { readRunFile } from './start/run-file.js';

const { dataDir } = loadOrExit(() => loadStartConfig());
const running = readRunFile(dataDir);
if (running) {
  console.error(`[reset] pnpm start is running (pid ${running.pid}) on ${dataDir}: stop it first (Ctrl-C)`);
  process.exit(1);
}
if (!existsSync(dataDir)) console.log(`[reset] nothing to wipe: ${dataDir} does not exist`);
else {
  rmSync(dataDir, { recursive: true, force: true });
  console.log(`[reset] wiped ${dataDir}; the next pnpm start creates the databases and seeds the demo again`);
}
