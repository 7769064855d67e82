import { createLogger, type Logger } from './logger.js';
import { stopOnSignals, type SubgraphServer } from './server.js';
import { startTracing, type TracingSettings } from './tracing.js';

/** What `runFeature` starts: a built subgraph with an outbox relay and its event consumers. */
export interface RunnableSubgraph extends Pick<SubgraphServer, 'listen' | 'stop'> {
  relay: { start(): void };
  startConsumers(): Promise<unknown>;
}

/** The settings `runFeature` reads: `<FEATURE>_PORT`, `<FEATURE>_HOST` and `LOG_LEVEL`. */
export type RunnableSettings<F extends string> = Record<`${Uppercase<F>}_PORT`, number> &
  Record<`${Uppercase<F>}_HOST`, string> & { LOG_LEVEL: string } & TracingSettings;

/** Options of `runFeature`. */
export interface RunFeatureOptions<
  F extends string,
  C extends RunnableSettings<F>,
  S extends RunnableSubgraph,
> {
  /** The feature's name: its logger's `service`, and the prefix of its port and host settings. */
  feature: F;
  /** The feature's loaded settings (main.ts loads them with `loadOrExit`). */
  config: C;
  /** Builds the subgraph without listening (the feature's `create<Feature>Subgraph`). */
  create(config: C, logger: Logger): Promise<S>;
  /** The feature's own start-ups once it listens and consumes (sweepers, timers); runs before "ready". */
  start?(subgraph: S, logger: Logger): void | Promise<void>;
}

/**
 * A feature subgraph's main: logger → build → listen → outbox relay → consumers → the feature's own
 * start-ups → "ready" → stop on SIGTERM/SIGINT. Returns the running subgraph.
 */
export async function runFeature<
  F extends string,
  C extends RunnableSettings<F>,
  S extends RunnableSubgraph,
>({ feature, config, create, start }: RunFeatureOptions<F, C, S>): Promise<S> {
  const prefix = feature.toUpperCase();
  // Before anything that may open a span or a Prisma client.
  const tracing = startTracing(feature, config);
  const logger = createLogger(feature, config.LOG_LEVEL);
  const subgraph = await create(config, logger);
  const settings: Record<string, unknown> = config;
  const { url } = await subgraph.listen(
    settings[`${prefix}_PORT`] as number,
    settings[`${prefix}_HOST`] as string,
  );
  subgraph.relay.start();
  await subgraph.startConsumers();
  await start?.(subgraph, logger);
  logger.info({ url }, `${feature} subgraph ready`);
  stopOnSignals(async () => {
    await subgraph.stop();
    await tracing.shutdown();
  }, logger);
  return subgraph;
}
