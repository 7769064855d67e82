/** Headers that carry trust and identity between our services. Lower case, as Node exposes them. */
export const HEADER = {
  service: 'x-carwash-service',
  timestamp: 'x-carwash-timestamp',
  /** A fresh random value per signed request, remembered by the receiver so a request is accepted once. */
  nonce: 'x-carwash-nonce',
  signature: 'x-carwash-signature',
  requestId: 'x-request-id',
  clientIp: 'x-carwash-client-ip',
  authorization: 'authorization',
} as const;
