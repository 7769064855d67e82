/**
 * Every error code a client can receive, from the gateway or any subgraph, with its HTTP status and a
 * one-line meaning. Anything not listed here is masked as INTERNAL_SERVER_ERROR before it leaves a service.
 * Frontend teams and partners switch on `extensions.code`, never on the message.
 */
export const ERROR_CATALOGUE = {
  // Generic
  BAD_USER_INPUT: {
    status: 400,
    message: 'The input is invalid.',
    description: 'An argument or input field failed validation; `extensions.field` names it.',
  },
  BAD_REQUEST: {
    status: 400,
    message: 'The request is malformed.',
    description: 'The HTTP request could not be understood as GraphQL.',
  },
  GRAPHQL_PARSE_FAILED: {
    status: 400,
    message: 'The query could not be parsed.',
    description: 'The GraphQL document has a syntax error.',
  },
  GRAPHQL_VALIDATION_FAILED: {
    status: 400,
    message: 'The query is not valid against the schema.',
    description: 'The document asks for fields or types that do not exist, or misuses them.',
  },
  OPERATION_RESOLUTION_FAILURE: {
    status: 400,
    message: 'The operation could not be determined.',
    description: 'Several operations were sent and `operationName` does not pick one.',
  },
  PERSISTED_QUERY_NOT_FOUND: {
    status: 200,
    message: 'Persisted query not found.',
    description: 'The hash is unknown; send the full query once (APQ).',
  },
  PERSISTED_QUERY_NOT_SUPPORTED: {
    status: 400,
    message: 'Persisted queries are not supported here.',
    description: 'This endpoint does not accept persisted queries.',
  },
  // Edge: persisted queries and API keys (gateway)
  PERSISTED_QUERY_NOT_IN_LIST: {
    status: 403,
    message: 'This operation is not in the trusted documents of this client.',
    description:
      'The client (a partner key, or a first-party app in enforce mode) may run only operations of its manifest, sent by id.',
  },
  API_KEY_INVALID: {
    status: 401,
    message: 'The API key is unknown or revoked.',
    description: 'The `x-api-key` header names no live key; ask the operator for a new one.',
  },
  PAYLOAD_TOO_LARGE: {
    status: 413,
    message: 'The request body is too large.',
    description: 'The body exceeds the configured limit (`extensions.limitBytes`).',
  },
  NOT_FOUND: {
    status: 200,
    message: 'Not found.',
    description: 'The object does not exist, or is not visible to the caller.',
  },
  UNAUTHENTICATED: {
    status: 401,
    message: 'Authentication is required.',
    description: 'No valid access token: missing, malformed, tampered with or expired.',
  },
  FORBIDDEN: {
    status: 403,
    message: 'Not allowed.',
    description: 'The caller is signed in but may not do or read this.',
  },
  RATE_LIMITED: {
    status: 429,
    message: 'Too many requests; slow down and retry later.',
    description:
      'The caller (API key, user or client address) used up its points for the window; retry after the `Retry-After` header (`extensions.retryAfterSeconds`).',
  },
  INTERNAL_SERVER_ERROR: {
    status: 500,
    message: 'Internal server error.',
    description: 'Something failed on our side; `extensions.requestId` identifies it in the logs.',
  },
  SERVICE_UNAVAILABLE: {
    status: 503,
    message: 'A service is unavailable.',
    description:
      'A subgraph or dependency (its database included) did not answer or dropped the connection; retry later, after `extensions.retryAfterSeconds` when given.',
  },
  SUBGRAPH_UNAVAILABLE: {
    status: 200,
    message: 'Part of this response is unavailable; retry later.',
    description:
      'The subgraph named in `extensions.subgraph` could not be reached or failed: its fields are null, the rest of the response is served.',
  },
  SUBGRAPH_TIMEOUT: {
    status: 200,
    message: 'Part of this response took too long; retry later.',
    description:
      'The subgraph named in `extensions.subgraph` did not answer within its timeout: its fields are null, the rest of the response is served.',
  },

  // Gateway edge: requests refused before any subgraph is called
  QUERY_TOO_LARGE: {
    status: 400,
    message: 'The query is too large.',
    description:
      'Too many tokens, or too many fields once its fragments are expanded (e.g. fragment doubling): shorten it.',
  },
  QUERY_TOO_DEEP: {
    status: 400,
    message: 'The query is nested too deeply.',
    description: 'Its selections (or brackets) nest deeper than the gateway allows.',
  },
  QUERY_TOO_MANY_ALIASES: {
    status: 400,
    message: 'The query uses too many aliases.',
    description: 'Aliases multiply work per request; split it into several requests.',
  },
  QUERY_TOO_MANY_ROOT_FIELDS: {
    status: 400,
    message: 'The query asks for too many root fields.',
    description: 'An operation may select only a few top-level fields (fragments counted).',
  },
  QUERY_TOO_MANY_DIRECTIVES: {
    status: 400,
    message: 'The query uses too many directives.',
    description: 'Directives beyond the limit are refused before validation.',
  },
  QUERY_TOO_COSTLY: {
    status: 400,
    message: 'The query is too expensive.',
    description: 'Its estimated cost (objects, scalars, weighted by depth) exceeds the limit.',
  },
  OPERATION_NOT_SUPPORTED: {
    status: 400,
    message: 'This kind of operation is not supported here.',
    description: 'Subscriptions over plain HTTP and batched operations (a JSON array) are refused.',
  },
  INTROSPECTION_DISABLED: {
    status: 403,
    message: 'Introspection is not available to this caller.',
    description: 'In production only admins may introspect the schema (Sandbox works after logging in).',
  },
  METHOD_NOT_ALLOWED: {
    status: 405,
    message: 'This HTTP method is not allowed here.',
    description: 'GraphQL is served over GET and POST only (`Allow` lists them).',
  },
  NOT_ACCEPTABLE: {
    status: 406,
    message: 'No acceptable response type.',
    description:
      'The `Accept` header allows neither `application/graphql-response+json` nor `application/json`.',
  },
  REQUEST_TIMEOUT: {
    status: 408,
    message: 'The request took too long to arrive.',
    description: 'Its headers or body were not received in time.',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    message: 'Unsupported content type.',
    description: 'POST bodies must be `application/json`.',
  },
  REQUEST_HEADER_FIELDS_TOO_LARGE: {
    status: 431,
    message: 'The request headers are too large.',
    description: 'Headers (cookies, tokens) exceed the server limit.',
  },

  // Service-to-service trust (subgraphs accept only signed calls from the gateway or a sibling service)
  SERVICE_CREDENTIAL_MISSING: {
    status: 401,
    message: 'Service credential missing.',
    description: 'Subgraphs only answer the gateway or our own services.',
  },
  SERVICE_CREDENTIAL_INVALID: {
    status: 401,
    message: 'Service credential invalid.',
    description: 'The request signature does not match its content or key.',
  },
  SERVICE_CREDENTIAL_EXPIRED: {
    status: 401,
    message: 'Service credential expired.',
    description: 'The signed timestamp is outside the accepted window.',
  },
  SERVICE_CREDENTIAL_REPLAYED: {
    status: 401,
    message: 'Service credential already used.',
    description: 'A signed request is accepted once; this nonce was seen before (a replay).',
  },
  SERVICE_ACCESS_DENIED: {
    status: 403,
    message: 'This service may not read that.',
    description: 'A sibling service asked for a field outside its allow-list for this subgraph.',
  },

  // Auth feature
  AUTH_INVALID_CREDENTIALS: {
    status: 200,
    message: 'Email or password is incorrect.',
    description: 'Login or password change failed; it does not say which part was wrong.',
  },
  AUTH_LOCKED: {
    status: 200,
    message: 'Too many failed attempts; try again later.',
    description:
      'Further login attempts are refused until the window passes (`extensions.retryAfterSeconds`).',
  },
  AUTH_EMAIL_TAKEN: {
    status: 200,
    message: 'This email is already registered.',
    description: 'Sign-up with an email that exists (compared case-insensitively).',
  },
  AUTH_INVALID_REFRESH_TOKEN: {
    status: 200,
    message: 'The refresh token is invalid or expired.',
    description: 'Unknown, expired or revoked refresh token: sign in again.',
  },
  AUTH_RECOVERY_TOKEN_INVALID: {
    status: 200,
    message: 'This link is invalid, already used or expired.',
    description:
      'An email-verification or password-reset token that is unknown, used, superseded or past its expiry: ask for a new mail.',
  },
  AUTH_RECOVERY_THROTTLED: {
    status: 200,
    message: 'Too many requests; try again later.',
    description:
      'Recovery mails are limited per email and per client address (`extensions.retryAfterSeconds`).',
  },
  AUTH_REFRESH_TOKEN_REUSED: {
    status: 200,
    message: 'The refresh token was already used; the session has been ended.',
    description: 'A rotated refresh token came back: the whole session family is revoked.',
  },

  // Location feature
  LOCATION_SHIFT_OVERLAP: {
    status: 200,
    message: 'This person already has a shift at that time.',
    description: 'A staff member cannot hold two overlapping shifts (at any site).',
  },
  LOCATION_SITE_CLOSED: {
    status: 200,
    message: 'The site is closed.',
    description: 'The site was closed for good; it takes no new staff or hours.',
  },

  // Booking feature
  BOOKING_SLOT_TAKEN: {
    status: 200,
    message: 'That time is no longer available.',
    description: 'Every bay is taken for that start time; pick another slot.',
  },
  BOOKING_WASHER_BUSY: {
    status: 200,
    message: 'The washer already has a job at that time.',
    description: 'A washer cannot be in two live bookings at once.',
  },
  BOOKING_WASHER_NOT_ASSIGNED: {
    status: 200,
    message: 'The washer is not on shift at that site and time.',
    description: 'Washers are booked only within their shifts at the site.',
  },
  BOOKING_OUTSIDE_OPENING_HOURS: {
    status: 200,
    message: 'The site is not open for the whole wash.',
    description: 'The wash must start and end inside one opening window of the site.',
  },
  BOOKING_SITE_UNAVAILABLE: {
    status: 200,
    message: 'The site takes no bookings.',
    description: 'The site does not exist or is closed for good.',
  },
  BOOKING_SERVICE_UNAVAILABLE: {
    status: 200,
    message: 'The service is not available.',
    description: 'The service does not exist, is inactive, or cannot be booked that way.',
  },
  BOOKING_ILLEGAL_TRANSITION: {
    status: 200,
    message: 'The booking cannot change to that status.',
    description: 'E.g. completed → confirmed; `extensions.from` and `extensions.to` say which.',
  },
  BOOKING_HOLD_EXPIRED: {
    status: 200,
    message: 'The hold has lapsed.',
    description: 'Holds last a few minutes while the client pays; book again.',
  },
  BOOKING_PAYMENT_REQUIRED: {
    status: 200,
    message: 'Only payment confirms your hold.',
    description:
      "A hold becomes CONFIRMED when its payment is captured; staff confirm others' bookings (e.g. paid at the site) with a reason.",
  },
  BOOKING_HOLD_LIMIT_REACHED: {
    status: 200,
    message: 'You already hold as many unpaid bookings as allowed.',
    description:
      'A customer has at most BOOKING_MAX_LIVE_HOLDS unpaid, unexpired holds; pay for or cancel one before holding another.',
  },
  BOOKING_CANCELLATION_TOO_LATE: {
    status: 200,
    message: 'It is too late to cancel this booking yourself.',
    description: 'Clients cancel up to the cutoff before the start; managers any time.',
  },

  // Payment feature
  PAYMENT_ALREADY_PAID: {
    status: 200,
    message: 'This booking is already paid.',
    description:
      'The booking already has a live charge (captured, or still being processed); one booking is charged once.',
  },
  PAYMENT_IDEMPOTENCY_MISMATCH: {
    status: 200,
    message: 'This idempotency key was used with different parameters.',
    description: 'Reuse a key only to retry the very same request; use a new key for a new one.',
  },
  PAYMENT_IN_PROGRESS: {
    status: 200,
    message: 'A request with this idempotency key is still being processed.',
    description: 'Retry with the same key shortly to get its result.',
  },
  PAYMENT_DECLINED: {
    status: 200,
    message: 'The card was declined.',
    description: 'The provider refused the charge; try another payment method.',
  },
  PAYMENT_INSUFFICIENT_FUNDS: {
    status: 200,
    message: 'The card has insufficient funds.',
    description: 'The provider refused the charge for lack of funds.',
  },
  PAYMENT_PROVIDER_ERROR: {
    status: 200,
    message: 'The payment provider failed; nothing was charged.',
    description: 'A provider outage; retry later with the same idempotency key.',
  },
  PAYMENT_BOOKING_NOT_PAYABLE: {
    status: 200,
    message: 'This booking cannot be paid.',
    description:
      'The booking is unknown, not yours, no longer held (confirmed, cancelled) or its hold lapsed.',
  },
  PAYMENT_METHOD_UNUSABLE: {
    status: 200,
    message: 'This payment method cannot be used.',
    description: 'The method is unknown, removed, expired or belongs to someone else.',
  },
  PAYMENT_REFUND_EXCEEDS_CAPTURED: {
    status: 200,
    message: 'The refund exceeds what is left of the charge.',
    description: 'Refunds together never exceed the captured amount.',
  },
  PAYMENT_NOT_REFUNDABLE: {
    status: 200,
    message: 'This transaction cannot be refunded.',
    description: 'Only captured (or partially refunded) charges can be refunded.',
  },
} as const satisfies Record<string, { status: number; message: string; description: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CATALOGUE, code);
}
