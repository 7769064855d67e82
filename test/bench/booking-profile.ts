/**
 * The booking load with longer phases than the section's (whose 150 quick requests are mostly JIT
 * warm-up): the tool behind the later rows of results/tuning-booking.md.
 *
 *   tsx test/bench/booking-profile.ts [--slots N] [--create N] [--rounds R] [--base <checkout>] [--env K=V,…]
 *
 * An in-process supergraph of this checkout seeds and checks but is not measured; measured are this
 * checkout's services a process per service and, with `--base`, another checkout's (a copy of this tree
 * at another commit; BENCH_BOOKING_BASE of the section), rounds alternating. Each phase logs req/s,
 * latencies and CPU ms per request of every service process. BENCH_BOOKING_CPU_PROF=<dir> makes this
 * checkout's gateway, booking, location and auth write CPU profiles there when they stop.
 */
import { parseArgs } from 'node:util';
import { runBookingLoad, TUNED_ONE_PROCESS, TUNED_PROCESSES, type Contender } from './booking-load.js';

const { values } = parseArgs({
  options: {
    slots: { type: 'string', default: '1500' },
    create: { type: 'string', default: '400' },
    rounds: { type: 'string', default: '1' },
    base: { type: 'string' },
    /** `KEY=VALUE,…` for every service process of this checkout only (e.g. NODE_ENV=production). */
    env: { type: 'string' },
  },
});
const contenders: Contender[] = [
  { ...TUNED_ONE_PROCESS, name: 'seeding only', measured: false },
  {
    ...TUNED_PROCESSES,
    name: values.env ? `this checkout, ${values.env}` : 'this checkout',
    ...(values.env
      ? {
          processEnv: Object.fromEntries(
            values.env.split(',').map((kv) => kv.split('=') as [string, string]),
          ),
        }
      : {}),
  },
  ...(values.base
    ? [{ name: `base ${values.base}`, bookingEnv: {}, layout: 'processes' as const, root: values.base }]
    : []),
];
const result = await runBookingLoad({
  slotsRequests: Number(values.slots),
  createRequests: Number(values.create),
  oneCustomerRequests: 0,
  concurrency: 20,
  seed: 10_000,
  rounds: Number(values.rounds),
  contenders,
  deadline: Date.now() + 900_000,
  log: (line) => console.log(line),
});
for (const note of result.notes) console.log(`- ${note}`);
process.exit(result.ok ? 0 : 1);
