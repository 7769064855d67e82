import { describe, expect, it } from 'vitest';
import { required } from '../src/rows.js';

describe('required', () => {
  it('passes a loaded row through', async () => {
    const row = { id: 'a' };
    await expect(required(Promise.resolve(row), 'service')).resolves.toBe(row);
  });

  it('keeps falsy values that are not missing', async () => {
    await expect(required(Promise.resolve(0), 'count')).resolves.toBe(0);
    await expect(required('', 'name')).resolves.toBe('');
  });

  it('fails the field when a row the database guarantees is missing', async () => {
    await expect(required(Promise.resolve(null), "booking's service")).rejects.toThrow(
      "booking's service is missing",
    );
    await expect(required(undefined, "shift's site")).rejects.toThrow("shift's site is missing");
  });
});
