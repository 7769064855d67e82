/**
 * `pnpm start`: the whole supergraph on this machine with nothing installed but Node — or on the
 * PostgreSQL and Redis you name.
 *
 *  - every feature whose `<FEATURE>_DATABASE_URL` is unset gets an embedded PostgreSQL (PGlite, in a
 *    child process: scripts/start/embedded-db.ts), its data kept under START_DATA_DIR (`.data/`);
 *  - migrations are applied (prisma/cli.ts deploy), the four subgraphs and the gateway start in this
 *    process (the in-memory bus needs one process; with EVENT_BUS=redis it would not matter);
 *  - the demo data is seeded when the supergraph is empty, and a banner shows the Sandbox and logins.
 *
 * Ctrl-C (SIGINT) or SIGTERM: the gateway and subgraphs drain and close their pools, then the embedded
 * databases close (checkpointed), then the process exits. `pnpm reset` wipes the data folder.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadOrExit } from '@carwash/config';
import { exportJWK, generateKeyPair } from 'jose';
import { FEATURES, loadStartConfig, type Feature, type StartConfig } from './start/config.js';
import type { EmbeddedDbMessage } from './start/embedded-db.js';
import { migrate } from './start/migrate.js';
import type { PartnerKey } from './start/seed.js';
import type { Services } from './start/services.js';
import { readRunFile, runFilePath, type RunFile } from './start/run-file.js';

/** How long a stop may take before the process exits anyway (the services drain within 10 s). */
const STOP_GRACE_MS = 60_000;
/** How long the embedded databases may take to start (a new folder: initdb once, ~4–7 s here). */
const EMBEDDED_START_TIMEOUT_MS = 120_000;

const t0 = performance.now();
const elapsed = () => ((performance.now() - t0) / 1000).toFixed(1);
const say = (line: string) => console.log(`[start] ${line}`);

const config = loadOrExit(() => loadStartConfig());

/**
 * The services and the seed (every subgraph, the gateway, Apollo, the Prisma clients: seconds of
 * module loading) are imported while the embedded databases start in their own process, not before:
 * on two cores the two overlap instead of adding up.
 */
const loadServices = () => Promise.all([import('./start/services.js'), import('./start/seed.js')]);
let modules: ReturnType<typeof loadServices> | undefined;

let db: ChildProcess | undefined;
let services: Services | undefined;
let stopping: Promise<void> | undefined;

function startEmbedded(cfg: StartConfig): Promise<{ ports: Record<string, number>; createdMs: number }> {
  const child = fork(new URL('./start/embedded-db.ts', import.meta.url), [], {
    execArgv: ['--import', 'tsx'],
    env: {
      ...process.env,
      EMBEDDED_DB_DIR: path.join(cfg.dataDir, 'pg'),
      EMBEDDED_DB_FEATURES: cfg.embedded.join(','),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  db = child;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('embedded databases did not start in time')),
      EMBEDDED_START_TIMEOUT_MS,
    );
    child.once('message', (m: EmbeddedDbMessage) => {
      clearTimeout(timer);
      if (m.type === 'ready') resolve(m);
      else reject(new Error(`embedded databases failed: ${m.message}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`embedded databases exited (${signal ?? code})`));
      if (!stopping) void stop(1, 'the embedded databases stopped');
    });
  });
}

/** The key auth signs access tokens with: given, or made once and kept in the data folder. */
async function jwtKeys(cfg: StartConfig): Promise<string> {
  if (cfg.jwtKeys) return cfg.jwtKeys;
  const file = path.join(cfg.dataDir, 'auth-jwt-keys.json');
  if (existsSync(file)) return readFileSync(file, 'utf8');
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const keys = JSON.stringify([
    { ...(await exportJWK(privateKey)), kid: `start-${Date.now().toString(36)}` },
  ]);
  writeFileSync(file, keys, { mode: 0o600 });
  chmodSync(file, 0o600);
  return keys;
}

/** Where the demo partner's API key is kept: `createApiKey` shows it once, the banner shows it every start. */
const partnerKeyFile = (cfg: StartConfig) => path.join(cfg.dataDir, 'partner-api-key.json');

function readPartnerKey(cfg: StartConfig): PartnerKey | undefined {
  const file = partnerKeyFile(cfg);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as PartnerKey) : undefined;
}

function stop(code: number, why: string): Promise<void> {
  stopping ??= (async () => {
    say(`stopping (${why})…`);
    const timer = setTimeout(() => {
      console.error('[start] stop took too long; exiting');
      db?.kill('SIGKILL');
      process.exit(1);
    }, STOP_GRACE_MS);
    timer.unref();
    try {
      await services?.stop();
    } catch (err) {
      console.error('[start] error while stopping the services:', err);
      code = 1;
    }
    if (db && db.exitCode === null && db.signalCode === null) {
      const exited = new Promise((r) => db!.once('exit', r));
      db.send({ type: 'stop' });
      await exited;
    }
    rmSync(runFilePath(config.dataDir), { force: true });
    say('stopped');
    process.exit(code);
  })();
  return stopping;
}

process.on('SIGINT', () => void stop(0, 'SIGINT'));
process.on('SIGTERM', () => void stop(0, 'SIGTERM'));

async function main(): Promise<void> {
  mkdirSync(config.dataDir, { recursive: true });
  const other = readRunFile(config.dataDir);
  if (other) {
    console.error(`[start] already running (pid ${other.pid}) on ${config.dataDir}: stop it first`);
    process.exit(1);
  }
  const urls = { ...config.givenDatabases } as Record<Feature, string>;
  let createdMs = 0;
  if (config.embedded.length) {
    say(
      `embedded PostgreSQL (PGlite) for ${config.embedded.join(', ')} in ${path.join(config.dataDir, 'pg')}`,
    );
    const starting = startEmbedded(config);
    // Loading is synchronous work on this thread: start it once the databases' process is forked.
    modules = loadServices();
    modules.catch(() => undefined); // awaited below; a failure then is reported there, not as unhandled
    const started = await starting;
    createdMs = started.createdMs;
    say(
      `embedded databases up (${elapsed()} s${createdMs ? `, ${(createdMs / 1000).toFixed(1)} s creating new ones` : ''})`,
    );
    for (const f of config.embedded) urls[f] = `postgresql://postgres@127.0.0.1:${started.ports[f]}/postgres`;
  }
  for (const f of FEATURES.filter((x) => config.givenDatabases[x])) say(`${f}: the database you set`);
  const migrated = await migrate(config.root, urls, config.embedded);
  say(
    `migrations: ${migrated.length ? `applied for ${migrated.join(', ')}` : 'up to date'} (${elapsed()} s)`,
  );

  const [{ startServices }, seed] = await (modules ??= loadServices());
  const { gatewayClient, isEmpty, seedDemo } = seed;
  services = await startServices({
    env: {
      ...process.env,
      LOG_LEVEL: config.logLevel,
      AUTH_DEV_MAILBOX: 'true',
      AUTH_JWT_PRIVATE_KEYS: await jwtKeys(config),
    },
    databaseUrls: urls,
    embedded: config.embedded,
    eventBus: config.eventBus,
  });
  const gql = gatewayClient(services.urls.gateway);
  let seeded = false;
  if (config.seed && (await isEmpty(gql))) {
    say('seeding the demo data (first run)…');
    const demo = await seedDemo(services, gql).catch((err: unknown) => {
      // Half a demo is not seeded again (the supergraph is no longer empty): say how to start over.
      throw new Error(
        `seeding the demo failed (${err instanceof Error ? err.message : String(err)}); ` +
          `\`pnpm reset\` (embedded databases) or empty the given databases, then start again`,
      );
    });
    writeFileSync(partnerKeyFile(config), JSON.stringify(demo.partnerKey, null, 2), { mode: 0o600 });
    seeded = true;
  }

  const run: RunFile = {
    pid: process.pid,
    dbPid: db?.pid ?? null,
    gatewayUrl: services.urls.gateway,
    subgraphUrls: {
      auth: services.urls.auth,
      booking: services.urls.booking,
      location: services.urls.location,
      payment: services.urls.payment,
    },
    databases: Object.fromEntries(
      FEATURES.map((f) => [f, config.embedded.includes(f) ? 'embedded' : 'given']),
    ),
    eventBus: config.eventBus,
    readyAfterMs: Math.round(performance.now() - t0),
    embeddedCreatedMs: createdMs,
    seeded,
  };
  writeFileSync(runFilePath(config.dataDir), JSON.stringify(run, null, 2));
  banner(run, seed);
}

/** The demo partner's key (seeded with the demo data; kept in the data folder), if this run has one. */
function partnerLines(): string[] {
  const partner = readPartnerKey(config);
  if (!partner) return [];
  return [
    '',
    `  Partner API key (client ${partner.client}, tier ${partner.tier}; its manifest: schema/persisted-queries/${partner.client}.json):`,
    `    x-api-key: ${partner.key}`,
    '    send its operations by id: { "extensions": { "persistedQuery": { "version": 1, "sha256Hash": "<id>" } } }',
  ];
}

function banner(run: RunFile, { DEMO_LOGINS, DEMO_PASSWORD }: typeof import('./start/seed.js')): void {
  const sandbox = run.gatewayUrl.replace(/graphql$/, '');
  const auth = new URL(run.subgraphUrls.auth);
  const lines = [
    `Car-wash supergraph — ready in ${(run.readyAfterMs / 1000).toFixed(1)} s${run.seeded ? ' (demo data seeded)' : ''}`,
    '',
    `  Sandbox   ${sandbox}`,
    `  GraphQL   ${run.gatewayUrl}      health ${sandbox}health · ${sandbox}ready`,
    `  Mailbox   ${auth.origin}/dev/mailbox?to=<email>`,
    `  Data      ${config.dataDir}   (pnpm reset wipes it)`,
    `  Databases ${Object.entries(run.databases)
      .map(([f, k]) => `${f}: ${k}`)
      .join(', ')} · bus: ${run.eventBus}`,
    '',
    `  Demo logins (password ${DEMO_PASSWORD}):`,
    ...Object.entries(DEMO_LOGINS).map(([role, email]) => `    ${role.padEnd(8)} ${email}`),
    ...partnerLines(),
    '',
    '  mutation { logIn(input: { email: "alice@demo.carwash.test", password: "…" }) { accessToken } }',
    '  then send the header  Authorization: Bearer <accessToken>     Ctrl-C stops everything.',
  ];
  console.log(`\n${lines.join('\n')}\n`);
  say(`ready ${run.gatewayUrl}`);
}

main().catch((err: unknown) => {
  console.error('[start] failed:', err instanceof Error ? err.message : err);
  void stop(1, 'start failed');
});
