/**
 * Where the auth feature announces a revoked partner API key (the message is the key's id), so every gateway
 * replica drops its cached verdict at once instead of at the end of its cache TTL. Under the bus namespace,
 * like the token revocations (`revocation.ts`). An announcement lost while a subscriber reconnects is covered
 * by the TTL (and a subscriber that reconnects forgets every verdict).
 */
export function apiKeyRevocationChannel(namespace: string): string {
  return `${namespace}:api-key:revoked`;
}
