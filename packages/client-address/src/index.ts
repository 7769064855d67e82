import ipaddr from 'ipaddr.js';

/** An IPv6 subscriber usually holds a whole /64: counting single addresses would give them 2^64 tries. */
export const IPV6_PREFIX_BITS = 64;

/** The key of attempts whose address we were not told (a direct service call): one shared bucket. */
export const UNKNOWN_CLIENT = 'unknown';

/**
 * The network a client address is counted under (auth's lockout and throttles, the gateway's rate limits): an IPv4 address
 * as is (IPv4-mapped IPv6 included), an IPv6 address as its /64 (`2001:db8:1:2::/64`). Anything
 * that is not an address (or no address at all) falls into one `unknown` bucket rather than escaping
 * the count.
 */
export function clientKey(address: string | undefined): string {
  if (!address) return UNKNOWN_CLIENT;
  // Zone ids (`fe80::1%eth0`) are local to the host and not part of the address.
  const bare = address.trim().replace(/%.*$/, '');
  if (!ipaddr.isValid(bare)) return UNKNOWN_CLIENT;
  const parsed = ipaddr.process(bare);
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const parts = (parsed as ipaddr.IPv6).parts.slice(0, IPV6_PREFIX_BITS / 16);
  const prefix = new ipaddr.IPv6([...parts, 0, 0, 0, 0]);
  return `${prefix.toString()}/${IPV6_PREFIX_BITS}`;
}
