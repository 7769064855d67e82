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
  for (const w of q.windows) {
    for (let t = w.start.getTime(); t + q.durationMs <= w.end.getTime(); t += q.stepMs) {
      if (t <= q.now.getTime()) continue;
      if (DateTime.fromMillis(t, { zone: q.timeZone }).toISODate() !== q.date) continue;
      const end = t + q.durationMs;
      const blockedUntil = end + q.bufferMs;
      const taken = new Set(
        q.busy
          .filter((b) => overlaps(t, blockedUntil, b.startsAt.getTime(), b.blockedUntil.getTime()))
          .map((b) => b.bay),
      );
      const freeBays = q.bays - [...taken].filter((b) => b >= 1 && b <= q.bays).length;
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
