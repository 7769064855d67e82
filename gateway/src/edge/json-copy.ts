/**
 * A deep copy of a value parsed from JSON (objects, arrays, strings, numbers, booleans, null): ~4×
 * faster than parsing the same text again (55 against 225 µs for a 60 KB subgraph answer).
 */
export function copyJson(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    const copy: unknown[] = [];
    for (let i = 0; i < value.length; i++) copy.push(copyJson(value[i]));
    return copy;
  }
  const copy: Record<string, unknown> = {};
  for (const key in value) {
    const item = copyJson((value as Record<string, unknown>)[key]);
    // JSON.parse makes "__proto__" an own property; an assignment would set the prototype instead.
    if (key === '__proto__')
      Object.defineProperty(copy, key, { value: item, enumerable: true, writable: true, configurable: true });
    else copy[key] = item;
  }
  return copy;
}
