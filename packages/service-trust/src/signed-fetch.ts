import { HEADER } from './headers.js';
import { signRequest, type ServiceCredential } from './signature.js';

type Fetch = typeof fetch;

/**
 * A `fetch` that signs every request it sends as `credential.service`, for the one subgraph
 * `audience`. Used by the gateway towards each subgraph and by a feature calling another feature's
 * API. It signs the exact body bytes it sends, so the signature matches whatever serialisation the
 * caller chose, and it signs on every call: a retry is a new send with a fresh nonce and timestamp.
 */
export function signedFetch(credential: ServiceCredential, audience: string, base: Fetch = fetch): Fetch {
  return async (input, init = {}) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const headers = new Headers(init.headers);
    const body = typeof init.body === 'string' ? init.body : init.body == null ? '' : undefined;
    if (body === undefined) throw new TypeError('signedFetch only signs string bodies');
    const signed = signRequest(credential, audience, {
      method: init.method ?? 'GET',
      path: url.pathname + url.search,
      body,
      authorization: headers.get(HEADER.authorization) ?? undefined,
      clientIp: headers.get(HEADER.clientIp) ?? undefined,
      requestId: headers.get(HEADER.requestId) ?? undefined,
    });
    for (const [k, v] of Object.entries(signed)) headers.set(k, v);
    return base(url, { ...init, headers });
  };
}
