/**
 * LocationService's rules with a fake repository (an in-memory store behind the same methods) — no
 * database: the checks before a shift is stored, what closing a site does, and the inbox guard. The
 * database-enforced rules (the exclusion constraint, CHECKs) are proven against Postgres in
 * location.int.test.ts and test/location.e2e.test.ts.
 */
import { randomUUID } from 'node:crypto';
import type { EventEnvelope } from '@carwash/events';
import type { Viewer } from '@carwash/service-trust';
import { beforeEach, describe, expect, it } from 'vitest';
import type { PeerUser } from '@carwash/subgraph-kit';
import type {
  AssignmentScope,
  ExceptionRow,
  NewAssignment,
  NewSite,
  OperatingHours,
  SitePatch,
  SitesQuery,
  StaffAssignment,
  Tx,
  WashSite,
} from '../src/repository.js';
import { LocationService, type LocationStore, type SiteReads } from '../src/service.js';

const HOUR = 3_600_000;
const TX = {} as Tx;
const manager: Viewer = { userId: randomUUID(), role: 'MANAGER', sessionId: randomUUID() };

type Recorded = { topic: string; aggregateId: string; payload: unknown };

/** The repository's methods over arrays; `transaction` hands the same fake client to `fn`. */
class FakeRepository implements LocationStore {
  sites = new Map<string, WashSite>();
  assignments: StaffAssignment[] = [];
  hours: OperatingHours[] = [];
  events: Recorded[] = [];
  seen = new Set<string>();
  transactions = 0;
  /** When set, createAssignment fails like Postgres does on an overlapping shift. */
  overlap = false;

  async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    this.transactions += 1;
    return fn(TX);
  }
  async siteById(_tx: Tx, id: string) {
    return this.sites.get(id) ?? null;
  }
  async createSite(data: NewSite) {
    return this.addSite(data as Partial<WashSite>);
  }
  async updateSite(_tx: Tx, id: string, patch: SitePatch) {
    const site = { ...this.sites.get(id)!, ...(patch as Partial<WashSite>) };
    this.sites.set(id, site);
    return site;
  }
  async closeSite(_tx: Tx, id: string, at: Date, reason: string) {
    return this.updateSite(TX, id, { active: false, closedAt: at, closedReason: reason } as SitePatch);
  }
  async replaceWeeklyHours(
    _tx: Tx,
    siteId: string,
    windows: ReadonlyArray<{ weekday: number; opensAt: string; closesAt: string }>,
  ) {
    this.hours = this.hours.filter((h) => h.siteId !== siteId || h.weekday === null);
    for (const w of windows)
      this.hours.push({
        id: randomUUID(),
        siteId,
        date: null,
        closed: false,
        reason: null,
        ...w,
      } as OperatingHours);
  }
  async replaceException(_tx: Tx, siteId: string, date: Date, rows: readonly ExceptionRow[]) {
    await this.removeException(TX, siteId, date);
    for (const r of rows)
      this.hours.push({
        id: randomUUID(),
        siteId,
        date,
        weekday: null,
        opensAt: null,
        closesAt: null,
        closed: false,
        ...r,
      } as OperatingHours);
  }
  async removeException(_tx: Tx, siteId: string, date: Date) {
    this.hours = this.hours.filter((h) => h.siteId !== siteId || h.date?.getTime() !== date.getTime());
  }
  async createAssignment(_tx: Tx, data: NewAssignment) {
    if (this.overlap)
      throw Object.assign(new Error('conflicting key value violates exclusion constraint'), {
        cause: { code: '23P01' },
      });
    return this.storeAssignment(data);
  }
  /** `data` as the database stores it: a fresh id, not ended, created now. */
  private storeAssignment(data: Partial<StaffAssignment>): StaffAssignment {
    const row = {
      id: randomUUID(),
      endedAt: null,
      endedReason: null,
      createdAt: new Date(),
      ...data,
    } as StaffAssignment;
    this.assignments.push(row);
    return row;
  }
  async assignmentById(_tx: Tx, id: string) {
    return this.assignments.find((a) => a.id === id) ?? null;
  }
  async openAssignments(_tx: Tx, scope: AssignmentScope, now: Date) {
    const [key, value] = Object.entries(scope)[0] as [keyof StaffAssignment, string];
    return this.assignments.filter((a) => a[key] === value && a.endedAt === null && a.endsAt > now);
  }
  async endAssignment(_tx: Tx, id: string, at: Date, reason: string) {
    const a = this.assignments.find((x) => x.id === id)!;
    Object.assign(a, { endedAt: at, endedReason: reason });
    return { ...a };
  }
  async recordEvent(_tx: Tx, topic: string, aggregateId: string, payload: unknown) {
    this.events.push({ topic, aggregateId, payload });
  }
  async firstTime(_tx: Tx, event: EventEnvelope) {
    if (this.seen.has(event.id)) return false;
    this.seen.add(event.id);
    return true;
  }
  async sitesByIds(ids: readonly string[]) {
    return ids.flatMap((id) => (this.sites.has(id) ? [this.sites.get(id)!] : []));
  }
  async hoursForSites(ids: readonly string[]) {
    return this.hours.filter((h) => ids.includes(h.siteId));
  }
  async exceptions() {
    return [];
  }
  async assignmentsFor() {
    return [];
  }
  /** The last page asked of listSites. */
  sitesQuery: SitesQuery | undefined;
  async listSites(query: SitesQuery) {
    this.sitesQuery = query;
    const all = [...this.sites.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return { sites: all.slice(0, query.limit), total: all.length };
  }

  addSite(over: Partial<WashSite> = {}): WashSite {
    const site = {
      id: randomUUID(),
      name: 'Nord',
      addressLine1: 'Hauptstr. 1',
      addressLine2: null,
      city: 'Berlin',
      postalCode: '10115',
      region: null,
      country: 'DE',
      timeZone: 'Europe/Berlin',
      latitude: 52.5,
      longitude: 13.4,
      bays: 2,
      active: true,
      closedAt: null,
      closedReason: null,
      createdAt: new Date(),
      updatedAt: new Date(),
      ...over,
    } as WashSite;
    this.sites.set(site.id, site);
    return site;
  }

  addShift(over: Partial<StaffAssignment>): StaffAssignment {
    const now = Date.now();
    return this.storeAssignment({
      userId: randomUUID(),
      role: 'WASHER',
      startsAt: new Date(now - HOUR),
      endsAt: new Date(now + HOUR),
      createdBy: null,
      ...over,
    });
  }
}

/** Loaders over the fake repository, as the resolvers hand them in. */
const readsOf = (repo: FakeRepository): SiteReads => ({
  site: { load: async (id) => repo.sites.get(id) ?? null },
  hours: { load: async (id) => repo.hours.filter((h) => h.siteId === id) },
});

let repo: FakeRepository;
let service: LocationService;
beforeEach(() => {
  repo = new FakeRepository();
  service = new LocationService(repo);
});

const soon = (hours: number) => new Date(Date.now() + hours * HOUR);
const washer = (over: Partial<PeerUser> = {}): PeerUser => ({
  id: randomUUID(),
  role: 'WASHER',
  deleted: false,
  ...over,
});
const lookup = (user: PeerUser | null) => async () => user;
const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: { extensions?: { code?: string; field?: string } }) =>
      `${e.extensions?.code}:${e.extensions?.field ?? ''}`,
  );

describe('assignStaff', () => {
  it('stores a shift for an active washer at an open site, with the role from auth and who assigned it', async () => {
    const site = repo.addSite();
    const user = washer();
    const shift = await service.assignStaff(
      manager,
      site.id,
      user.id,
      { startsAt: soon(1), endsAt: soon(5) },
      lookup(user),
    );
    expect(shift).toMatchObject({
      siteId: site.id,
      userId: user.id,
      role: 'WASHER',
      createdBy: manager.userId,
    });
    expect(repo.assignments).toHaveLength(1);
  });

  it('refuses a shift that ends before it starts, lasts over 24 hours or is already over, before asking auth', async () => {
    const site = repo.addSite();
    let asked = 0;
    const counting = async () => {
      asked += 1;
      return washer();
    };
    const userId = randomUUID();
    expect(
      await codeOf(
        service.assignStaff(manager, site.id, userId, { startsAt: soon(5), endsAt: soon(1) }, counting),
      ),
    ).toBe('BAD_USER_INPUT:shift.endsAt');
    expect(
      await codeOf(
        service.assignStaff(manager, site.id, userId, { startsAt: soon(1), endsAt: soon(26) }, counting),
      ),
    ).toBe('BAD_USER_INPUT:shift.endsAt');
    expect(
      await codeOf(
        service.assignStaff(manager, site.id, userId, { startsAt: soon(-5), endsAt: soon(-1) }, counting),
      ),
    ).toBe('BAD_USER_INPUT:shift.endsAt');
    expect(asked).toBe(0);
    expect(repo.assignments).toEqual([]);
  });

  it('accepts a shift of exactly 24 hours', async () => {
    const site = repo.addSite();
    const user = washer();
    // One clock reading for both ends: two `soon` calls a millisecond apart would make it 24 h + 1 ms.
    const startsAt = soon(1);
    const endsAt = new Date(startsAt.getTime() + 24 * HOUR);
    await expect(
      service.assignStaff(manager, site.id, user.id, { startsAt, endsAt }, lookup(user)),
    ).resolves.toMatchObject({ userId: user.id });
  });

  it('refuses a user auth does not know, a deleted user, and a client or admin', async () => {
    const site = repo.addSite();
    const shift = { startsAt: soon(1), endsAt: soon(2) };
    expect(await codeOf(service.assignStaff(manager, site.id, randomUUID(), shift, lookup(null)))).toBe(
      'NOT_FOUND:userId',
    );
    const deleted = washer({ deleted: true });
    expect(await codeOf(service.assignStaff(manager, site.id, deleted.id, shift, lookup(deleted)))).toBe(
      'NOT_FOUND:userId',
    );
    for (const role of ['CLIENT', 'ADMIN'] as const) {
      const user = washer({ role });
      expect(await codeOf(service.assignStaff(manager, site.id, user.id, shift, lookup(user)))).toBe(
        'BAD_USER_INPUT:userId',
      );
    }
    const managerUser = washer({ role: 'MANAGER' });
    await expect(
      service.assignStaff(manager, site.id, managerUser.id, shift, lookup(managerUser)),
    ).resolves.toMatchObject({ role: 'MANAGER' });
    expect(repo.assignments).toHaveLength(1);
  });

  it('refuses an unknown site, a closed site and malformed ids', async () => {
    const user = washer();
    const shift = { startsAt: soon(1), endsAt: soon(2) };
    expect(await codeOf(service.assignStaff(manager, randomUUID(), user.id, shift, lookup(user)))).toBe(
      'NOT_FOUND:siteId',
    );
    const closed = repo.addSite({ active: false });
    expect(await codeOf(service.assignStaff(manager, closed.id, user.id, shift, lookup(user)))).toBe(
      'LOCATION_SITE_CLOSED:siteId',
    );
    expect(await codeOf(service.assignStaff(manager, 'not-a-uuid', user.id, shift, lookup(user)))).toBe(
      'BAD_USER_INPUT:siteId',
    );
    expect(await codeOf(service.assignStaff(manager, closed.id, 'x', shift, lookup(user)))).toBe(
      'BAD_USER_INPUT:userId',
    );
  });

  it("turns the database's exclusion-constraint refusal (23P01) into LOCATION_SHIFT_OVERLAP", async () => {
    const site = repo.addSite();
    const user = washer();
    repo.overlap = true;
    expect(
      await codeOf(
        service.assignStaff(manager, site.id, user.id, { startsAt: soon(1), endsAt: soon(2) }, lookup(user)),
      ),
    ).toBe('LOCATION_SHIFT_OVERLAP:shift');
  });
});

describe('closeSite', () => {
  it('makes the site inactive, ends its current and future shifts only, and records one event per effect in the same transaction', async () => {
    const site = repo.addSite();
    const other = repo.addSite();
    const current = repo.addShift({ siteId: site.id });
    const future = repo.addShift({ siteId: site.id, startsAt: soon(24), endsAt: soon(30) });
    const past = repo.addShift({ siteId: site.id, startsAt: soon(-10), endsAt: soon(-8) });
    const elsewhere = repo.addShift({ siteId: other.id });

    const closed = await service.closeSite(site.id, '  flooded  ');
    expect(closed).toMatchObject({ id: site.id, active: false, closedReason: 'flooded' });
    expect(repo.transactions).toBe(1);
    expect([current, future].map((a) => a.endedReason)).toEqual(['site_closed', 'site_closed']);
    expect([past.endedAt, elsewhere.endedAt]).toEqual([null, null]);
    expect(repo.events.map((e) => [e.topic, e.aggregateId])).toEqual([
      ['location.site.closed', site.id],
      ['location.staff.unassigned', current.id],
      ['location.staff.unassigned', future.id],
    ]);
    expect(repo.events[0]!.payload).toMatchObject({ siteId: site.id, reason: 'flooded', to: null });
  });

  it('refuses closing a site twice (nothing recorded the second time) and needs a reason', async () => {
    const site = repo.addSite();
    await service.closeSite(site.id, 'gone');
    expect(await codeOf(service.closeSite(site.id, 'again'))).toBe('LOCATION_SITE_CLOSED:siteId');
    expect(repo.events).toHaveLength(1);
    expect(await codeOf(service.closeSite(repo.addSite().id, '   '))).toBe('BAD_USER_INPUT:reason');
  });
});

describe('unassignStaff and auth.user.deleted', () => {
  it('ends an open shift once; an ended one is returned as it is, with no second event', async () => {
    const shift = repo.addShift({ siteId: repo.addSite().id });
    expect(await service.unassignStaff(shift.id, null)).toMatchObject({
      id: shift.id,
      endedReason: 'unassigned',
    });
    const again = await service.unassignStaff(shift.id, 'sick');
    expect(again.endedReason).toBe('unassigned');
    expect(repo.events.map((e) => e.topic)).toEqual(['location.staff.unassigned']);
    expect(await codeOf(service.unassignStaff(randomUUID(), null))).toBe('NOT_FOUND:assignmentId');
  });

  it("ends a deleted user's open shifts exactly once, even when the event comes twice", async () => {
    const userId = randomUUID();
    const site = repo.addSite();
    repo.addShift({ siteId: site.id, userId });
    repo.addShift({ siteId: site.id, userId, startsAt: soon(3), endsAt: soon(4) });
    const someoneElse = repo.addShift({ siteId: site.id });
    const event = {
      id: randomUUID(),
      type: 'auth.user.deleted',
      version: 1,
      aggregateId: userId,
      occurredAt: new Date().toISOString(),
      source: 'auth',
      payload: { userId },
    } as unknown as EventEnvelope<'auth.user.deleted'>;
    await service.handleUserDeleted(event);
    await service.handleUserDeleted(event);
    expect(repo.events.map((e) => e.topic)).toEqual([
      'location.staff.unassigned',
      'location.staff.unassigned',
    ]);
    expect(
      repo.assignments.filter((a) => a.userId === userId).every((a) => a.endedReason === 'user_deleted'),
    ).toBe(true);
    expect(someoneElse.endedAt).toBeNull();
  });
});

describe('hours and the read side', () => {
  it('refuses hours for a closed site and stores weekly hours for an open one', async () => {
    const closed = repo.addSite({ active: false });
    expect(
      await codeOf(
        service.setWeeklyHours(closed.id, [{ weekday: 'MONDAY', opensAt: '08:00', closesAt: '18:00' }]),
      ),
    ).toBe('LOCATION_SITE_CLOSED:siteId');
    const open = repo.addSite();
    await service.setWeeklyHours(open.id, [{ weekday: 'MONDAY', opensAt: '08:00', closesAt: '18:00' }]);
    expect(await service.weeklyHours(readsOf(repo), open)).toEqual([
      { weekday: 'MONDAY', opensAt: '08:00', closesAt: '18:00' },
    ]);
  });

  it('announces location.site.changed for every change a booking depends on (hours, exceptions, bays), none for a refused one', async () => {
    const closed = repo.addSite({ active: false });
    await codeOf(
      service.setWeeklyHours(closed.id, [{ weekday: 'MONDAY', opensAt: '08:00', closesAt: '18:00' }]),
    );
    expect(repo.events).toEqual([]);
    const open = repo.addSite();
    await service.setWeeklyHours(open.id, [{ weekday: 'MONDAY', opensAt: '08:00', closesAt: '18:00' }]);
    await service.setHoursException(open.id, { date: '2030-06-03', closed: true, reason: 'Holiday' });
    await service.removeHoursException(open.id, '2030-06-03');
    await service.updateSite(open.id, { bays: 4 });
    expect(repo.events).toEqual(
      Array.from({ length: 4 }, () => ({
        topic: 'location.site.changed',
        aggregateId: open.id,
        payload: { siteId: open.id },
      })),
    );
  });

  it('answers NOT_FOUND for opening windows of an unknown site, and lists exceptions in date order within the range', async () => {
    const reads = readsOf(repo);
    expect(await codeOf(service.openingWindows(reads, randomUUID(), new Date(), soon(24)))).toBe(
      'NOT_FOUND:siteId',
    );
    const site = repo.addSite();
    await service.setHoursException(site.id, { date: '2031-05-02', closed: true, reason: 'holiday' });
    await service.setHoursException(site.id, {
      date: '2031-05-01',
      closed: false,
      windows: [{ opensAt: '10:00', closesAt: '12:00' }],
    });
    const list = await service.exceptions(reads, site, { from: '2031-04-30', to: '2031-05-31' });
    expect(list.map((e) => [e.date, e.closed])).toEqual([
      ['2031-05-01', false],
      ['2031-05-02', true],
    ]);
    expect(await service.exceptions(reads, site, { from: '2031-05-02', to: '2031-05-02' })).toHaveLength(1);
  });

  it('refuses radiusKm without `near` or beyond half the earth', async () => {
    expect(await codeOf(service.listSites({ radiusKm: 5 }))).toBe('BAD_USER_INPUT:radiusKm');
    expect(await codeOf(service.listSites({ near: { latitude: 0, longitude: 0 }, radiusKm: 20_001 }))).toBe(
      'BAD_USER_INPUT:radiusKm',
    );
    await expect(
      service.listSites({ near: { latitude: 0, longitude: 0 }, radiusKm: 20_000 }),
    ).resolves.toMatchObject({ totalCount: 0 });
  });
});

describe('listSites', () => {
  const repo = new FakeRepository();
  const service = new LocationService(repo);
  const berlin = { latitude: 52.52, longitude: 13.405 };

  it('pages by name after the last site (keyset) and near a point by offset', async () => {
    repo.addSite({ name: 'A' });
    const b = repo.addSite({ name: 'B' });
    repo.addSite({ name: 'C' });
    const byName = await service.listSites({ first: 2 });
    expect(byName.nodes.map((s) => s.name)).toEqual(['A', 'B']);
    expect(byName.pageInfo.hasNextPage).toBe(true);
    expect(repo.sitesQuery).toMatchObject({ limit: 3, after: undefined });
    await service.listSites({ first: 2, after: byName.pageInfo.endCursor });
    expect(repo.sitesQuery).toMatchObject({ after: { key: 'B', id: b.id } });

    const near = await service.listSites({ first: 2, near: berlin });
    expect(repo.sitesQuery).toMatchObject({ near: berlin, offset: 0 });
    await service.listSites({ first: 2, near: berlin, after: near.pageInfo.endCursor });
    expect(repo.sitesQuery).toMatchObject({ offset: 2 });
  });

  it("refuses the one order's cursor in the other, and a page above 100", async () => {
    repo.addSite({ name: 'D' });
    const byName = await service.listSites({ first: 1 });
    const near = await service.listSites({ first: 1, near: berlin });
    expect(await codeOf(service.listSites({ after: near.pageInfo.endCursor }))).toBe('BAD_USER_INPUT:after');
    expect(await codeOf(service.listSites({ near: berlin, after: byName.pageInfo.endCursor }))).toBe(
      'BAD_USER_INPUT:after',
    );
    expect(await codeOf(service.listSites({ first: 101 }))).toBe('BAD_USER_INPUT:first');
  });

  it('measures great-circle kilometres from a point, to the metre', async () => {
    const site = repo.addSite({ latitude: 52.53, longitude: 13.405 });
    expect(service.distanceKm(site, berlin)).toBe(1.112);
    expect(service.distanceKm({ ...site, latitude: 48.1351, longitude: 11.582 }, berlin)).toBeCloseTo(
      504.4,
      0,
    );
    const offGlobe = Promise.resolve().then(() => service.distanceKm(site, { latitude: 91, longitude: 0 }));
    expect(await codeOf(offGlobe)).toBe('BAD_USER_INPUT:from.latitude');
  });
});
