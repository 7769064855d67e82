/**
 * `pnpm bench:booking`: the booking load of booking-load.ts from the command line (the `booking`
 * section of `pnpm bench` runs the same measurement).
 *
 *   pnpm bench:booking [--slots-requests 2000] [--create-requests 1000] [--concurrency 20] [--seed 10000]
 *                      [--one-customer 0] [--rounds 1] [--peer]
 *
 * `--peer` also measures the booking subgraph with its caches off (BOOKING_PEER_CACHE_TTL_MS=0,
 * BOOKING_SLOTS_CACHE_TTL_MS=0 and BOOKING_SERVICE_CACHE_TTL_MS=0),
 * in the same run, rounds alternating. Exit 0 on success, 1 on an unexpected error, a failed check or
 * the ~5 minute time limit, 2 on bad flags. Ctrl-C stops issuing requests and still removes the rows.
 * Logs of the servers are silent unless TEST_LOG_LEVEL is set.
 */
import { performance } from 'node:perf_hooks';
import {
  CACHES_OFF,
  MAX_CREATE,
  MAX_MANY_CREATE,
  MAX_SEED,
  runBookingLoad,
  type BookingLoadOptions,
} from './booking-load.js';
import { benchArgs, integerOption } from './support.js';

const TIME_LIMIT_MS = 5 * 60_000;

const USAGE = `usage: pnpm bench:booking [--slots-requests N] [--create-requests N] [--one-customer N] [--concurrency C] [--seed N] [--rounds R] [--peer]
  --slots-requests N   availableSlots queries per round (default 2000)
  --create-requests N  createBooking mutations per round, a customer per connection over 51 sites
                       (default 1000; all rounds at most ${MAX_MANY_CREATE})
  --one-customer N     createBooking mutations per round by ONE customer on one site (default 0 = not
                       measured; all rounds at most ${MAX_CREATE})
  --concurrency C      requests in flight at once (default 20)
  --seed N             reservations written before measuring (default 10000, at most ${MAX_SEED})
  --rounds R           rounds per contender (default 1)
  --peer               also measure with the booking subgraph's caches off, rounds alternating
  -h, --help           show this help
Fails (exit 1) on any unexpected error, a failed check, or after ${TIME_LIMIT_MS / 60_000} minutes.`;

function parseOptions(argv: string[]): Omit<BookingLoadOptions, 'deadline' | 'log'> {
  const values = benchArgs(argv, USAGE, {
    'slots-requests': { type: 'string', default: '2000' },
    'create-requests': { type: 'string', default: '1000' },
    'one-customer': { type: 'string', default: '0' },
    concurrency: { type: 'string', default: '20' },
    seed: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '1' },
    peer: { type: 'boolean', default: false },
  });
  return {
    slotsRequests: integerOption('slots-requests', values['slots-requests'], 1, 1_000_000),
    createRequests: integerOption('create-requests', values['create-requests'], 1, MAX_MANY_CREATE),
    oneCustomerRequests: integerOption('one-customer', values['one-customer'], 0, MAX_CREATE),
    concurrency: integerOption('concurrency', values.concurrency, 1, 1_000),
    seed: integerOption('seed', values.seed, 0, MAX_SEED),
    rounds: integerOption('rounds', values.rounds, 1, 100),
    contenders: [{ name: 'default', bookingEnv: {} }, ...(values.peer ? [CACHES_OFF] : [])],
  };
}

async function main(): Promise<number> {
  let options: ReturnType<typeof parseOptions>;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    console.error(USAGE);
    return 2;
  }
  const o: BookingLoadOptions = {
    ...options,
    deadline: Date.now() + TIME_LIMIT_MS,
    log: (line) => console.log(line),
  };
  // Last resort if something hangs outside the request pool (start-up, a query, shutdown).
  setTimeout(() => {
    console.error(
      `[booking bench] FAILED: still running ${TIME_LIMIT_MS / 1000 + 30} s after the start; exiting`,
    );
    process.exit(1);
  }, TIME_LIMIT_MS + 30_000).unref();

  // Ctrl-C ends the run like the time limit does (no new requests), so the rows still get removed;
  // a closed stdout (`| head`) must not kill the process before that either.
  // (A terminal's Ctrl-C reaches this process twice: directly and relayed by tsx.)
  let interruptedAt = 0;
  process.on('SIGINT', () => {
    if (interruptedAt === 0) {
      interruptedAt = Date.now();
      o.deadline = 0;
      console.error('[booking bench] interrupted; stopping and cleaning up (Ctrl-C again to abort)');
    } else if (Date.now() - interruptedAt > 1_000) {
      process.exit(130);
    }
  });
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});

  console.log(
    `[booking bench] slots-requests ${o.slotsRequests}, create-requests ${o.createRequests}, one-customer ${o.oneCustomerRequests}, concurrency ${o.concurrency}, seed ${o.seed}, rounds ${o.rounds}, contenders ${o.contenders.map((c) => c.name).join(', ')}`,
  );
  const t0 = performance.now();
  const result = await runBookingLoad(o);
  for (const note of result.notes) console.log(`[check] ${note}`);
  console.log(
    `[booking bench] ${result.ok ? 'OK' : 'FAILED'} in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  return result.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
