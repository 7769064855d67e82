import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AppError } from '@carwash/errors';
import { thrown } from '@carwash/testing';
import {
  assertTimeZone,
  forgetLocalInstants,
  isOpen,
  isValidTimeZone,
  openingWindows,
  validateException,
  validateWeekly,
  type HoursException,
  type Schedule,
  type WeeklyWindow,
} from '../src/hours.js';

// DST dates used below, checked with luxon 3.7.2 (offsets in minutes):
//   Europe/Berlin        2026-03-29 01:00Z  +60 → +120 (02:00 → 03:00)   2026-10-25 01:00Z  +120 → +60 (03:00 → 02:00)
//   America/New_York     2026-03-08 07:00Z -300 → -240 (02:00 → 03:00)   2026-11-01 06:00Z  -240 → -300 (02:00 → 01:00)
//   Australia/Lord_Howe  2026-10-03 15:30Z +630 → +660 (02:00 → 02:30)   2026-04-04 15:00Z  +660 → +630 (02:00 → 01:30)
//   Pacific/Chatham      2026-09-26 14:00Z +765 → +825 (02:45 → 03:45)   2026-04-04 14:00Z  +825 → +765 (03:45 → 02:45)
//   Asia/Kolkata         none, always +330
// All DST days above are Sundays; 2026-01-12, 2026-06-15 and 2026-07-06 are Mondays.

/** The BAD_USER_INPUT error `run` throws, failing the test if it throws nothing or something else. */
function refusal(run: () => unknown): AppError {
  const err = thrown(run, AppError);
  expect(err.code).toBe('BAD_USER_INPUT');
  return err;
}

/** The opening windows of [from, to) as [start, end] pairs of ISO strings, for exact comparison. */
function windowsOf(schedule: Schedule, from: string, to: string): Array<[string, string]> {
  return openingWindows(schedule, new Date(from), new Date(to)).map((w) => [
    w.start.toISOString(),
    w.end.toISOString(),
  ]);
}

/** A case of {@link itGivesWindows}: its title, the site, the range [from, to) and the windows expected. */
type WindowsCase = [title: string, site: Schedule, range: [string, string], windows: Array<[string, string]>];

/** One test per case: the site's opening windows over the range are exactly the expected ones. */
function itGivesWindows(cases: WindowsCase[]): void {
  it.each(cases)('%s', (_title, site, [from, to], windows) => {
    expect(windowsOf(site, from, to)).toEqual(windows);
  });
}

/** The same local window on every weekday. */
function everyDay(opensAt: string, closesAt: string): WeeklyWindow[] {
  return [1, 2, 3, 4, 5, 6, 7].map((weekday) => ({ weekday, opensAt, closesAt }));
}

function sundays(opensAt: string, closesAt: string): WeeklyWindow[] {
  return [{ weekday: 7, opensAt, closesAt }];
}

function schedule(timeZone: string, weekly: WeeklyWindow[], exceptions: HoursException[] = []): Schedule {
  return { timeZone, weekly, exceptions };
}

/** Monday–Friday 08:00–18:00, Saturday 09:00–14:00, closed on Sunday. */
const OFFICE_WEEK: WeeklyWindow[] = [
  ...[1, 2, 3, 4, 5].map((weekday) => ({ weekday, opensAt: '08:00', closesAt: '18:00' })),
  { weekday: 6, opensAt: '09:00', closesAt: '14:00' },
];
const BERLIN = schedule('Europe/Berlin', OFFICE_WEEK);

describe('openingWindows in a normal week', () => {
  itGivesWindows([
    [
      'turns a winter week in Berlin into UTC windows at +01:00',
      BERLIN,
      ['2026-01-11T23:00:00.000Z', '2026-01-18T23:00:00.000Z'],
      [
        ['2026-01-12T07:00:00.000Z', '2026-01-12T17:00:00.000Z'],
        ['2026-01-13T07:00:00.000Z', '2026-01-13T17:00:00.000Z'],
        ['2026-01-14T07:00:00.000Z', '2026-01-14T17:00:00.000Z'],
        ['2026-01-15T07:00:00.000Z', '2026-01-15T17:00:00.000Z'],
        ['2026-01-16T07:00:00.000Z', '2026-01-16T17:00:00.000Z'],
        ['2026-01-17T08:00:00.000Z', '2026-01-17T13:00:00.000Z'],
      ],
    ],
    [
      'turns a summer week in Berlin into UTC windows at +02:00',
      BERLIN,
      ['2026-07-05T22:00:00.000Z', '2026-07-12T22:00:00.000Z'],
      [
        ['2026-07-06T06:00:00.000Z', '2026-07-06T16:00:00.000Z'],
        ['2026-07-07T06:00:00.000Z', '2026-07-07T16:00:00.000Z'],
        ['2026-07-08T06:00:00.000Z', '2026-07-08T16:00:00.000Z'],
        ['2026-07-09T06:00:00.000Z', '2026-07-09T16:00:00.000Z'],
        ['2026-07-10T06:00:00.000Z', '2026-07-10T16:00:00.000Z'],
        ['2026-07-11T07:00:00.000Z', '2026-07-11T12:00:00.000Z'],
      ],
    ],
    [
      'keeps 08:00 local on both sides of the spring-forward weekend in Berlin',
      BERLIN,
      ['2026-03-27T00:00:00.000Z', '2026-03-31T00:00:00.000Z'],
      [
        ['2026-03-27T07:00:00.000Z', '2026-03-27T17:00:00.000Z'],
        ['2026-03-28T08:00:00.000Z', '2026-03-28T13:00:00.000Z'],
        ['2026-03-30T06:00:00.000Z', '2026-03-30T16:00:00.000Z'],
      ],
    ],
    [
      'uses the half-hour offset of Asia/Kolkata (+05:30)',
      schedule('Asia/Kolkata', everyDay('07:00', '21:00')),
      ['2026-06-14T18:30:00.000Z', '2026-06-16T18:30:00.000Z'],
      [
        ['2026-06-15T01:30:00.000Z', '2026-06-15T15:30:00.000Z'],
        ['2026-06-16T01:30:00.000Z', '2026-06-16T15:30:00.000Z'],
      ],
    ],
    [
      // 2026-06-14T20:00Z is already 01:30 on Monday 15 June in Kolkata.
      'finds the local date of `from` in the site zone, not in UTC',
      schedule('Asia/Kolkata', [{ weekday: 1, opensAt: '01:00', closesAt: '03:00' }]),
      ['2026-06-14T20:00:00.000Z', '2026-06-14T21:00:00.000Z'],
      [['2026-06-14T20:00:00.000Z', '2026-06-14T21:00:00.000Z']],
    ],
    [
      'returns nothing for a range in which the site is closed',
      BERLIN,
      ['2026-01-18T00:00:00.000Z', '2026-01-18T23:00:00.000Z'],
      [],
    ],
  ]);
});

describe('openingWindows across daylight-saving changes', () => {
  itGivesWindows([
    [
      'lasts two real hours on the spring-forward day in Berlin',
      schedule('Europe/Berlin', sundays('01:00', '04:00')),
      ['2026-03-28T00:00:00.000Z', '2026-03-30T00:00:00.000Z'],
      [['2026-03-29T00:00:00.000Z', '2026-03-29T02:00:00.000Z']],
    ],
    [
      'moves a local opening time that does not exist forward by the gap (02:30 → 03:30 CEST)',
      schedule('Europe/Berlin', sundays('02:30', '05:00')),
      ['2026-03-28T00:00:00.000Z', '2026-03-30T00:00:00.000Z'],
      [['2026-03-29T01:30:00.000Z', '2026-03-29T03:00:00.000Z']],
    ],
    [
      // 02:30 becomes 03:30 CEST, after the real 03:00 CEST closing.
      'drops a window that is empty once its non-existent opening moves forward past its closing',
      schedule('Europe/Berlin', sundays('02:30', '03:00')),
      ['2026-03-28T00:00:00.000Z', '2026-03-30T00:00:00.000Z'],
      [],
    ],
    [
      'lasts four real hours on the fall-back day in Berlin',
      schedule('Europe/Berlin', sundays('01:00', '04:00')),
      ['2026-10-24T00:00:00.000Z', '2026-10-26T00:00:00.000Z'],
      [['2026-10-24T23:00:00.000Z', '2026-10-25T03:00:00.000Z']],
    ],
    [
      'closes at the first occurrence of an ambiguous closing time',
      schedule('Europe/Berlin', sundays('01:00', '02:30')),
      ['2026-10-24T00:00:00.000Z', '2026-10-26T00:00:00.000Z'],
      [['2026-10-24T23:00:00.000Z', '2026-10-25T00:30:00.000Z']],
    ],
    [
      'lasts two real hours on the spring-forward day in New York',
      schedule('America/New_York', sundays('01:00', '04:00')),
      ['2026-03-07T00:00:00.000Z', '2026-03-09T00:00:00.000Z'],
      [['2026-03-08T06:00:00.000Z', '2026-03-08T08:00:00.000Z']],
    ],
    [
      'moves 02:30 forward to 03:30 EDT on the spring-forward day in New York',
      schedule('America/New_York', sundays('02:30', '05:00')),
      ['2026-03-07T00:00:00.000Z', '2026-03-09T00:00:00.000Z'],
      [['2026-03-08T07:30:00.000Z', '2026-03-08T09:00:00.000Z']],
    ],
    [
      'lasts four real hours on the fall-back day in New York',
      schedule('America/New_York', sundays('01:00', '04:00')),
      ['2026-10-31T00:00:00.000Z', '2026-11-02T00:00:00.000Z'],
      [['2026-11-01T05:00:00.000Z', '2026-11-01T09:00:00.000Z']],
    ],
    [
      'opens at the first 01:30 (EDT) on the fall-back day in New York',
      schedule('America/New_York', sundays('01:30', '03:00')),
      ['2026-10-31T00:00:00.000Z', '2026-11-02T00:00:00.000Z'],
      [['2026-11-01T05:30:00.000Z', '2026-11-01T08:00:00.000Z']],
    ],
    [
      'lasts two and a half real hours on the half-hour spring-forward day at Lord Howe',
      schedule('Australia/Lord_Howe', sundays('01:00', '04:00')),
      ['2026-10-02T00:00:00.000Z', '2026-10-05T00:00:00.000Z'],
      [['2026-10-03T14:30:00.000Z', '2026-10-03T17:00:00.000Z']],
    ],
    [
      'lasts three and a half real hours on the half-hour fall-back day at Lord Howe',
      schedule('Australia/Lord_Howe', sundays('01:00', '04:00')),
      ['2026-04-03T00:00:00.000Z', '2026-04-06T00:00:00.000Z'],
      [['2026-04-04T14:00:00.000Z', '2026-04-04T17:30:00.000Z']],
    ],
    [
      'opens at the first 01:45 (+11:00) on the fall-back day at Lord Howe',
      schedule('Australia/Lord_Howe', sundays('01:45', '04:00')),
      ['2026-04-03T00:00:00.000Z', '2026-04-06T00:00:00.000Z'],
      [['2026-04-04T14:45:00.000Z', '2026-04-04T17:30:00.000Z']],
    ],
    [
      'uses +12:45 then +13:45 on the spring-forward day in Pacific/Chatham',
      schedule('Pacific/Chatham', sundays('01:00', '06:00')),
      ['2026-09-25T00:00:00.000Z', '2026-09-28T00:00:00.000Z'],
      [['2026-09-26T12:15:00.000Z', '2026-09-26T16:15:00.000Z']],
    ],
  ]);

  it('makes a 00:00–24:00 day last 23 real hours in spring and 25 in autumn', () => {
    const site = schedule('Europe/Berlin', sundays('00:00', '24:00'));
    expect(windowsOf(site, '2026-03-28T00:00:00.000Z', '2026-03-30T00:00:00.000Z')).toEqual([
      ['2026-03-28T23:00:00.000Z', '2026-03-29T22:00:00.000Z'],
    ]);
    expect(windowsOf(site, '2026-10-24T00:00:00.000Z', '2026-10-26T00:00:00.000Z')).toEqual([
      ['2026-10-24T22:00:00.000Z', '2026-10-25T23:00:00.000Z'],
    ]);
  });

  describe('whatever the current date luxon sees', () => {
    // Each case works its instants out under its own clock, not from those an earlier case kept.
    beforeEach(() => {
      forgetLocalInstants();
    });
    afterEach(() => {
      vi.useRealTimers();
    });

    it.each(['2026-01-15T12:00:00.000Z', '2026-07-15T12:00:00.000Z'])(
      'takes the first occurrence of an ambiguous local time on the fall-back day (now = %s)',
      (now) => {
        vi.useFakeTimers({ now: new Date(now), toFake: ['Date'] });
        const site = schedule('Europe/Berlin', sundays('02:30', '06:00'));
        // 02:30 CEST (+02:00), not the second 02:30 an hour later in CET.
        expect(windowsOf(site, '2026-10-24T00:00:00.000Z', '2026-10-26T00:00:00.000Z')).toEqual([
          ['2026-10-25T00:30:00.000Z', '2026-10-25T05:00:00.000Z'],
        ]);
      },
    );

    it.each(['2026-01-15T12:00:00.000Z', '2026-07-15T12:00:00.000Z'])(
      'moves a non-existent local time forward on the spring-forward day (now = %s)',
      (now) => {
        vi.useFakeTimers({ now: new Date(now), toFake: ['Date'] });
        const site = schedule('Europe/Berlin', sundays('02:30', '05:00'));
        expect(windowsOf(site, '2026-03-28T00:00:00.000Z', '2026-03-30T00:00:00.000Z')).toEqual([
          ['2026-03-29T01:30:00.000Z', '2026-03-29T03:00:00.000Z'],
        ]);
      },
    );
  });
});

describe('openingWindows with exceptions', () => {
  itGivesWindows([
    [
      'closes the site on a holiday and keeps the weekly hours around it',
      schedule('Europe/Berlin', OFFICE_WEEK, [
        { date: '2026-12-24', closed: true, reason: 'Christmas Eve', windows: [] },
      ]),
      ['2026-12-23T00:00:00.000Z', '2026-12-26T00:00:00.000Z'],
      [
        ['2026-12-23T07:00:00.000Z', '2026-12-23T17:00:00.000Z'],
        ['2026-12-25T07:00:00.000Z', '2026-12-25T17:00:00.000Z'],
      ],
    ],
    [
      'replaces the weekly windows of the day with special hours',
      schedule('Europe/Berlin', OFFICE_WEEK, [
        {
          date: '2026-12-31',
          closed: false,
          reason: "New Year's Eve",
          windows: [
            { opensAt: '08:00', closesAt: '12:00' },
            { opensAt: '13:00', closesAt: '15:00' },
          ],
        },
      ]),
      ['2026-12-31T00:00:00.000Z', '2027-01-01T00:00:00.000Z'],
      [
        ['2026-12-31T07:00:00.000Z', '2026-12-31T11:00:00.000Z'],
        ['2026-12-31T12:00:00.000Z', '2026-12-31T14:00:00.000Z'],
      ],
    ],
    [
      'opens on a day the weekly pattern keeps closed',
      schedule('Europe/Berlin', OFFICE_WEEK, [
        {
          date: '2026-12-27',
          closed: false,
          reason: 'Winter sale',
          windows: [{ opensAt: '10:00', closesAt: '16:00' }],
        },
      ]),
      ['2026-12-27T00:00:00.000Z', '2026-12-28T00:00:00.000Z'],
      [['2026-12-27T09:00:00.000Z', '2026-12-27T15:00:00.000Z']],
    ],
  ]);
});

describe('openingWindows merging and clipping', () => {
  itGivesWindows([
    [
      'merges 22:00–24:00 on Monday with 00:00–02:00 on Tuesday into one window',
      schedule('Europe/Berlin', [
        { weekday: 1, opensAt: '22:00', closesAt: '24:00' },
        { weekday: 2, opensAt: '00:00', closesAt: '02:00' },
      ]),
      ['2026-01-12T00:00:00.000Z', '2026-01-14T00:00:00.000Z'],
      [['2026-01-12T21:00:00.000Z', '2026-01-13T01:00:00.000Z']],
    ],
    [
      'merges touching windows of one day',
      schedule('Europe/Berlin', [
        { weekday: 1, opensAt: '08:00', closesAt: '12:00' },
        { weekday: 1, opensAt: '12:00', closesAt: '18:00' },
      ]),
      ['2026-01-12T00:00:00.000Z', '2026-01-13T00:00:00.000Z'],
      [['2026-01-12T07:00:00.000Z', '2026-01-12T17:00:00.000Z']],
    ],
    [
      'gives a round-the-clock site one window covering the whole range, across a DST change',
      schedule('Europe/Berlin', everyDay('00:00', '24:00')),
      ['2026-03-27T12:00:00.000Z', '2026-03-31T12:00:00.000Z'],
      [['2026-03-27T12:00:00.000Z', '2026-03-31T12:00:00.000Z']],
    ],
    [
      'clips the windows at both ends of the range to [from, to)',
      BERLIN,
      ['2026-01-12T10:00:00.000Z', '2026-01-13T12:00:00.000Z'],
      [
        ['2026-01-12T10:00:00.000Z', '2026-01-12T17:00:00.000Z'],
        ['2026-01-13T07:00:00.000Z', '2026-01-13T12:00:00.000Z'],
      ],
    ],
    [
      // Sunday 11 January 20:00–24:00 local is 19:00Z–23:00Z.
      'includes the part of a window started on the local day before `from`',
      schedule('Europe/Berlin', [{ weekday: 7, opensAt: '20:00', closesAt: '24:00' }]),
      ['2026-01-11T22:00:00.000Z', '2026-01-12T10:00:00.000Z'],
      [['2026-01-11T22:00:00.000Z', '2026-01-11T23:00:00.000Z']],
    ],
    [
      'leaves out a window that only touches `to`, since the range is half-open',
      BERLIN,
      ['2026-01-12T00:00:00.000Z', '2026-01-12T07:00:00.000Z'],
      [],
    ],
  ]);
});

describe('openingWindows worked out once per zone, date and time', () => {
  it('gives every site of a zone the same instants, and a site of another zone its own', () => {
    forgetLocalInstants();
    const range: [string, string] = ['2026-03-27T00:00:00.000Z', '2026-03-31T00:00:00.000Z'];
    const berlin = windowsOf(schedule('Europe/Berlin', everyDay('08:00', '18:00')), ...range);
    const newYork = windowsOf(schedule('America/New_York', everyDay('08:00', '18:00')), ...range);
    // Across Berlin's spring-forward (Sunday 2026-03-29): 07:00Z before it, 06:00Z after.
    expect(berlin).toEqual([
      ['2026-03-27T07:00:00.000Z', '2026-03-27T17:00:00.000Z'],
      ['2026-03-28T07:00:00.000Z', '2026-03-28T17:00:00.000Z'],
      ['2026-03-29T06:00:00.000Z', '2026-03-29T16:00:00.000Z'],
      ['2026-03-30T06:00:00.000Z', '2026-03-30T16:00:00.000Z'],
    ]);
    // New York is already on EDT (since 2026-03-08): 12:00Z every day.
    expect(newYork[0]).toEqual(['2026-03-27T12:00:00.000Z', '2026-03-27T22:00:00.000Z']);
    // Asked again, and from a schedule with other windows on those dates, nothing crosses over.
    expect(windowsOf(schedule('Europe/Berlin', everyDay('08:00', '18:00')), ...range)).toEqual(berlin);
    expect(windowsOf(schedule('Europe/Berlin', everyDay('09:00', '18:00')), ...range)[2]).toEqual([
      '2026-03-29T07:00:00.000Z',
      '2026-03-29T16:00:00.000Z',
    ]);
  });
});

describe('openingWindows range limits', () => {
  it.each([
    ['to equals from', '2026-01-12T00:00:00.000Z', '2026-01-12T00:00:00.000Z', /after from/],
    ['to is before from', '2026-01-12T00:00:00.000Z', '2026-01-11T00:00:00.000Z', /after from/],
    [
      'the range is one millisecond over 62 days',
      '2026-01-01T00:00:00.000Z',
      '2026-03-04T00:00:00.001Z',
      /62 days/,
    ],
  ])('refuses the range on `to` when %s', (_what, from, to, message) => {
    const error = refusal(() => openingWindows(BERLIN, new Date(from), new Date(to)));
    expect(error.extensions.field).toBe('to');
    expect(error.message).toMatch(message);
  });

  it('accepts a range of exactly 62 days', () => {
    const windows = openingWindows(
      BERLIN,
      new Date('2026-01-01T00:00:00.000Z'),
      new Date('2026-03-04T00:00:00.000Z'),
    );
    expect(windows).toHaveLength(53); // 62 days, 1 January to 3 March, of which 9 are Sundays
  });

  it('refuses an invalid date on the field it came from', () => {
    expect(refusal(() => openingWindows(BERLIN, new Date('nope'), new Date())).extensions.field).toBe('from');
    expect(refusal(() => openingWindows(BERLIN, new Date(), new Date('nope'))).extensions.field).toBe('to');
    expect(refusal(() => isOpen(BERLIN, new Date('nope'))).extensions.field).toBe('at');
  });
});

describe(isOpen.name, () => {
  it('is open at the opening instant and closed at the closing instant', () => {
    expect(isOpen(BERLIN, new Date('2026-01-12T06:59:59.999Z'))).toBe(false);
    expect(isOpen(BERLIN, new Date('2026-01-12T07:00:00.000Z'))).toBe(true);
    expect(isOpen(BERLIN, new Date('2026-01-12T16:59:59.999Z'))).toBe(true);
    expect(isOpen(BERLIN, new Date('2026-01-12T17:00:00.000Z'))).toBe(false);
  });

  it('stays open through local midnight of a window merged across it', () => {
    const site = schedule('Europe/Berlin', [
      { weekday: 1, opensAt: '22:00', closesAt: '24:00' },
      { weekday: 2, opensAt: '00:00', closesAt: '02:00' },
    ]);
    expect(isOpen(site, new Date('2026-01-12T23:00:00.000Z'))).toBe(true);
    expect(isOpen(site, new Date('2026-01-13T01:00:00.000Z'))).toBe(false);
  });

  it('is closed on a holiday exception', () => {
    const site = schedule('Europe/Berlin', OFFICE_WEEK, [
      { date: '2026-12-24', closed: true, reason: null, windows: [] },
    ]);
    expect(isOpen(site, new Date('2026-12-24T10:00:00.000Z'))).toBe(false);
    expect(isOpen(site, new Date('2026-12-23T10:00:00.000Z'))).toBe(true);
  });

  it('is closed during the hour that does not exist and open right after it', () => {
    const site = schedule('Europe/Berlin', sundays('02:00', '04:00'));
    // 02:00 does not exist on 2026-03-29: the window starts at 03:00 CEST (01:00Z).
    expect(isOpen(site, new Date('2026-03-29T00:59:59.999Z'))).toBe(false);
    expect(isOpen(site, new Date('2026-03-29T01:00:00.000Z'))).toBe(true);
  });
});

describe('time zones', () => {
  it.each([
    'Europe/Berlin',
    'UTC',
    'America/New_York',
    'Asia/Kolkata',
    'Australia/Lord_Howe',
    'Pacific/Chatham',
    'Etc/GMT+2',
  ])('accepts the IANA zone %s', (tz) => {
    expect(isValidTimeZone(tz)).toBe(true);
    expect(assertTimeZone(tz)).toBe(tz);
  });

  it.each(['Mars/Base', '+02:00', 'UTC+2', '', 'europe/berlin', ' Europe/Berlin', 'Europe/Berlin ', 'Z'])(
    'refuses %j as a time zone',
    (tz) => {
      expect(isValidTimeZone(tz)).toBe(false);
      expect(refusal(() => assertTimeZone(tz)).extensions.field).toBe('timeZone');
    },
  );

  it('refuses a value that is not a string, naming the given field', () => {
    expect(refusal(() => assertTimeZone(42, 'input.timeZone')).extensions.field).toBe('input.timeZone');
    expect(refusal(() => assertTimeZone(null)).extensions.field).toBe('timeZone');
  });
});

describe(validateWeekly.name, () => {
  const monday = (opensAt: string, closesAt: string): WeeklyWindow => ({ weekday: 1, opensAt, closesAt });

  it('returns the windows sorted by weekday then opening time', () => {
    const windows = [
      { weekday: 3, opensAt: '08:00', closesAt: '12:00' },
      monday('13:00', '18:00'),
      monday('08:00', '12:00'),
    ];
    expect(validateWeekly(windows)).toEqual([monday('08:00', '12:00'), monday('13:00', '18:00'), windows[0]]);
  });

  it('accepts touching windows and 24:00 as a closing time', () => {
    expect(validateWeekly([monday('12:00', '24:00'), monday('08:00', '12:00')])).toEqual([
      monday('08:00', '12:00'),
      monday('12:00', '24:00'),
    ]);
  });

  it.each([
    ['an hour of 25', [monday('25:00', '26:00')], 'hours.0.opensAt', /opensAt must be a time/],
    [
      'a one-digit hour',
      [monday('08:00', '12:00'), monday('8:00', '9:00')],
      'hours.1.opensAt',
      /opensAt must be a time/,
    ],
    ['a minute of 60', [monday('08:00', '12:60')], 'hours.0.closesAt', /closesAt must be a time/],
    ['24:00 as an opening time', [monday('24:00', '24:00')], 'hours.0.opensAt', /opensAt must be a time/],
    ['a closing time after 24:00', [monday('22:00', '24:01')], 'hours.0.closesAt', /closesAt must be a time/],
    ['weekday 0', [{ weekday: 0, opensAt: '08:00', closesAt: '12:00' }], 'hours.0.weekday', /ISO weekday/],
    ['weekday 8', [{ weekday: 8, opensAt: '08:00', closesAt: '12:00' }], 'hours.0.weekday', /ISO weekday/],
    [
      'a fractional weekday',
      [{ weekday: 1.5, opensAt: '08:00', closesAt: '12:00' }],
      'hours.0.weekday',
      /ISO weekday/,
    ],
    [
      'closing before opening',
      [monday('08:00', '12:00'), monday('13:00', '14:00'), monday('18:00', '08:00')],
      'hours.2.closesAt',
      /^closesAt must be after opensAt$/,
    ],
    [
      'closing equal to opening',
      [monday('12:00', '12:00')],
      'hours.0.closesAt',
      /^closesAt must be after opensAt$/,
    ],
  ])('refuses %s, naming the field', (_what, windows, field, message) => {
    const error = refusal(() => validateWeekly(windows));
    expect(error.extensions.field).toBe(field);
    expect(error.message).toMatch(message);
  });

  it('refuses two overlapping windows of one weekday, naming the one that starts inside the other', () => {
    const windows = [
      monday('08:00', '12:00'),
      { weekday: 2, opensAt: '08:00', closesAt: '12:00' },
      monday('11:00', '14:00'),
    ];
    const error = refusal(() => validateWeekly(windows));
    expect(error.extensions.field).toBe('hours.2.opensAt');
    expect(error.message).toBe('overlaps another window on Monday');
  });

  it('refuses a window nested in another', () => {
    const error = refusal(() =>
      validateWeekly(
        [
          { weekday: 7, opensAt: '08:00', closesAt: '20:00' },
          { weekday: 7, opensAt: '10:00', closesAt: '11:00' },
        ],
        'input.hours',
      ),
    );
    expect(error.extensions.field).toBe('input.hours.1.opensAt');
    expect(error.message).toBe('overlaps another window on Sunday');
  });

  it('allows ten windows on a weekday and refuses eleven', () => {
    const hourly = (n: number) =>
      Array.from({ length: n }, (_, h) =>
        monday(`${String(h).padStart(2, '0')}:00`, `${String(h).padStart(2, '0')}:30`),
      );
    expect(validateWeekly(hourly(10))).toHaveLength(10);
    const error = refusal(() => validateWeekly(hourly(11)));
    expect(error.extensions.field).toBe('hours');
    expect(error.message).toMatch(/at most 10 windows .* Monday/);
  });
});

describe(validateException.name, () => {
  const open = (windows: HoursException['windows'], date = '2026-12-31'): HoursException => ({
    date,
    closed: false,
    reason: null,
    windows,
  });

  it('returns the exception with its windows sorted', () => {
    const ex = open([
      { opensAt: '13:00', closesAt: '15:00' },
      { opensAt: '08:00', closesAt: '12:00' },
    ]);
    expect(validateException(ex)).toEqual(
      open([
        { opensAt: '08:00', closesAt: '12:00' },
        { opensAt: '13:00', closesAt: '15:00' },
      ]),
    );
  });

  it('accepts a closed day with a reason of 200 characters and a leap day', () => {
    const ex: HoursException = { date: '2028-02-29', closed: true, reason: 'x'.repeat(200), windows: [] };
    expect(validateException(ex)).toEqual(ex);
  });

  it.each([
    [
      'a date that does not exist',
      open([{ opensAt: '08:00', closesAt: '12:00' }], '2026-02-30'),
      'exception.date',
      /real calendar date/,
    ],
    [
      '29 February of a common year',
      open([{ opensAt: '08:00', closesAt: '12:00' }], '2026-02-29'),
      'exception.date',
      /real calendar date/,
    ],
    [
      'a date without leading zeros',
      open([{ opensAt: '08:00', closesAt: '12:00' }], '2026-2-3'),
      'exception.date',
      /real calendar date/,
    ],
    [
      'a closed day with windows',
      { date: '2026-12-24', closed: true, reason: null, windows: [{ opensAt: '08:00', closesAt: '12:00' }] },
      'exception.windows',
      /closed day/,
    ],
    ['an open day without windows', open([]), 'exception.windows', /at least one window/],
    [
      'a reason of 201 characters',
      { date: '2026-12-24', closed: true, reason: 'x'.repeat(201), windows: [] },
      'exception.reason',
      /at most 200/,
    ],
    [
      'a malformed time',
      open([
        { opensAt: '08:00', closesAt: '12:00' },
        { opensAt: '13:00', closesAt: '25:00' },
      ]),
      'exception.windows.1.closesAt',
      /closesAt must be a time/,
    ],
    [
      'closing before opening',
      open([{ opensAt: '12:00', closesAt: '08:00' }]),
      'exception.windows.0.closesAt',
      /^closesAt must be after opensAt$/,
    ],
    [
      'overlapping windows',
      open([
        { opensAt: '08:00', closesAt: '12:00' },
        { opensAt: '09:00', closesAt: '10:00' },
      ]),
      'exception.windows.1.opensAt',
      /^overlaps another window on 2026-12-31$/,
    ],
  ])('refuses %s, naming the field', (_what, ex, field, message) => {
    const error = refusal(() => validateException(ex));
    expect(error.extensions.field).toBe(field);
    expect(error.message).toMatch(message);
  });

  it('prefixes the fields with the given path', () => {
    const error = refusal(() =>
      validateException(open([{ opensAt: '08:00', closesAt: '12:00' }], '2026-13-01'), 'input.exceptions.3'),
    );
    expect(error.extensions.field).toBe('input.exceptions.3.date');
  });

  it('refuses more than ten windows', () => {
    const windows = Array.from({ length: 11 }, (_, h) => ({
      opensAt: `${String(h).padStart(2, '0')}:00`,
      closesAt: `${String(h).padStart(2, '0')}:30`,
    }));
    expect(refusal(() => validateException(open(windows))).extensions.field).toBe('exception.windows');
  });
});
