import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processAlive, readRunFile, runFilePath } from '../scripts/start/run-file.js';
import { postGraphQL } from './support/supergraph.js';

/**
 * Issue 12's must-hold, as a new user meets it: `pnpm start` as a child process with no database or
 * Redis setting (every feature on an embedded PGlite, the in-memory bus), in a fresh data folder and
 * on free ports; the demo data answers a cross-feature query; a demo client books and pays; the demo
 * manager sees it on the site's bookings; Ctrl-C stops every process; a second start finds the data.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const START_TIMEOUT_MS = 150_000;
const STOP_TIMEOUT_MS = 30_000;
const PASSWORD = 'Demo-carwash-2026';

let dataDir: string;
let run: Started;

interface Started {
  child: ChildProcess;
  output: () => string;
  gatewayUrl: string;
  pid: number;
  dbPid: number | null;
}

/** `pnpm start` without any database, Redis or port setting of the developer's shell. */
function startEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/_DATABASE_URL$|^REDIS_URL$|^EVENT_BUS$|^EVENTS_NAMESPACE$|_PORT$|^NODE_ENV$/.test(k)) continue;
    env[k] = v;
  }
  return {
    ...env,
    START_DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    GATEWAY_PORT: '0',
    AUTH_PORT: '0',
    BOOKING_PORT: '0',
    LOCATION_PORT: '0',
    PAYMENT_PORT: '0',
  };
}

async function start(): Promise<Started> {
  // Its own process group, so the test can press "Ctrl-C" as a terminal does: SIGINT to the whole group.
  const child = spawn('pnpm', ['start'], { cwd: ROOT, env: startEnv(), detached: true, stdio: 'pipe' });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const gatewayUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready in time:\n${out}`)), START_TIMEOUT_MS);
    const check = () => {
      const m = /\[start\] ready (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`pnpm start exited (${code}) before ready:\n${out}`));
    });
  });
  const file = readRunFile(dataDir);
  if (!file) throw new Error(`ready, but no run file of a live start:\n${out}`);
  return { child, output: () => out, gatewayUrl, pid: file.pid, dbPid: file.dbPid };
}

/** Processes whose environment names this run's data folder (the start script and its children). */
function processesOf(dir: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'utf8').includes(dir)) found.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/** Ctrl-C: SIGINT to the process group; resolves once every process of the run has exited. */
async function interrupt(s: Started): Promise<void> {
  process.kill(-s.child.pid!, 'SIGINT');
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (!processAlive(s.pid) && !(s.dbPid && processAlive(s.dbPid)) && processesOf(dataDir).length === 0)
      return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`still running after Ctrl-C: ${processesOf(dataDir).join(', ')}\n${s.output()}`);
}

async function gql<T>(query: string, variables?: Record<string, unknown>, token?: string): Promise<T> {
  const res = await postGraphQL<T>(run.gatewayUrl, query, variables, token);
  expect(res.errors).toBeUndefined();
  return res.data!;
}

async function logIn(email: string): Promise<string> {
  const r = await gql<{ logIn: { accessToken: string } }>(
    `mutation($i: LogInInput!) { logIn(input: $i) { accessToken } }`,
    { i: { email, password: PASSWORD } },
  );
  return r.logIn.accessToken;
}

interface SiteNode {
  id: string;
  name: string;
  timeZone: string;
}

async function sites(): Promise<SiteNode[]> {
  const r = await gql<{ sites: { nodes: SiteNode[] } }>(`{ sites { nodes { id name timeZone } } }`);
  return r.sites.nodes;
}

async function service(name: string): Promise<string> {
  const r = await gql<{ services: Array<{ id: string; name: string }> }>(`{ services { id name } }`);
  return r.services.find((s) => s.name === name)!.id;
}

/** The first free start time of a service at a site, `days` ahead in the site's own time zone. */
async function firstSlot(site: SiteNode, serviceId: string, days: number): Promise<string> {
  const date = DateTime.now().setZone(site.timeZone).plus({ days }).toISODate();
  const r = await gql<{ availableSlots: Array<{ startsAt: string; freeBays: number }> }>(
    `query($s: ID!, $v: ID!, $d: Date!) { availableSlots(siteId: $s, serviceId: $v, date: $d) { startsAt freeBays } }`,
    { s: site.id, v: serviceId, d: date },
  );
  return r.availableSlots.find((s) => s.freeBays > 0)!.startsAt;
}

describe('pnpm start on embedded databases', () => {
  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'carwash-start-'));
    run = await start();
  }, START_TIMEOUT_MS + 10_000);

  afterAll(async () => {
    if (run && processAlive(run.pid))
      await interrupt(run).catch(() => process.kill(-run.child.pid!, 'SIGKILL'));
    rmSync(dataDir, { recursive: true, force: true });
  }, STOP_TIMEOUT_MS + 5_000);

  it('starts every feature on its own embedded database and seeds the demo data', () => {
    expect(run.output()).toContain(
      'Databases auth: embedded, booking: embedded, location: embedded, payment: embedded · bus: memory',
    );
    expect(run.output()).toContain('(demo data seeded)');
    for (const f of ['auth', 'booking', 'location', 'payment'])
      expect(existsSync(path.join(dataDir, 'pg', f, 'PG_VERSION'))).toBe(true);
  });

  it("answers a cross-feature query: a demo client's bookings with their site, service and payment", async () => {
    expect(new Set((await sites()).map((s) => s.timeZone))).toEqual(
      new Set(['Europe/Berlin', 'America/New_York']),
    );
    const token = await logIn('alice@demo.carwash.test');
    const r = await gql<{
      me: {
        bookings: {
          nodes: Array<{
            status: string;
            site: { name: string; timeZone: string };
            service: { name: string };
            items: Array<{ name: string }>;
            payment: { status: string } | null;
          }>;
        };
      };
    }>(
      `{ me { bookings { nodes { status site { name timeZone } service { name } items { name } payment { status } } } } }`,
      {},
      token,
    );
    const bookings = r.me.bookings.nodes;
    expect(bookings.map((b) => b.status).sort()).toEqual(['COMPLETED', 'CONFIRMED']);
    for (const b of bookings) {
      expect(b.site).toEqual({ name: 'Berlin Mitte', timeZone: 'Europe/Berlin' });
      expect(b.payment?.status).toBe('CAPTURED');
      expect(b.items.length).toBeGreaterThan(0);
    }
  });

  it('lets a demo client book a slot and pay, and the demo manager sees it on the site', async () => {
    const client = await logIn('alice@demo.carwash.test');
    const berlin = (await sites()).find((s) => s.name === 'Berlin Mitte')!;
    const express = await service('Express exterior');
    const startsAt = await firstSlot(berlin, express, 5);
    const booked = await gql<{ createBooking: { id: string; status: string } }>(
      `mutation($i: CreateBookingInput!) { createBooking(input: $i) { id status } }`,
      { i: { siteId: berlin.id, serviceId: express, startsAt } },
      client,
    );
    expect(booked.createBooking.status).toBe('HELD');
    const id = booked.createBooking.id;
    const methods = await gql<{ me: { paymentMethods: Array<{ id: string }> } }>(
      `{ me { paymentMethods { id } } }`,
      {},
      client,
    );
    const paid = await gql<{ payForBooking: { status: string } }>(
      `mutation($b: ID!, $m: ID!, $k: String!) { payForBooking(bookingId: $b, methodId: $m, idempotencyKey: $k) { status } }`,
      { b: id, m: methods.me.paymentMethods[0]!.id, k: `e2e-${Date.now()}` },
      client,
    );
    expect(paid.payForBooking.status).toBe('CAPTURED');
    // The capture confirms the hold through the in-memory bus (payment → booking).
    await expect
      .poll(
        async () =>
          (
            await gql<{ booking: { status: string } }>(
              `query($id: ID!) { booking(id: $id) { status } }`,
              { id },
              client,
            )
          ).booking.status,
        { timeout: 15_000, interval: 100 },
      )
      .toBe('CONFIRMED');

    const manager = await logIn('manager@demo.carwash.test');
    const date = DateTime.fromISO(startsAt).setZone(berlin.timeZone).toISODate();
    const onSite = await gql<{
      site: { bookings: Array<{ id: string; status: string; customer: { email: string } }> };
    }>(
      `query($s: ID!, $d: Date!) { site(id: $s) { bookings(date: $d) { id status customer { email } } } }`,
      { s: berlin.id, d: date },
      manager,
    );
    expect(onSite.site.bookings).toContainEqual({
      id,
      status: 'CONFIRMED',
      customer: { email: 'alice@demo.carwash.test' },
    });
  });

  it('refuses a double booking with BOOKING_SLOT_TAKEN once every bay of the slot is taken', async () => {
    const manager = await logIn('manager@demo.carwash.test');
    const brooklyn = (await sites()).find((s) => s.timeZone === 'America/New_York')!;
    const us = await service('Express exterior (US)');
    const startsAt = await firstSlot(brooklyn, us, 6);
    const bob = await logIn('bob@demo.carwash.test');
    const bobId = (await gql<{ me: { id: string } }>(`{ me { id } }`, {}, bob)).me.id;
    const book = () =>
      postGraphQL<{ createBooking: { bay: number } }>(
        run.gatewayUrl,
        `mutation($i: CreateBookingInput!) { createBooking(input: $i) { bay } }`,
        { i: { siteId: brooklyn.id, serviceId: us, startsAt, customerId: bobId } },
        manager,
      );
    // The demo site has two bays: two bookings fit, the third is refused with the catalogue's code.
    const first = await book();
    const second = await book();
    expect([first.data?.createBooking.bay, second.data?.createBooking.bay].sort()).toEqual([1, 2]);
    const third = await book();
    expect(third.errors?.[0]?.extensions?.code).toBe('BOOKING_SLOT_TAKEN');
  });

  it("lets the demo partner's key run its manifest's operations by id and refuses any other document", async () => {
    const partner = JSON.parse(readFileSync(path.join(dataDir, 'partner-api-key.json'), 'utf8')) as {
      key: string;
      client: string;
    };
    expect(partner.client).toBe('sample-partner');
    expect(run.output()).toContain(`x-api-key: ${partner.key}`);
    const manifest = JSON.parse(
      readFileSync(path.join(ROOT, 'schema', 'persisted-queries', 'sample-partner.json'), 'utf8'),
    ) as { operations: Array<{ id: string; name: string }> };
    const services = manifest.operations.find((o) => o.name === 'Services')!;
    const call = async (body: unknown) => {
      const res = await fetch(run.gatewayUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': partner.key },
        body: JSON.stringify(body),
      });
      return {
        status: res.status,
        body: (await res.json()) as {
          data?: { services?: Array<{ name: string }> };
          errors?: Array<{ extensions?: { code?: string } }>;
        },
      };
    };

    const byId = await call({ extensions: { persistedQuery: { version: 1, sha256Hash: services.id } } });
    expect(byId.body.errors).toBeUndefined();
    expect(byId.body.data?.services?.map((s) => s.name)).toContain('Deluxe wash');

    const other = await call({ query: '{ services { id name } }' });
    expect(other.status).toBe(403);
    expect(other.body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_IN_LIST');
  });

  it(
    'stops every process on Ctrl-C, and a second start finds the data without seeding again',
    async () => {
      await interrupt(run);
      expect(run.output()).toContain('[start] stopped');
      expect(existsSync(runFilePath(dataDir))).toBe(false);

      run = await start();
      expect(run.output()).not.toContain('seeding');
      // The key was shown once by the API; the data folder keeps it for every later banner.
      const { key } = JSON.parse(readFileSync(path.join(dataDir, 'partner-api-key.json'), 'utf8')) as {
        key: string;
      };
      expect(run.output()).toContain(`x-api-key: ${key}`);
      const token = await logIn('alice@demo.carwash.test');
      const r = await gql<{ me: { bookings: { totalCount: number } } }>(
        `{ me { bookings { totalCount } } }`,
        {},
        token,
      );
      // The two seeded bookings and the one booked above.
      expect(r.me.bookings.totalCount).toBe(3);
      await interrupt(run);
    },
    START_TIMEOUT_MS + 2 * STOP_TIMEOUT_MS,
  );
});
