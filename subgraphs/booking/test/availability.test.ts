import { describe, expect, it } from 'vitest';
import { freeBay, freeSlots, type SlotQuery } from '../src/availability.js';

const MIN = 60_000;
const at = (hhmm: string) => new Date(`2030-06-03T${hhmm}:00Z`); // a UTC site keeps the arithmetic visible

function query(overrides: Partial<SlotQuery> = {}): SlotQuery {
  return {
    windows: [{ start: at('08:00'), end: at('10:00') }],
    busy: [],
    bays: 1,
    durationMs: 30 * MIN,
    bufferMs: 10 * MIN,
    stepMs: 15 * MIN,
    now: new Date('2030-06-01T00:00:00Z'),
    timeZone: 'UTC',
    date: '2030-06-03',
    ...overrides,
  };
}

const starts = (q: SlotQuery) => freeSlots(q).map((s) => s.startsAt.toISOString().slice(11, 16));

describe(freeSlots.name, () => {
  it('offers every step at which the wash ends inside the window', () => {
    expect(starts(query())).toEqual(['08:00', '08:15', '08:30', '08:45', '09:00', '09:15', '09:30']);
  });

  it('keeps the clean-up buffer free after an existing booking, and before one', () => {
    const busy = [{ bay: 1, startsAt: at('09:00'), blockedUntil: at('09:40') }];
    expect(starts(query({ busy }))).toEqual(['08:00', '08:15']);
  });

  it('still offers a time while another bay is free, and counts free bays', () => {
    const busy = [{ bay: 1, startsAt: at('08:00'), blockedUntil: at('08:40') }];
    const slots = freeSlots(query({ busy, bays: 2 }));
    expect(slots[0]).toMatchObject({ freeBays: 1 });
    expect(slots.at(-1)).toMatchObject({ freeBays: 2 });
  });

  it('offers nothing in the past and nothing outside the local date', () => {
    expect(starts(query({ now: at('09:10') }))).toEqual(['09:15', '09:30']);
    // 08:00–10:00 UTC is 2030-06-03 in Tokyo only until 15:00 JST … all of it is the 3rd there, so ask for the 4th.
    expect(starts(query({ timeZone: 'Asia/Tokyo', date: '2030-06-04' }))).toEqual([]);
  });

  it('offers nothing when the wash is longer than the window', () => {
    expect(starts(query({ durationMs: 3 * 60 * MIN }))).toEqual([]);
  });
});

describe(freeBay.name, () => {
  it('picks the lowest free bay, or null when all are taken', () => {
    const busy = [
      { bay: 1, startsAt: at('08:00'), blockedUntil: at('08:40') },
      { bay: 2, startsAt: at('08:30'), blockedUntil: at('09:10') },
    ];
    expect(freeBay(busy, 3, at('08:00'), at('08:40'))).toBe(3);
    expect(freeBay(busy, 2, at('08:00'), at('08:40'))).toBeNull();
    expect(freeBay(busy, 2, at('08:40'), at('09:00'))).toBe(1);
  });
  it('keeps the starts on the local date across a daylight-saving change (a 23-hour day)', () => {
    const slots = freeSlots(
      query({
        windows: [{ start: new Date('2030-03-30T20:00:00Z'), end: new Date('2030-04-01T00:00:00Z') }],
        stepMs: 60 * MIN,
        now: new Date('2030-01-01T00:00:00Z'),
        timeZone: 'Europe/Berlin',
        date: '2030-03-31',
      }),
    );
    // Berlin's 31 March 2030 runs from 23:00 UTC the day before (CET) to 22:00 UTC (CEST).
    expect(slots).toHaveLength(23);
    expect(slots[0]!.startsAt.toISOString()).toBe('2030-03-30T23:00:00.000Z');
    expect(slots.at(-1)!.startsAt.toISOString()).toBe('2030-03-31T21:00:00.000Z');
    expect(freeSlots(query({ date: 'not-a-date' }))).toEqual([]);
  });
});
