/** The label of values beyond a {@link BoundedLabels}' capacity. */
export const OTHER_LABEL = 'other';

const MAX_LABEL_LENGTH = 64;

/**
 * Caps the distinct values one metric label takes. Operation names and first-party client names are
 * chosen by callers: unbounded, a script sending random names would grow the registry (and every scrape)
 * without limit. The first `capacity` values seen are kept; later ones, and over-long ones, are `other`.
 */
export class BoundedLabels {
  private readonly seen = new Set<string>();

  constructor(private readonly capacity: number) {}

  of(value: string): string {
    if (this.seen.has(value)) return value;
    if (value.length > MAX_LABEL_LENGTH || this.seen.size >= this.capacity) return OTHER_LABEL;
    this.seen.add(value);
    return value;
  }
}
