import { describe, expect, it } from 'vitest';
import { loadAuthConfig } from '../src/config.js';

describe(loadAuthConfig.name, () => {
  it('keeps the development mailbox off unless asked for', () => {
    expect(loadAuthConfig({ SERVICE_CREDENTIALS: 'development' }).AUTH_DEV_MAILBOX).toBe(false);
    expect(
      loadAuthConfig({ SERVICE_CREDENTIALS: 'development', AUTH_DEV_MAILBOX: 'true' }).AUTH_DEV_MAILBOX,
    ).toBe(true);
  });

  it('refuses to start in production with the development mailbox, which would serve everyone their reset links', () => {
    expect(() => loadAuthConfig({ AUTH_DEV_MAILBOX: 'true', NODE_ENV: 'production' })).toThrow(
      /AUTH_DEV_MAILBOX: .* must not be enabled in production/,
    );
  });
});
