import { describe, expect, it } from 'vitest';
import { loadGatewayConfig } from '../src/config.js';

const proxies = (TRUSTED_PROXIES?: string) =>
  loadGatewayConfig({ SERVICE_CREDENTIALS: 'development', TRUSTED_PROXIES }).TRUSTED_PROXIES;

describe('TRUSTED_PROXIES', () => {
  it("trusts only loopback by default (Express's `loopback` preset)", () => {
    expect(proxies()).toEqual(['loopback']);
  });

  it('reads a comma list of CIDRs, addresses and presets', () => {
    expect(proxies('10.0.0.0/8, 2001:db8::/32,192.0.2.1, uniquelocal')).toEqual([
      '10.0.0.0/8',
      '2001:db8::/32',
      '192.0.2.1',
      'uniquelocal',
    ]);
  });

  it('reads a hop count, and `none` to trust no proxy at all', () => {
    expect(proxies('2')).toBe(2);
    expect(proxies('none')).toBe(false);
  });

  it('refuses a setting it would misread instead of silently trusting nobody (or everybody)', () => {
    expect(() => proxies('10.0.0.0/33')).toThrow(/TRUSTED_PROXIES.*not understood: 10\.0\.0\.0\/33/s);
    expect(() => proxies('loopbak')).toThrow(/not understood: loopbak/);
    expect(() => proxies('true')).toThrow(/TRUSTED_PROXIES/);
    expect(() => proxies('1000')).toThrow(/hop count must be at most/);
  });
});
