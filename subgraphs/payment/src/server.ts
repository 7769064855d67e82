import { buildFeatureSubgraph, openFeature, type FeatureSubgraph, type Logger } from '@carwash/subgraph-kit';
import { Counter, Registry } from 'prom-client';
import type { PaymentConfig } from './config.js';
import type { PaymentContext } from './context.js';
import { createDb, type PaymentDb } from './db.js';
import { createLoaders } from './loaders.js';
import { BookingPeer } from './peers.js';
import { SandboxProvider, type PaymentProvider } from './provider.js';
import { permissions, serviceAccess } from './permissions.js';
import { PaymentRepository } from './repository.js';
import { resolvers } from './resolvers.js';
import { PaymentService } from './service.js';

export { sqlStatements } from './db.js';
export { loadPaymentConfig, type PaymentConfig } from './config.js';
export type { PaymentProvider, SandboxEntry } from './provider.js';

export interface PaymentSubgraph extends FeatureSubgraph<PaymentDb, PaymentService> {
  /** The offline sandbox provider (tests count its charges). */
  provider: SandboxProvider;
  /** This subgraph's Prometheus metrics, served at `GET /metrics`. */
  metrics: Registry;
  /**
   * Starts the periodic sweep that resumes stale PENDING charges and refunds (main.ts does; tests may).
   * Returns a function that stops it.
   */
  startSweeper(): () => void;
}

export interface PaymentSubgraphOptions {
  /** Wraps the provider the service talks to (fault drills put a crash in it); the sandbox stays `provider`. */
  wrapProvider?: (sandbox: SandboxProvider) => PaymentProvider;
}

/** Builds the payment subgraph. Does not listen: main.ts and tests do. */
export async function createPaymentSubgraph(
  config: PaymentConfig,
  logger: Logger,
  options: PaymentSubgraphOptions = {},
): Promise<PaymentSubgraph> {
  const wiring = openFeature('payment', config, logger, createDb);
  const provider = new SandboxProvider(config.PAYMENT_SANDBOX_LATENCY_MS, config.PAYMENT_SANDBOX_LEDGER_PATH);
  // A registry per subgraph, not prom-client's global one: tests run several payment subgraphs in one process.
  const metrics = new Registry();
  const resumed = new Counter({
    name: 'payment_resumed_operations_total',
    help: 'PENDING charges and refunds resumed with the provider after their first worker went away, by kind, trigger and outcome.',
    labelNames: ['kind', 'trigger', 'outcome'] as const,
    registers: [metrics],
  });
  const repo = new PaymentRepository(wiring.db);
  const service = new PaymentService(
    repo,
    options.wrapProvider?.(provider) ?? provider,
    new BookingPeer(config.BOOKING_GRAPHQL_URL, config.credentials.signing),
    config,
    (r) => {
      resumed.inc({ kind: r.kind, trigger: r.trigger, outcome: r.outcome });
      logger.info(r, `resumed a pending ${r.kind} (${r.trigger}): ${r.outcome}`);
    },
  );

  let sweepers: Array<() => void> = [];
  /** The sweep in progress, if any: stop() lets it finish before the pool closes. */
  let sweeping: Promise<void> | null = null;
  const startSweeper = () => {
    const timer = setInterval(() => {
      if (sweeping) return; // a slow sweep is never overlapped by the next one
      sweeping = service
        .resumeStale()
        .then(({ charges, refunds }) => {
          if (charges + refunds > 0)
            logger.info(
              { charges, refunds },
              `sweep resumed ${charges + refunds} pending money operation(s)`,
            );
        })
        .catch((err: unknown) => logger.warn({ err }, 'resume sweep failed; will retry'))
        .finally(() => (sweeping = null));
    }, config.PAYMENT_RESUME_SWEEP_INTERVAL_MS);
    timer.unref();
    const stop = () => {
      clearInterval(timer);
      sweepers = sweepers.filter((s) => s !== stop);
    };
    sweepers.push(stop);
    return stop;
  };

  return {
    ...(await buildFeatureSubgraph<PaymentContext, PaymentDb, PaymentService>(
      wiring,
      {
        schemaFile: new URL('./schema.graphql', import.meta.url),
        resolvers,
        permissions,
        serviceAccess,
        context: () => ({ loaders: createLoaders(repo), payment: service }),
        routes: (app) =>
          app.get('/metrics', async (_req, res) => {
            res.type(metrics.contentType).send(await metrics.metrics());
          }),
      },
      {
        service,
        handlers: {
          'booking.reservation.cancelled': (event) => service.handleBookingCancelled(event),
          'auth.user.deleted': (event) => service.handleUserDeleted(event),
        },
        // A sweep in progress finishes before the pool closes.
        beforeStop: async () => {
          for (const stopSweeper of sweepers) stopSweeper();
          await sweeping;
        },
      },
    )),
    provider,
    metrics,
    startSweeper,
  };
}
