import { generateServiceKeys } from '@carwash/config';
import { createLogger } from '@carwash/subgraph-kit';
import type { Feature } from './config.js';
import { startInProcess, type InProcessSupergraph } from './supergraph.js';

/** As booking's main.ts: the sweep that records the lapsed holds no write has expired yet. */
const HOLD_SWEEP_INTERVAL_MS = 30_000;

export interface Services extends InProcessSupergraph {
  /** Stops the gateway, then every subgraph (in-flight requests finish, pools close). */
  stop(): Promise<void>;
}

export interface ServiceOptions {
  env: Record<string, string | undefined>;
  databaseUrls: Record<Feature, string>;
  /** Features on an embedded (one-session) database: their pools get one connection. */
  embedded: readonly Feature[];
  eventBus: 'redis' | 'memory';
}

/**
 * Every subgraph and the gateway in this one process, each on its own port as in production, calling
 * each other over HTTP with their own signed service credentials. One process because the in-memory
 * event bus (no Redis in the zero-setup run) connects only the features of one process.
 */
export async function startServices({
  env,
  databaseUrls,
  embedded,
  eventBus,
}: ServiceOptions): Promise<Services> {
  const keys = generateServiceKeys(['gateway', 'auth', 'booking', 'location', 'payment'], 'start');
  const base = { ...env, EVENT_BUS: eventBus };
  const db = (f: Feature) => ({
    [`${f.toUpperCase()}_DATABASE_URL`]: databaseUrls[f],
    // One session: its relay is woken by the writes committed on that one connection, as on PostgreSQL.
    ...(embedded.includes(f) ? { [`${f.toUpperCase()}_DATABASE_POOL_SIZE`]: '1' } : {}),
  });
  const log = (name: string) => createLogger(name, env.LOG_LEVEL ?? 'warn');
  const started: Array<{ name: string; stop(): Promise<void> }> = [];
  const stop = async () => {
    for (const s of started.reverse()) {
      const t = performance.now();
      await s.stop();
      console.error(`[start] stopped ${s.name} in ${Math.round(performance.now() - t)} ms`);
    }
  };
  try {
    const supergraph = await startInProcess({
      // The environment, then the peers this run started, then what is this service's own in this run.
      settings: (service, peers) => ({
        ...base,
        ...peers,
        ...keys.envFor(service),
        ...(service === 'gateway' ? {} : db(service)),
      }),
      logger: log,
      built: (name, stopIt) => started.push({ name, stop: stopIt }),
    });
    const { auth, location, booking, payment } = supergraph;

    for (const s of [auth, location, booking, payment]) {
      s.relay.start();
      await s.startConsumers();
    }
    const stopSweeper = payment.startSweeper();
    const sweep = setInterval(() => {
      booking.service.expireLapsedHolds().catch(() => undefined);
    }, HOLD_SWEEP_INTERVAL_MS);
    sweep.unref();
    started.unshift({
      name: 'sweepers',
      stop: async () => {
        clearInterval(sweep);
        stopSweeper();
      },
    });
    return { ...supergraph, stop };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}
