import { DateTime } from 'luxon';

export interface Interval {
  start: Date;
  end: Date;
}

export interface BusyBay {
  bay: number;
  startsAt: Date;
  blockedUntil: Date;
}

export interface SlotQuery {
  /** Opening windows (UTC) around the requested local date. */
  windows: readonly Interval[];
  /** Live reservations at the site in that period. */
  busy: readonly BusyBay[];
  bays: number;
  durationMs: number;
  bufferMs: number;
  stepMs: number;
  now: Date;
  timeZone: string;
  /** The site's local date, YYYY-MM-DD. */
  date: string;
}

export interface Slot {
  startsAt: Date;
  endsAt: Date;
  freeBays: number;
}

const overlaps = (aStart: number, aEnd: number, bStart: number, bEnd: number) =>
  aStart < bEnd && bStart < aEnd;

/**
 * Start times on the local date at which the wash fits inside one opening window and at least one
 * bay is free for the wash plus its clean-up buffer. Starts are aligned to the window's opening.
 */
export function freeSlots(q: SlotQuery): Slot[] {
  const out: Slot[] = [];
  // The local date as UTC instants [dayStart, dayEnd), computed once (not one time-zone conversion per start).
  const day = DateTime.fromISO(q.date, { zone: q.timeZone });
  if (!day.isValid) return out;
  const dayStart = day.toMillis();
  const dayEnd = day.plus({ days: 1 }).toMillis();
  const now = q.now.getTime();
  const busy = q.busy
    .filter((b) => b.bay >= 1 && b.bay <= q.bays)
    .map((b) => ({ bay: b.bay, start: b.startsAt.getTime(), end: b.blockedUntil.getTime() }));
  for (const w of q.windows) {
    for (let t = w.start.getTime(); t + q.durationMs <= w.end.getTime(); t += q.stepMs) {
      if (t <= now || t < dayStart || t >= dayEnd) continue;
      const end = t + q.durationMs;
      const blockedUntil = end + q.bufferMs;
      const taken = new Set<number>();
      for (const b of busy) if (overlaps(t, blockedUntil, b.start, b.end)) taken.add(b.bay);
      const freeBays = q.bays - taken.size;
      if (freeBays > 0) out.push({ startsAt: new Date(t), endsAt: new Date(end), freeBays });
    }
  }
  return out;
}

/** The lowest bay free for [start, blockedUntil), or null. */
export function freeBay(
  busy: readonly BusyBay[],
  bays: number,
  start: Date,
  blockedUntil: Date,
): number | null {
  const taken = new Set(
    busy
      .filter((b) =>
        overlaps(start.getTime(), blockedUntil.getTime(), b.startsAt.getTime(), b.blockedUntil.getTime()),
      )
      .map((b) => b.bay),
  );
  for (let bay = 1; bay <= bays; bay++) if (!taken.has(bay)) return bay;
  return null;
}
