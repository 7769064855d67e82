/**
 * Opening hours of a car-wash site: validation of the weekly pattern and of date exceptions, and the
 * expansion of a schedule into real opening windows (UTC instants) over a range.
 *
 * Hours are stated in the site's local wall-clock time and IANA zone, because that is how a site
 * manager thinks ("08:00–18:00, Monday to Friday") and because the UTC offset changes twice a year in
 * most zones. Converting per local date, at the moment of use, keeps "08:00" meaning 08:00 on both
 * sides of a daylight-saving change. Pure: no I/O, no clock (the result never depends on "now").
 */
import { DateTime, IANAZone } from 'luxon';
import { badInput } from '@carwash/errors';

/** 'HH:MM', 24-hour; '24:00' is allowed only as a closing time and means the end of the day. */
export type LocalTime = string;
/** 'YYYY-MM-DD', a calendar date in the site's own zone. */
export type IsoDate = string;

export interface LocalWindow {
  opensAt: LocalTime;
  closesAt: LocalTime;
}

export interface WeeklyWindow extends LocalWindow {
  /** ISO weekday: 1 = Monday … 7 = Sunday. */
  weekday: number;
}

/** `closed: true` ⇒ no windows; `closed: false` ⇒ these windows replace that day's weekly ones. */
export interface HoursException {
  date: IsoDate;
  closed: boolean;
  reason: string | null;
  windows: LocalWindow[];
}

export interface Schedule {
  timeZone: string;
  weekly: WeeklyWindow[];
  exceptions: HoursException[];
}

/** A half-open interval of real time: `start` inclusive, `end` exclusive. */
export interface InstantWindow {
  start: Date;
  end: Date;
}

export const MAX_WINDOWS_PER_DAY = 10;
export const MAX_REASON_LENGTH = 200;
export const MAX_RANGE_DAYS = 62;

const MINUTES_PER_DAY = 24 * 60;
export const DAY_MS = 86_400_000;
const LOCAL_TIME = /^([01]\d|2[0-3]):([0-5]\d)$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
/**
 * The spelling of an IANA name: segments starting with a capital letter. Checked before asking Intl,
 * because Intl also accepts lower-case spellings ('europe/berlin') and, in newer engines, bare offsets
 * ('+02:00'), neither of which should be stored as a site's zone.
 */
const IANA_NAME = /^[A-Z][A-Za-z0-9_+-]*(?:\/[A-Z][A-Za-z0-9_+-]*)*$/;
const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] as const;

// ---------------------------------------------------------------------------------------------------
// Time zones

/** True for a real IANA zone name ('Europe/Berlin', 'UTC'); false for offsets, unknown or odd spellings. */
export function isValidTimeZone(tz: string): boolean {
  if (typeof tz !== 'string') return false;
  if (validZones.has(tz)) return true;
  const valid = tz.length <= 64 && IANA_NAME.test(tz) && IANAZone.isValidZone(tz);
  // Only names Intl accepted are kept (at most the few hundred it knows): asking it costs a formatter.
  if (valid) validZones.add(tz);
  return valid;
}
const validZones = new Set<string>();

/** Returns `tz` when it is a real IANA zone name, else throws BAD_USER_INPUT naming `field`. */
export function assertTimeZone(tz: unknown, field = 'timeZone'): string {
  if (typeof tz !== 'string' || !isValidTimeZone(tz)) {
    throw badInput(field, 'timeZone must be an IANA time zone name such as Europe/Berlin');
  }
  return tz;
}

// ---------------------------------------------------------------------------------------------------
// Validation

/** A window with its times in minutes since local midnight, and where it came from in the input. */
interface ParsedWindow {
  index: number;
  opens: number;
  closes: number;
}

/** Minutes since midnight of a well-formed 'HH:MM', or null. '24:00' only when `endOfDay` is allowed. */
function minutesOf(time: unknown, endOfDay: boolean): number | null {
  if (endOfDay && time === '24:00') return MINUTES_PER_DAY;
  if (typeof time !== 'string') return null;
  const match = LOCAL_TIME.exec(time);
  return match ? Number(match[1]) * 60 + Number(match[2]) : null;
}

/** Parses one window's times, throwing on the first fault with the path of the faulty field. */
function parseWindow(window: LocalWindow, index: number, path: string): ParsedWindow {
  const opens = minutesOf(window.opensAt, false);
  if (opens === null)
    throw badInput(`${path}.opensAt`, 'opensAt must be a time HH:MM between 00:00 and 23:59');
  const closes = minutesOf(window.closesAt, true);
  if (closes === null)
    throw badInput(`${path}.closesAt`, 'closesAt must be a time HH:MM between 00:00 and 24:00');
  // A window is within one local day: a night shift is written as 22:00–24:00 plus 00:00–02:00.
  if (closes <= opens) throw badInput(`${path}.closesAt`, 'closesAt must be after opensAt');
  return { index, opens, closes };
}

function byOpening(a: ParsedWindow, b: ParsedWindow): number {
  return a.opens - b.opens || a.closes - b.closes || a.index - b.index;
}

/**
 * Checks the windows of one day (sorted by opening): not too many, and none overlapping. Touching
 * windows (12:00–12:00) are fine: the first ends, exclusive, where the next starts.
 */
function checkDay(
  day: ParsedWindow[],
  label: string,
  listField: string,
  pathOf: (index: number) => string,
): void {
  if (day.length > MAX_WINDOWS_PER_DAY) {
    throw badInput(listField, `at most ${MAX_WINDOWS_PER_DAY} windows are allowed on ${label}`);
  }
  for (let k = 1; k < day.length; k++) {
    const previous = day[k - 1]!;
    const current = day[k]!;
    if (current.opens < previous.closes)
      throw badInput(`${pathOf(current.index)}.opensAt`, `overlaps another window on ${label}`);
  }
}

function weekdayName(weekday: number): string {
  return WEEKDAYS[weekday - 1] ?? `weekday ${weekday}`;
}

/**
 * Validates a weekly pattern and returns it sorted by (weekday, opensAt). Errors name the faulty
 * field by its index in the input, e.g. `hours.2.closesAt`.
 */
export function validateWeekly(windows: WeeklyWindow[], field = 'hours'): WeeklyWindow[] {
  const pathOf = (index: number) => `${field}.${index}`;
  const parsed = windows.map((window, index) => {
    const { weekday } = window;
    if (!Number.isInteger(weekday) || weekday < 1 || weekday > 7) {
      throw badInput(
        `${pathOf(index)}.weekday`,
        'weekday must be an ISO weekday from 1 (Monday) to 7 (Sunday)',
      );
    }
    return { weekday, ...parseWindow(window, index, pathOf(index)) };
  });
  for (let weekday = 1; weekday <= 7; weekday++) {
    const day = parsed.filter((w) => w.weekday === weekday).sort(byOpening);
    checkDay(day, weekdayName(weekday), field, pathOf);
  }
  return parsed
    .sort((a, b) => a.weekday - b.weekday || byOpening(a, b))
    .map(({ index }) => {
      const { weekday, opensAt, closesAt } = windows[index]!;
      return { weekday, opensAt, closesAt };
    });
}

/** True for 'YYYY-MM-DD' naming a day that exists ('2026-02-30' does not). */
function isRealDate(date: unknown): date is IsoDate {
  return typeof date === 'string' && ISO_DATE.test(date) && DateTime.fromISO(date, { zone: 'utc' }).isValid;
}

/**
 * Validates one date exception and returns it with its windows sorted. An open exception must have
 * windows: "open, with no hours" would be a second way to say closed, and two spellings of one fact
 * drift apart.
 */
export function validateException(ex: HoursException, field = 'exception'): HoursException {
  if (!isRealDate(ex.date)) throw badInput(`${field}.date`, 'date must be a real calendar date YYYY-MM-DD');
  if (ex.reason !== null && (typeof ex.reason !== 'string' || [...ex.reason].length > MAX_REASON_LENGTH)) {
    throw badInput(`${field}.reason`, `reason must be at most ${MAX_REASON_LENGTH} characters`);
  }
  const listField = `${field}.windows`;
  if (ex.closed && ex.windows.length > 0) throw badInput(listField, 'a closed day has no opening windows');
  if (!ex.closed && ex.windows.length === 0)
    throw badInput(listField, 'an open day needs at least one window (or set closed)');
  const pathOf = (index: number) => `${listField}.${index}`;
  const day = ex.windows.map((window, index) => parseWindow(window, index, pathOf(index))).sort(byOpening);
  checkDay(day, ex.date, listField, pathOf);
  const windows = day.map(({ index }) => {
    const { opensAt, closesAt } = ex.windows[index]!;
    return { opensAt, closesAt };
  });
  return { date: ex.date, closed: ex.closed, reason: ex.reason, windows };
}

// ---------------------------------------------------------------------------------------------------
// Expansion into real time

/** A half-open interval in epoch milliseconds. */
interface Span {
  start: number;
  end: number;
}

/** Checks the requested range; its faults belong to `to` (or `from` when it is not a date at all). */
function checkRange(from: Date, to: Date): Span {
  const start = from.getTime();
  const end = to.getTime();
  if (Number.isNaN(start)) throw badInput('from', 'from must be a valid date-time');
  if (Number.isNaN(end)) throw badInput('to', 'to must be a valid date-time');
  if (end <= start) throw badInput('to', 'to must be after from');
  if (end - start > MAX_RANGE_DAYS * DAY_MS)
    throw badInput('to', `the range must not exceed ${MAX_RANGE_DAYS} days`);
  return { start, end };
}

/**
 * Stored hours are validated on write, so a malformed time here is our bug, not the caller's: a plain
 * Error, masked as INTERNAL_SERVER_ERROR, rather than a BAD_USER_INPUT blaming the client.
 */
function storedMinutes(time: LocalTime, endOfDay: boolean): number {
  const minutes = minutesOf(time, endOfDay);
  if (minutes === null)
    throw new Error(`stored opening hours hold a malformed time: ${JSON.stringify(time)}`);
  return minutes;
}

/**
 * The site's local calendar dates from the day before `from` to the day after `to`. Dates are
 * DateTimes at midnight in UTC, used only as calendar dates: stepping them a day at a time in UTC
 * never meets a DST change, so no day is skipped or repeated.
 */
function localDates(range: Span, zone: string): DateTime[] {
  const dateOf = (ms: number) =>
    DateTime.fromMillis(ms, { zone }).setZone('utc', { keepLocalTime: true }).startOf('day');
  const last = dateOf(range.end).plus({ days: 1 });
  const dates: DateTime[] = [];
  for (let date = dateOf(range.start).minus({ days: 1 }); date <= last; date = date.plus({ days: 1 }))
    dates.push(date);
  return dates;
}

/**
 * The real instant of a local wall-clock time (`minutes` after midnight of `date`) in `zone`.
 *
 * - '24:00' is midnight of the next local date, computed on the calendar (in UTC) before going local,
 *   so it is the real start of the next day even when the day was 23 or 25 hours long.
 * - A time that does not exist (spring-forward gap) is moved forward by the gap: luxon resolves it so,
 *   whatever the current date (02:30 in Berlin on 2026-03-29 becomes 03:30 CEST). Moving forward, not
 *   back, means a site never opens before its sign says; a window 01:00–04:00 simply lasts 2 real
 *   hours. A window lying wholly in the gap after an existing closing (02:30–03:00) comes out empty
 *   and is dropped by the caller.
 * - A time that exists twice (fall-back) takes its first occurrence, the earlier instant. Luxon alone
 *   picks an occurrence from the offset in force *now*, which would make the result depend on the
 *   season the code runs in; `getPossibleOffsets` lists both and we take the earlier. The earlier
 *   instant opens a site as soon as its sign says, and closes it at the first time the clock shows the
 *   closing time, which is what staff on site see.
 */
function localInstant(date: DateTime, minutes: number, zone: string): number {
  // A pure function of its arguments (the zone rules are the process's ICU data), and each call asks
  // Intl for several offsets: the sites of one zone share the answers, date by date.
  const key = `${zone}|${date.toMillis()}|${minutes}`;
  const known = instants.get(key);
  if (known !== undefined) return known;
  if (instants.size >= MAX_KNOWN_INSTANTS) instants.clear();
  const instant = computeLocalInstant(date, minutes, zone);
  instants.set(key, instant);
  return instant;
}

/** Most local instants `localInstant` keeps (zone × date × time; ~100 bytes each); then it starts over. */
const MAX_KNOWN_INSTANTS = 50_000;
const instants = new Map<string, number>();

/** Forgets the local instants worked out so far (tests: so a case computes its own instead of reading one). */
export function forgetLocalInstants(): void {
  instants.clear();
}

function computeLocalInstant(date: DateTime, minutes: number, zone: string): number {
  const wall = date.plus({ minutes });
  const local = DateTime.fromObject(
    { year: wall.year, month: wall.month, day: wall.day, hour: wall.hour, minute: wall.minute },
    { zone },
  );
  return Math.min(...local.getPossibleOffsets().map((candidate) => candidate.toMillis()));
}

/** The local windows of one date: its exception if it has one, else the weekly windows of its weekday. */
function windowsOn(
  date: DateTime,
  schedule: Schedule,
  exceptions: Map<IsoDate, HoursException>,
): LocalWindow[] {
  const exception = exceptions.get(date.toISODate() ?? '');
  if (exception) return exception.closed ? [] : exception.windows;
  return schedule.weekly.filter((w) => w.weekday === date.weekday);
}

/** Real-time spans of every local window of the dates around `range` (unclipped, unsorted). */
function spansAround(schedule: Schedule, range: Span, zone: string): Span[] {
  const exceptions = new Map(schedule.exceptions.map((ex) => [ex.date, ex]));
  return localDates(range, zone).flatMap((date) =>
    windowsOn(date, schedule, exceptions).map((w) => ({
      start: localInstant(date, storedMinutes(w.opensAt, false), zone),
      end: localInstant(date, storedMinutes(w.closesAt, true), zone),
    })),
  );
}

/** Clips spans to `range`, drops empty ones, sorts them and merges those that overlap or touch. */
function clipAndMerge(spans: Span[], range: Span): Span[] {
  const clipped = spans
    .map((s) => ({ start: Math.max(s.start, range.start), end: Math.min(s.end, range.end) }))
    .filter((s) => s.end > s.start)
    .sort((a, b) => a.start - b.start);
  const merged: Span[] = [];
  for (const span of clipped) {
    const last = merged.at(-1);
    if (last && span.start <= last.end) last.end = Math.max(last.end, span.end);
    else merged.push({ ...span });
  }
  return merged;
}

/**
 * All opening windows intersecting [from, to), clipped to it, sorted, with touching or overlapping
 * ones merged (Monday 22:00–24:00 and Tuesday 00:00–02:00 are one window). Throws BAD_USER_INPUT on
 * `to` when the range is empty or longer than 62 days.
 */
export function openingWindows(schedule: Schedule, from: Date, to: Date): InstantWindow[] {
  const range = checkRange(from, to);
  if (!isValidTimeZone(schedule.timeZone)) {
    throw new Error(`stored opening hours have an invalid time zone: ${JSON.stringify(schedule.timeZone)}`);
  }
  return clipAndMerge(spansAround(schedule, range, schedule.timeZone), range).map((s) => ({
    start: new Date(s.start),
    end: new Date(s.end),
  }));
}

/** True iff `at` lies in an opening window: open at the opening instant, closed at the closing one. */
export function isOpen(schedule: Schedule, at: Date): boolean {
  if (Number.isNaN(at.getTime())) throw badInput('at', 'at must be a valid date-time');
  return openingWindows(schedule, at, new Date(at.getTime() + 1)).length > 0;
}
