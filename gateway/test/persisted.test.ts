import { describe, expect, it } from 'vitest';
import { loadGatewayConfig } from '../src/config.js';
import { modeOf } from '../src/edge/persisted.js';

const load = (env: Record<string, string>) =>
  loadGatewayConfig({ SERVICE_CREDENTIALS: 'development', ...env });

describe('SAFELIST_CLIENTS', () => {
  it('reads client:mode pairs, case-insensitively on the client name', () => {
    const config = load({ SAFELIST_CLIENTS: 'web:audit, iOS:enforce,admin-console:off' });
    expect([...config.SAFELIST_CLIENTS]).toEqual([
      ['web', 'audit'],
      ['ios', 'enforce'],
      ['admin-console', 'off'],
    ]);
    expect(config.SAFELIST_DEFAULT_MODE).toBe('off');
  });

  it('refuses a mode it does not know, rather than silently leaving the client unguarded', () => {
    expect(() => load({ SAFELIST_CLIENTS: 'web:enforced' })).toThrow(/SAFELIST_CLIENTS/);
    expect(() => load({ SAFELIST_CLIENTS: 'web' })).toThrow(/SAFELIST_CLIENTS/);
    expect(() => load({ SAFELIST_DEFAULT_MODE: 'strict' })).toThrow(/SAFELIST_DEFAULT_MODE/);
  });
});

describe(modeOf.name, () => {
  const policy = { clients: new Map([['web', 'audit' as const]]), defaultMode: 'off' as const };

  it('enforces every partner, whatever the first-party settings say', () => {
    expect(modeOf({ kind: 'partner', name: 'web', tier: 'gold', apiKeyId: 'k' }, policy)).toBe('enforce');
  });

  it('gives a listed first-party app its mode and everyone else the default', () => {
    expect(modeOf({ kind: 'first-party', name: 'web', tier: 'default' }, policy)).toBe('audit');
    expect(modeOf({ kind: 'first-party', name: 'kiosk', tier: 'default' }, policy)).toBe('off');
    expect(
      modeOf(
        { kind: 'anonymous', name: 'anonymous', tier: 'default' },
        { ...policy, defaultMode: 'enforce' },
      ),
    ).toBe('enforce');
  });
});
