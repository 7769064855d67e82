import { describe, expect, it } from 'vitest';
import { clientKey, UNKNOWN_CLIENT } from '../src/index.js';

describe(clientKey.name, () => {
  it('keeps an IPv4 address as it is', () => {
    expect(clientKey('203.0.113.7')).toBe('203.0.113.7');
  });

  it('counts an IPv4-mapped IPv6 address as the IPv4 address', () => {
    expect(clientKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
  });

  it('counts every address of one IPv6 /64 as one client, so rotating the interface id gains nothing', () => {
    const a = clientKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd');
    const b = clientKey('2001:0db8:0001:0002:0000:0000:0000:0001');
    expect(a).toBe('2001:db8:1:2::/64');
    expect(b).toBe(a);
  });

  it('keeps two different IPv6 /64s apart', () => {
    expect(clientKey('2001:db8:1:2::1')).not.toBe(clientKey('2001:db8:1:3::1'));
  });

  it('drops an IPv6 zone id', () => {
    expect(clientKey('fe80::1%eth0')).toBe('fe80::/64');
  });

  it('puts a missing or malformed address into one shared bucket instead of letting it escape the count', () => {
    expect(clientKey(undefined)).toBe(UNKNOWN_CLIENT);
    expect(clientKey('')).toBe(UNKNOWN_CLIENT);
    expect(clientKey('not-an-address')).toBe(UNKNOWN_CLIENT);
  });
});
