import type { Request } from 'express';

/**
 * Who is calling, as the edge sees it. Every edge policy keys off this one value: persisted-query
 * safelisting (which manifest), rate limits (which bucket and tier), metrics and logs (the `client` label).
 *
 * - `partner`: presented an API key (`x-api-key`) that the auth feature knows; may run only its manifest.
 * - `first-party`: one of our own apps, named by `apollographql-client-name` (Apollo Client sends it).
 * - `anonymous`: neither.
 */
export interface EdgeClient {
  kind: 'partner' | 'first-party' | 'anonymous';
  /** Manifest / metrics name: the API key's `client`, the first-party app name, or `anonymous`. */
  name: string;
  /** The API key's id, when `kind` is `partner`. */
  apiKeyId?: string;
  /** Rate-limit tier: the API key's tier; first-party and anonymous callers use the default tier. */
  tier: string;
}

export const CLIENT_NAME_HEADER = 'apollographql-client-name';
export const API_KEY_HEADER = 'x-api-key';
export const DEFAULT_TIER = 'default';

/** A client name is a label (metrics, logs, a manifest file name): keep it short and plain. */
const CLIENT_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/i;

/** Identifies a caller that presented no API key (first-party app or anonymous). */
export function firstPartyClientOf(req: Pick<Request, 'header'>): EdgeClient {
  const name = req.header(CLIENT_NAME_HEADER)?.trim();
  if (name && CLIENT_NAME.test(name))
    return { kind: 'first-party', name: name.toLowerCase(), tier: DEFAULT_TIER };
  return { kind: 'anonymous', name: 'anonymous', tier: DEFAULT_TIER };
}
