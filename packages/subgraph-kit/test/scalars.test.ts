import { describe, expect, it } from 'vitest';
import { DateTime, Instant } from '../src/scalars.js';

describe(Instant.name, () => {
  it('is the same instant as the Date it was made from, and serialises as DateTime serialises a Date', () => {
    const at = new Date('2031-03-03T10:15:00.000Z');
    const instant = new Instant(at);
    expect(instant).toBeInstanceOf(Date);
    expect(instant.getTime()).toBe(at.getTime());
    expect(DateTime.serialize(instant)).toBe(DateTime.serialize(at));
    expect(DateTime.serialize(instant)).toBe('2031-03-03T10:15:00.000Z');
    // Worked out once, then the same text again.
    expect(instant.toISOString()).toBe(instant.toISOString());
  });
});
