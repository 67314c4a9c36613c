/**
 * The error catalogue: every code Switchboard's own API answers, with its HTTP status and what it
 * means. Code raises errors by naming a code here (`appError`, `prefixedError`, `sendError` in
 * errors.ts take the status from this list, and a misspelt code does not type-check); the gateway's
 * OpenAPI document refuses a code or status this list does not have; the README's error table is
 * generated from it (`node scripts/error-table.ts --write`, checked by test/error-codes.test.ts).
 *
 * Pure data: no imports, so scripts and the browser-free tooling can read it cheaply. The
 * provider emulators answer in their providers' own shapes and are not listed here.
 */

export interface ErrorSpec {
  readonly status: number
  /** What it means and what to do: the README table's words (the answer's message is more specific). */
  readonly meaning: string
}

/** The prefixes of the codes: the gateway's own, then each service's (SERVICES[name].codePrefix). */
export const CODE_PREFIXES = ['GATEWAY', 'EMAIL', 'WHATSAPP', 'PAYMENTS', 'VOICE', 'ZOOM'] as const
export type CodePrefix = typeof CODE_PREFIXES[number]

/**
 * Reasons every app may answer, each under its own prefix: `<PREFIX>_<REASON>`, e.g.
 * EMAIL_INVALID_REQUEST. Provider and webhook reasons are answered by the five services only.
 */
export const PREFIXED_ERRORS = {
  INVALID_REQUEST: { status: 400, meaning: 'A field is missing or invalid; `message` and `details` name it.' },
  INVALID_JSON: { status: 400, meaning: 'The body is not valid JSON.' },
  BAD_REQUEST: { status: 400, meaning: 'The request is malformed (a URL that does not decode, a bad Content-Length or chunked encoding).' },
  UNAUTHORIZED: { status: 401, meaning: 'The bearer token is missing or not accepted here (a service takes calls through the gateway, or the admin token).' },
  WEBHOOK_UNAUTHORIZED: { status: 401, meaning: 'A webhook without a valid signature, token or source address; nothing changed.' },
  WEBHOOK_INVALID_BODY: { status: 400, meaning: 'A verified webhook whose body is not the provider\'s shape.' },
  ROUTE_NOT_FOUND: { status: 404, meaning: 'No such route; the OpenAPI document lists them.' },
  PROVIDER_NOT_FOUND: { status: 404, meaning: 'The provider does not know that id.' },
  REQUEST_TIMEOUT: { status: 408, meaning: 'The request was not received in full in time; the connection is closed. Send it again.' },
  IDEMPOTENCY_KEY_IN_USE: { status: 409, meaning: 'A request with this Idempotency-Key is still running; retry to get its answer.' },
  PAYLOAD_TOO_LARGE: { status: 413, meaning: 'The body is larger than the route accepts.' },
  URI_TOO_LONG: { status: 414, meaning: 'The URL (or a path parameter) is too long.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, meaning: 'The body\'s content type is not the one the route takes.' },
  HEADERS_TOO_LARGE: { status: 431, meaning: 'The request\'s headers are larger than the server takes (16 KB); the connection is closed.' },
  PROVIDER_REJECTED: { status: 422, meaning: 'The provider refused the request; `details` has its answer.' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, meaning: 'The Idempotency-Key was already used with a different request.' },
  RATE_LIMITED: { status: 429, meaning: 'Too many requests; retry after `Retry-After` seconds.' },
  AUTH_RATE_LIMITED: { status: 429, meaning: 'Too many failed attempts from this address; retry after `Retry-After` seconds.' },
  PROVIDER_RATE_LIMITED: { status: 429, meaning: 'The provider is rate limiting us; retry after `Retry-After` seconds.' },
  INTERNAL_ERROR: { status: 500, meaning: 'A bug on our side; the logs have it under the request id.' },
  PROVIDER_ERROR: { status: 502, meaning: 'The provider failed (a 5xx); retry later.' },
  PROVIDER_AUTH_FAILED: { status: 502, meaning: 'The provider refused our credentials; check them.' },
  BUSY: { status: 503, meaning: 'The server is reading as many request bodies as it takes at once (BODY_BYTES_IN_FLIGHT); retry.' },
  SHUTTING_DOWN: { status: 503, meaning: 'The server is shutting down; retry in a moment.' },
  DATABASE_UNAVAILABLE: { status: 503, meaning: 'The database is unreachable; retry after `Retry-After` seconds.' },
  WRITE_QUEUE_FULL: { status: 503, meaning: 'The activity log\'s write queue is full; retry after `Retry-After` seconds.' },
  STORAGE_UNAVAILABLE: { status: 503, meaning: 'The activity log cannot store the record; retry after `Retry-After` seconds.' },
  IDEMPOTENCY_UNAVAILABLE: { status: 503, meaning: 'The Idempotency-Key could not be checked (database down); nothing was done.' },
  PROVIDER_UNREACHABLE: { status: 503, meaning: 'The provider could not be reached; check the network and its base URL.' },
  PROVIDER_TIMEOUT: { status: 504, meaning: 'The provider did not answer in time; retry later.' }
} as const satisfies Record<string, ErrorSpec>
export type PrefixedReason = keyof typeof PREFIXED_ERRORS

/** Codes one app answers: the gateway's, the admin routes', each service's. */
export const ERRORS = {
  PROVIDER_NOT_CONFIGURED: { status: 503, meaning: 'The service is in live mode but its provider\'s credentials are not set; `details.missing` names them.' },

  GATEWAY_UPSTREAM_ERROR: { status: 502, meaning: 'The service behind the gateway answered something unusable.' },
  GATEWAY_UPSTREAM_UNAVAILABLE: { status: 503, meaning: 'The service behind the gateway is not reachable.' },
  GATEWAY_UPSTREAM_TIMEOUT: { status: 504, meaning: 'The service behind the gateway did not answer in time.' },

  ADMIN_INVALID_REQUEST: { status: 400, meaning: 'An admin request with an invalid field.' },
  ADMIN_SERVICE_NOT_FOUND: { status: 404, meaning: 'No service by that name behind the gateway.' },
  ADMIN_ROW_NOT_FOUND: { status: 404, meaning: 'No activity row with that id (a reset may have cleared it).' },
  ADMIN_INVALID_CURSOR: { status: 400, meaning: 'An activity page cursor that this gateway did not hand out; start again without it.' },
  ADMIN_INVALID_TIME_RANGE: { status: 400, meaning: 'A time filter whose `until` is before its `since`: nothing could match.' },
  ADMIN_ENDPOINT_SECRET_INVALID: { status: 400, meaning: 'An event endpoint secret that is not a Standard Webhooks `whsec_` key.' },
  ADMIN_ENDPOINT_NOT_FOUND: { status: 404, meaning: 'No event endpoint with that id.' },
  ADMIN_ENDPOINT_NOT_ALLOWED: { status: 422, meaning: 'An event endpoint URL outside loopback and `WEBHOOK_ALLOWED_HOSTS`.' },
  ADMIN_SCENARIO_NOT_FOUND: { status: 404, meaning: 'No example scenario by that name.' },
  ADMIN_DATASET_NOT_FOUND: { status: 404, meaning: 'No data set by that name.' },
  ADMIN_DATASET_LOADING: { status: 409, meaning: 'A data set is being loaded already; wait for it to finish.' },
  ADMIN_CREDENTIALS_MISSING: { status: 422, meaning: 'Live mode asked for, but the provider\'s credentials are not set.' },
  ADMIN_FALLBACK_NOT_ALLOWED: { status: 422, meaning: 'Fallback to mock mode asked for a service that never falls back.' },

  EMAIL_NOT_FOUND: { status: 404, meaning: 'No email with that id.' },
  EMAIL_BATCH_NOT_FOUND: { status: 404, meaning: 'No bulk send with that batch id.' },

  WHATSAPP_INVALID_NUMBER: { status: 400, meaning: 'Not a phone number WhatsApp can reach.' },
  WHATSAPP_UNKNOWN_TEMPLATE: { status: 400, meaning: 'No template by that name.' },
  WHATSAPP_TEMPLATE_PARAMS_MISMATCH: { status: 400, meaning: 'The params do not match the template\'s count.' },
  WHATSAPP_MESSAGE_NOT_FOUND: { status: 404, meaning: 'No message with that id.' },
  WHATSAPP_BATCH_NOT_FOUND: { status: 404, meaning: 'No bulk send with that batch id.' },
  WHATSAPP_CAMPAIGN_NOT_FOUND: { status: 404, meaning: 'No campaign with that id.' },
  WHATSAPP_MOCK_ONLY: { status: 409, meaning: 'A mock-mode utility called in live mode.' },
  WHATSAPP_NO_WEBHOOK: { status: 409, meaning: 'The emulated project has no webhook, so an inbound message would go nowhere.' },

  PAYMENTS_LINK_NOT_FOUND: { status: 404, meaning: 'No payment link with that id.' },
  PAYMENTS_ALREADY_PAID: { status: 409, meaning: 'The link is already paid.' },
  PAYMENTS_LINK_NOT_CREATED: { status: 409, meaning: 'The link was never created at Instamojo.' },
  PAYMENTS_SIMULATION_LIVE_MODE: { status: 409, meaning: 'A simulated payment asked for while payments is in live mode.' },
  PAYMENTS_NO_CONTACT: { status: 422, meaning: 'The link has neither an email nor a phone number to resend to.' },
  PAYMENTS_RESEND_FAILED: { status: 502, meaning: 'The link could not be resent on any channel.' },

  VOICE_SCRIPT_NOT_FOUND: { status: 404, meaning: 'No call script by that id.' },
  VOICE_CALL_NOT_FOUND: { status: 404, meaning: 'No call with that id.' },
  VOICE_BATCH_NOT_FOUND: { status: 404, meaning: 'No bulk call batch with that id.' },
  VOICE_CAMPAIGN_NOT_FOUND: { status: 404, meaning: 'No campaign with that id.' },
  VOICE_CALL_NOT_STOPPABLE: { status: 409, meaning: 'The call has already ended, or Bolna can no longer stop it.' },

  ZOOM_MOCK_ONLY: { status: 409, meaning: 'A mock-mode utility called in live mode, where it would act on real meetings.' }
} as const satisfies Record<string, ErrorSpec>

/** A code of the catalogue: one app's own, or a shared reason under a prefix. */
export type ErrorCode = keyof typeof ERRORS | `${CodePrefix}_${PrefixedReason}`

/** The catalogue's entry for `code`, or undefined when the catalogue does not list it. */
export function errorSpec (code: string): ErrorSpec | undefined {
  if (Object.hasOwn(ERRORS, code)) return ERRORS[code as keyof typeof ERRORS]
  for (const prefix of CODE_PREFIXES) {
    if (!code.startsWith(`${prefix}_`)) continue
    const reason = code.slice(prefix.length + 1)
    if (Object.hasOwn(PREFIXED_ERRORS, reason)) return PREFIXED_ERRORS[reason as PrefixedReason]
  }
  return undefined
}

/** The HTTP status of a catalogued code. */
export function statusOf (code: ErrorCode): number {
  return errorSpec(code)!.status
}

/** The README's error table (markdown), generated from the catalogue. */
export function errorTableMarkdown (): string {
  const row = (code: string, spec: ErrorSpec) => `| \`${code}\` | ${spec.status} | ${spec.meaning} |`
  const byStatus = <T extends ErrorSpec>(entries: Array<[string, T]>) => entries.sort((a, b) => a[1].status - b[1].status || a[0].localeCompare(b[0]))
  return [
    `Every error answer is \`{statusCode, code, error, message, requestId, details?}\`. Codes shared by every app carry its prefix (${CODE_PREFIXES.map(p => `\`${p}\``).join(', ')}):`,
    '',
    '| Code | Status | Meaning |',
    '| --- | --- | --- |',
    ...byStatus(Object.entries(PREFIXED_ERRORS)).map(([reason, spec]) => row(`<PREFIX>_${reason}`, spec)),
    '',
    'Codes of one app:',
    '',
    '| Code | Status | Meaning |',
    '| --- | --- | --- |',
    ...Object.entries(ERRORS).map(([code, spec]) => row(code, spec))
  ].join('\n')
}
