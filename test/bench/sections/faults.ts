/**
 * `pnpm bench` section `faults` (issue 13, "Fault drills"): under a steady booking load through the
 * gateway — clients booking and paying, 10 at a time — the supergraph runs as one process per service
 * on the drill's own databases and a private Redis, and these faults are made one after the other:
 *   1. the booking subgraph SIGKILLed, then started again on its port;
 *   2. the payment subgraph SIGKILLed, then started again on its port;
 *   3. the private Redis SIGKILLed (it keeps nothing) and started again, empty;
 *   4. every PostgreSQL connection to the drill's four databases dropped (`pg_terminate_backend`), a few
 *      times in a row.
 * For each: the requests in flight from the fault until recovery and their error codes, the time from
 * the fault's end to recovery, and — once the supergraph has settled — what was lost or done twice
 * (see faults/audit.ts). Any loss, duplicate or missing recovery makes the section fail.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AUDIT_APPLICATION_NAME, openAudit, type Audit, type Finding } from '../faults/audit.js';
import { until } from '../faults/children.js';
import { startLoad, type Load, type RequestRecord } from '../faults/load.js';
import { faultImpact, type FaultImpact, type RecoveryRule } from '../faults/recovery.js';
import { startPrivateRedis, type PrivateRedis } from '../faults/redis.js';
import { createDrillWorld } from '../faults/setup.js';
import type { BenchSection, Section } from '../report.js';
import { defaultDatabaseUrl, FEATURES, startServices, type Feature, type Services } from '../services.js';
import { percentile } from '../support.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
/** Clients booking and paying at once. */
const CONCURRENCY = 10;
/** Local days the clients book from (each client has a site of its own, so any day is free). */
const FIRST_DAY = 2;
/** p99 is back when at most this many times the p99 of the seconds before the fault (and never below the floor). */
const P99_FACTOR = 2;
const P99_FLOOR_MS = 250;
/** How long the supergraph may take to settle (sweeps, relays, redeliveries) once the load stops. */
const SETTLE_TIMEOUT_MS = 60_000;
/** PostgreSQL drill: connections are dropped this many times, this far apart. */
const PG_TERMINATIONS = 4;
const PG_TERMINATION_GAP_MS = 500;

interface Timing {
  warmUpMs: number;
  baselineMs: number;
  /** How long a killed process or Redis stays down before it is started again. */
  downMs: number;
  /** Load kept running after recovery, before the next drill. */
  tailMs: number;
  /** The longest a drill waits for recovery before it counts as never recovered. */
  maxRecoveryMs: number;
  consecutive: number;
}

const FULL: Timing = {
  warmUpMs: 8_000,
  baselineMs: 6_000,
  downMs: 3_000,
  tailMs: 3_000,
  maxRecoveryMs: 60_000,
  consecutive: 20,
};
const QUICK: Timing = {
  warmUpMs: 3_000,
  baselineMs: 3_000,
  downMs: 2_000,
  tailMs: 1_000,
  maxRecoveryMs: 45_000,
  consecutive: 10,
};

interface Drill {
  name: string;
  /** Makes the fault; resolves when the fault ends (the thing is started again, or the last drop). */
  inject(): Promise<void>;
  /** Set by `inject` when something finishes after the fault's end (a restart): awaited before the next drill. */
  after?: Promise<void>;
  /** What that took, for the notes. */
  note?: string;
}

interface DrillResult {
  name: string;
  impact: FaultImpact;
  baselineP99: number;
  boundMs: number;
  baselinePerSecond: number;
  note?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.timeOrigin + performance.now();
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The drill's databases: `carwash_benchfault_<feature>` on the server of the usual settings. */
function drillDatabaseUrls(): Record<Feature, string> {
  return Object.fromEntries(
    FEATURES.map((f) => {
      const u = new URL(defaultDatabaseUrl(f));
      u.pathname = `/carwash_benchfault_${f}`;
      return [f, u.toString()];
    }),
  ) as Record<Feature, string>;
}

/**
 * p99 latency of the successful requests answered in the baseline before `faultStart` — or, when that
 * window holds fewer than a recovery run (a slow machine), of the last ones answered before it.
 */
function p99Before(records: readonly RequestRecord[], faultStart: number, timing: Timing): number {
  const answered = records.filter((r) => r.outcome === 'ok' && r.end <= faultStart);
  const inWindow = answered.filter((r) => r.end > faultStart - timing.baselineMs);
  const sample = inWindow.length >= timing.consecutive ? inWindow : answered.slice(-timing.consecutive);
  return percentile(
    sample.map((r) => r.end - r.start).sort((a, b) => a - b),
    99,
  );
}

function codes(impact: FaultImpact): string {
  if (impact.codes.size === 0) return 'none';
  return [...impact.codes]
    .sort((a, b) => b[1] - a[1])
    .map(([c, n]) => `${c} ${n}`)
    .join(', ');
}

function findingsCell(findings: Finding[], kind: Finding['kind']): string {
  const mine = findings.filter((f) => f.kind === kind);
  if (mine.length === 0) return '0';
  const byWhat = new Map<string, number>();
  for (const f of mine) byWhat.set(f.what, (byWhat.get(f.what) ?? 0) + 1);
  return `${mine.length} (${[...byWhat].map(([w, n]) => `${n}× ${w}`).join('; ')})`;
}

export const run: Section = async ({ quick, log }): Promise<BenchSection> => {
  const timing = quick ? QUICK : FULL;
  const workDir = mkdtempSync(join(tmpdir(), 'carwash-bench-faults-'));
  const databaseUrls = drillDatabaseUrls();
  let redis: PrivateRedis | undefined;
  let sg: Services | undefined;
  let load: Load | undefined;
  let audit: Audit | undefined;
  let failed = true;
  try {
    log('faults: migrating the drill databases');
    execFileSync('pnpm', ['--silent', 'db:migrate'], {
      cwd: ROOT,
      env: {
        ...process.env,
        ...Object.fromEntries(FEATURES.map((f) => [`${f.toUpperCase()}_DATABASE_URL`, databaseUrls[f]])),
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    redis = await startPrivateRedis(join(workDir, 'redis.log'));
    log(`faults: private redis on port ${redis.port}; starting the services as child processes`);
    const startedAt = now();
    sg = await startServices({
      databaseUrls,
      redisUrl: redis.url,
      workDir,
      env: {
        // Holds stay HELD while payments fail: the drill's clients must not run into the hold limit.
        booking: { BOOKING_MAX_LIVE_HOLDS: '100000', BOOKING_DATABASE_POOL_SIZE: '20' },
        // A charge its dead process left PENDING is resumed within seconds, not the production 15 s.
        payment: {
          PAYMENT_RESUME_STALE_AFTER_MS: '2000',
          PAYMENT_RESUME_SWEEP_INTERVAL_MS: '500',
          PAYMENT_DATABASE_POOL_SIZE: '20',
        },
      },
    });
    const startupMs = now() - startedAt;
    audit = openAudit(databaseUrls);
    const since = new Date();
    const world = await createDrillWorld(sg.gatewayUrl, audit.pools.auth, CONCURRENCY);
    log(`faults: services up in ${seconds(startupMs)}; ${CONCURRENCY} clients booking and paying`);

    const phases: Array<{ name: string; from: number }> = [{ name: 'warm-up', from: now() }];
    const phase = () => phases.at(-1)!.name;
    const phaseAt = (ms: number) => [...phases].reverse().find((p) => p.from <= ms)?.name ?? 'warm-up';
    load = startLoad({
      gatewayUrl: sg.gatewayUrl,
      clients: world.clients,
      serviceId: world.serviceId,
      firstDay: FIRST_DAY,
      phase,
    });
    await sleep(timing.warmUpMs);

    const drillsNotes: string[] = [];
    const running = sg;
    const privateRedis = redis;
    const restartDrill = (service: 'booking' | 'payment'): Drill => {
      const drill: Drill = {
        name: `${service} subgraph SIGKILLed, restarted on its port`,
        inject: async () => {
          await running.kill(service);
          await sleep(timing.downMs);
          const t = now();
          // The fault ends when the process is started again; its start-up is part of the recovery.
          drill.after = running.restart(service).then(
            () => {
              drill.note = `${service} answered /health ${seconds(now() - t)} after its restart`;
            },
            (err: unknown) => {
              drill.note = `${service} did not come back: ${(err as Error).message}`;
            },
          );
        },
      };
      return drill;
    };
    const drills: Drill[] = [
      restartDrill('booking'),
      restartDrill('payment'),
      {
        name: 'Redis SIGKILLed (no persistence), restarted empty',
        inject: async () => {
          await privateRedis.kill();
          await sleep(timing.downMs);
          await privateRedis.start();
        },
      },
      {
        name: `PostgreSQL connections dropped (pg_terminate_backend ×${PG_TERMINATIONS})`,
        inject: async () => {
          let dropped = 0;
          for (let i = 0; i < PG_TERMINATIONS; i++) {
            if (i > 0) await sleep(PG_TERMINATION_GAP_MS);
            // Only the drill's own databases, and never the harness's own connections.
            const { rows } = await audit!.pools.booking.query<{ n: number }>(
              `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
                WHERE datname = ANY($1) AND pid <> pg_backend_pid() AND application_name <> $2`,
              [FEATURES.map((f) => new URL(databaseUrls[f]).pathname.slice(1)), AUDIT_APPLICATION_NAME],
            );
            dropped += rows[0]!.n;
          }
          drillsNotes.push(`PostgreSQL drill: ${dropped} backend connections terminated in all.`);
        },
      },
    ];
    const results: DrillResult[] = [];
    for (const drill of drills) {
      phases.push({ name: drill.name, from: now() });
      log(`faults: ${drill.name}`);
      await sleep(timing.baselineMs);
      const faultStart = now();
      const baseline = load.records.filter(
        (r) => r.end > faultStart - timing.baselineMs && r.end <= faultStart,
      );
      const baselineP99 = p99Before(load.records, faultStart, timing);
      const rule: RecoveryRule = {
        consecutive: timing.consecutive,
        p99BoundMs: Math.max(
          P99_FLOOR_MS,
          P99_FACTOR * (Number.isNaN(baselineP99) ? P99_FLOOR_MS : baselineP99),
        ),
      };
      await drill.inject();
      const faultEnd = now();
      let impact = faultImpact(load.records, faultStart, faultEnd, rule);
      while (now() - faultEnd < timing.maxRecoveryMs) {
        await sleep(250);
        impact = faultImpact(load.records, faultStart, faultEnd, rule);
        if (impact.recoveryMs !== null && now() - faultEnd > impact.recoveryMs + timing.tailMs) break;
      }
      await drill.after;
      log(
        `faults:   ${impact.attempted} requests, ${impact.failed} failed; recovered ${
          impact.recoveryMs === null ? 'never' : `after ${seconds(impact.recoveryMs)}`
        }`,
      );
      results.push({
        name: drill.name,
        impact,
        baselineP99,
        boundMs: rule.p99BoundMs,
        baselinePerSecond: (baseline.length / timing.baselineMs) * 1000,
        ...(drill.note ? { note: drill.note } : {}),
      });
    }
    phases.push({ name: 'settle', from: now() });
    await load.stop();
    const stoppedAt = now();
    const input = {
      customerIds: world.clients.map((c) => c.customerId),
      accepted: load.accepted,
      captured: load.captured,
      ledgerPath: sg.ledgerPath,
      since,
      phaseAt,
    };
    let settledMs: number | null = null;
    try {
      await until(() => audit!.settled(input), SETTLE_TIMEOUT_MS, 'the supergraph to settle');
      settledMs = now() - stoppedAt;
    } catch {
      settledMs = null;
    }
    const findings = await audit.findings(input);
    const section = report({
      results,
      findings,
      records: load.records,
      accepted: load.accepted.size,
      captured: load.captured.size,
      startupMs,
      settledMs,
      timing,
      notes: drillsNotes,
      workDir,
    });
    failed = !section.ok;
    return section;
  } catch (err) {
    // The runner prints only the message: name the causes too ("fetch failed" alone says little).
    const chain: string[] = [];
    for (let e: unknown = err; e instanceof Error && chain.length < 4; e = e.cause) chain.push(e.message);
    throw new Error(`${chain.join(' ← ')} (logs: ${workDir})`, { cause: err });
  } finally {
    await load?.stop().catch(() => undefined);
    await sg?.stop().catch(() => undefined);
    await redis?.stop().catch(() => undefined);
    await audit?.close().catch(() => undefined);
    // Logs stay for a failed run (the notes name the folder).
    if (!failed) rmSync(workDir, { recursive: true, force: true });
  }
};

function report(r: {
  results: DrillResult[];
  findings: Finding[];
  records: RequestRecord[];
  accepted: number;
  captured: number;
  startupMs: number;
  settledMs: number | null;
  timing: Timing;
  notes: string[];
  workDir: string;
}): BenchSection {
  const rows = r.results.map((d) => {
    const mine = r.findings.filter((f) => f.phase === d.name);
    return [
      d.name,
      `${d.impact.attempted} (${d.impact.failed} failed)`,
      codes(d.impact),
      d.impact.recoveryMs === null ? 'never' : seconds(d.impact.recoveryMs),
      findingsCell(mine, 'lost'),
      findingsCell(mine, 'duplicated'),
    ];
  });
  const elsewhere = r.findings.filter((f) => !r.results.some((d) => d.name === f.phase));
  if (elsewhere.length > 0)
    rows.push([
      '(outside a drill)',
      '–',
      '–',
      '–',
      findingsCell(elsewhere, 'lost'),
      findingsCell(elsewhere, 'duplicated'),
    ]);
  const recovered = r.results.every((d) => d.impact.recoveryMs !== null);
  const clean = r.findings.length === 0;
  const ok = recovered && clean && r.settledMs !== null;
  const failedTotal = r.records.filter((x) => x.outcome !== 'ok').length;
  return {
    title: 'Fault drills (booking load through the gateway)',
    tables: [
      {
        title: `Faults under ${CONCURRENCY} clients booking and paying (createBooking + payForBooking)`,
        columns: ['drill', 'requests during fault', 'errors (codes)', 'recovery time', 'lost', 'duplicated'],
        rows,
      },
      {
        title: 'The load before each fault, and the recovery bound',
        columns: ['drill', 'requests/s before', 'p99 before (ms)', 'p99 bound after (ms)'],
        rows: r.results.map((d) => [
          d.name,
          d.baselinePerSecond.toFixed(1),
          Number.isNaN(d.baselineP99) ? '–' : Math.round(d.baselineP99),
          Math.round(d.boundMs),
        ]),
      },
    ],
    notes: [
      `Every service is its own Node process (its compiled dist/main.js with NODE_ENV=production, as the images run them) on the drill's own databases (carwash_benchfault_*) and a private redis-server without persistence; the services started in ${seconds(r.startupMs)}.`,
      `${r.records.length} requests in all, ${failedTotal} failed; the API accepted ${r.accepted} bookings and reported ${r.captured} payments captured. A failed payment is retried with its idempotency key (up to 4 times), as a client must.`,
      `"Requests during fault": requests in flight at any time from the fault's start until recovery. "Recovery time": from the fault's end (the process or Redis started again, or the last connection dropped) to the first request that begins ${r.timing.consecutive} successes in a row whose p99 is under the bound (${P99_FACTOR}× the p99 of the ${seconds(r.timing.baselineMs)} before the fault, at least ${P99_FLOOR_MS} ms). A killed process stays down ${seconds(r.timing.downMs)}; its start-up counts in the recovery.`,
      `"Lost" and "duplicated" are checked once the load stopped and the supergraph settled (${
        r.settledMs === null
          ? `it did NOT settle within ${seconds(SETTLE_TIMEOUT_MS)}`
          : `settled after ${seconds(r.settledMs)}`
      }): every accepted booking in booking's table; every reported capture one paid charge in payment's table and one charge in the sandbox provider's ledger (and no charge there payment does not know); every capture announced once, applied once by booking (inbox row, CONFIRMED by one history row), nothing refunded; every outbox row of the four features relayed; no charge left PENDING. Findings are counted in the drill the booking was made in.`,
      ...r.results.flatMap((d) => (d.note ? [d.note] : [])),
      ...r.notes,
      ...(ok ? [] : [`Logs of every process: ${r.workDir}`]),
    ],
    ok,
  };
}
