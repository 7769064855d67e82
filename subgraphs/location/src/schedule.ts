import type { HoursException, Schedule, WeeklyWindow } from './hours.js';
import type { OperatingHours, WashSite } from './repository.js';

export const WEEKDAYS = [
  'MONDAY',
  'TUESDAY',
  'WEDNESDAY',
  'THURSDAY',
  'FRIDAY',
  'SATURDAY',
  'SUNDAY',
] as const;
export type WeekdayName = (typeof WEEKDAYS)[number];

export const weekdayNumber = (name: WeekdayName): number => WEEKDAYS.indexOf(name) + 1;
export const weekdayName = (n: number): WeekdayName => WEEKDAYS[n - 1]!;

export function isoDate(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** Rows of `location_operating_hours` as the schedule the hours module computes with. */
export function toSchedule(site: Pick<WashSite, 'timeZone'>, rows: readonly OperatingHours[]): Schedule {
  const weekly: WeeklyWindow[] = [];
  const byDate = new Map<string, HoursException>();
  for (const r of rows) {
    if (r.weekday !== null && r.opensAt && r.closesAt) {
      weekly.push({ weekday: r.weekday, opensAt: r.opensAt, closesAt: r.closesAt });
    } else if (r.date) {
      const date = isoDate(r.date);
      const ex = byDate.get(date) ?? { date, closed: false, reason: null, windows: [] };
      if (r.closed) Object.assign(ex, { closed: true, windows: [] });
      else if (r.opensAt && r.closesAt && !ex.closed)
        ex.windows.push({ opensAt: r.opensAt, closesAt: r.closesAt });
      ex.reason ??= r.reason;
      byDate.set(date, ex);
    }
  }
  return { timeZone: site.timeZone, weekly, exceptions: [...byDate.values()] };
}
