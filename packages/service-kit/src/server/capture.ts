/**
 * What was sent, as the provider saw it (issue #22): one hook, on every service's server, records
 * each exchange with its provider emulator (a request and its answer), each post its webhook
 * receivers get (with whether the signature was accepted), and each step of an emulated checkout
 * page, into the activity log's `activity_exchanges` table.
 *
 * - Direct traffic: an emulator request without the internal credential came from a client of its
 *   own (an official SDK, curl), not through Switchboard's API; it is stored with `direct: true`.
 *   The services' own calls carry the credential (provider-client.ts adds it to requests for the
 *   server's own origin).
 * - Secrets: credential headers and secret-named fields are replaced by [REDACTED], and every
 *   string goes through redactSecrets (configured secrets and key shapes) before it is stored.
 * - Size: every string is capped; a cut value ends with a note of how much was cut, and the row is
 *   marked truncated. The emulator's describer (content, recipients) sees the whole body first.
 * - Cost: the row joins the activity log's write queue after the answer was sent (onResponse), and
 *   nobody waits for it: it goes in the same group commit as the rows written meanwhile, with no
 *   round trip of its own.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { newRowId, type ActivityExchangeRow } from '@switchboard/activity-log'
import { REDACTED, redactText } from './redact.ts'
import { maskUrlSecrets } from '../outbound/url-secrets.ts'
import { SCENARIO_RULE_HEADER } from '../emulator/scenarios.ts'

export type Channel = ActivityExchangeRow['channel']
export type ExchangeKind = ActivityExchangeRow['kind']

/** One exchange as the describer sees it: bodies whole (parsed when JSON or a form), secrets still in. */
export interface SeenExchange {
  kind: ExchangeKind
  method: string
  /** Path below the emulator prefix (or the receiver's path), without the query. */
  path: string
  query: Record<string, unknown>
  requestHeaders: Record<string, unknown>
  requestBody: unknown
  statusCode: number
  responseHeaders: Record<string, unknown>
  responseBody: unknown
}

/** What an emulator knows about one of its exchanges. Every field is optional. */
export interface ExchangeDescription {
  /** What was sent, in a form a person reads (per channel; see the Inspect API). */
  content?: Record<string, unknown>
  /** Recipients: email addresses or phone numbers. */
  contacts?: string[]
  /** The provider's id for what was created (message id, execution id, payment request id). */
  providerId?: string
  /** More ids to tie the exchange to log rows (besides those found in the bodies). */
  refs?: string[]
  summary?: string
  /** Webhooks: the event(s) the post carried. */
  event?: string
  /** Overrides the kind (a checkout page's steps). */
  kind?: ExchangeKind
  /** Leave this exchange out (a favicon, a health probe of the emulator). */
  skip?: boolean
}

export type Describer = (exchange: SeenExchange) => ExchangeDescription | undefined

export interface CaptureOptions {
  channel: Channel
  /** The emulator's mount point (/sendgrid, /aisensy, ...). */
  emulatorPrefix: string
  store: { record: (table: 'activity_exchanges', row: ActivityExchangeRow) => Promise<void> }
  /** Whether the request carried the internal credential (set by the service's guard hook). */
  internal: (request: FastifyRequest) => boolean
  /** Most characters of one string kept. Default 64 KiB. */
  maxString?: number
  /** Most ids kept per exchange. Default 5,000 (a bulk send of 1,000 has about 2,000). */
  maxRefs?: number
  /** Off (ACTIVITY_CAPTURE=false): describers are accepted and nothing is recorded. */
  enabled?: boolean
  /** The time to stamp an exchange with, when not the database's now() (a clock set back: clock.ts clockStamp). */
  stamp?: () => string | undefined
  /**
   * Whether a direct call the emulator refused with 401 or 403 is left out (EMULATOR_AUTH=issued):
   * it is nobody's traffic of this account, as a provider shows no one else's refused calls in an
   * account's dashboard, and another local user could otherwise fill the Activity view with it.
   */
  skipRefused?: boolean
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Adds what this server's emulator knows about its exchanges (content, recipients, ids). */
    describeExchanges: (describer: Describer) => void
  }
}

interface Capture {
  kind: ExchangeKind
  started: number
  payload?: unknown
  /** A control route: recorded only when a scenario decided its answer (a payment completed by a story's step). */
  onlyIfScenario?: boolean
}

const kCapture = Symbol('switchboard.capture')
type Captured = FastifyRequest & { [kCapture]?: Capture }

/** Header names whose values are credentials. Signatures stay: they are what a person checks. */
const SECRET_HEADER = /^(?:authorization|proxy-authorization|cookie|set-cookie|x-switchboard-internal|x-api-key|api-key|x-auth-token)$/i
/** Field names (in bodies, forms and queries) whose values are credentials. */
// A Zoom meeting's passcode comes in four forms (password, its dial-in and room-system digits,
// the encrypted one) and its recording's in one more: all of them, or none is kept from view.
const SECRET_FIELD = /^(?:(?:h323_|pstn_|encrypted_)?password|recording_play_passcode|passwd|secret|client_secret|api_?key|apikey|access_token|refresh_token|id_token|token|auth_token|salt|private_key|authorization)$/i
/** A passcode carried in a URL: Zoom's join link has the meeting's (encrypted) passcode as `pwd`. */
const URL_PASSCODE = /([?&]pwd=)[^&#\s"'<>]+/g
const withoutUrlPasscodes = (text: string) => text.includes('pwd=') ? text.replace(URL_PASSCODE, `$1${REDACTED}`) : text
/** Hop-by-hop and noise headers, not worth a byte. */
const DROPPED_HEADER = /^(?:connection|keep-alive|transfer-encoding|content-length|accept-encoding|host|date)$/i
/** Keys whose values tie an exchange to rows: id, *_id, *Id, sb_log_id. */
const ID_KEY = /(?:^id$|_id$|Id$)/
/** A path segment that looks like an id (a uuid, a provider's id): long enough, with a digit. */
const ID_SEGMENT = /^(?=.*\d)[\w-]{8,100}$/

/** Registers the hook on a service's server. Call once, before the routes. */
export function registerCapture (app: FastifyInstance, opts: CaptureOptions): void {
  const maxString = opts.maxString ?? 64 * 1024
  const maxRefs = opts.maxRefs ?? 5_000
  const describers: Describer[] = []
  app.decorate('describeExchanges', (describer: Describer) => { describers.push(describer) })
  if (opts.enabled === false) return
  const prefix = opts.emulatorPrefix
  const control = `${prefix}/_switchboard`

  app.addHook('onRequest', (request, _reply, done) => {
    const url = request.url
    if (url.startsWith(prefix + '/') && !url.startsWith(control)) (request as Captured)[kCapture] = { kind: 'provider', started: performance.now() }
    else if (url.startsWith(control + '/')) (request as Captured)[kCapture] = { kind: 'provider', started: performance.now(), onlyIfScenario: true }
    else if (url.startsWith('/webhooks/')) (request as Captured)[kCapture] = { kind: 'webhook', started: performance.now() }
    done()
  })

  app.addHook('onSend', (request, _reply, payload, done) => {
    const c = (request as Captured)[kCapture]
    if (c !== undefined) c.payload = payload
    done(null, payload)
  })

  app.addHook('onResponse', (request, reply, done) => {
    const c = (request as Captured)[kCapture]
    const refused = opts.skipRefused === true && c?.kind === 'provider' && (reply.statusCode === 401 || reply.statusCode === 403) && !opts.internal(request)
    if (c !== undefined && !refused && !(c.onlyIfScenario === true && reply.getHeader(SCENARIO_RULE_HEADER) === undefined)) {
      try {
        const row = build(request, reply, c)
        if (row !== undefined) void opts.store.record('activity_exchanges', row).catch(err => request.log.warn({ err }, 'activity capture: not stored'))
      } catch (err) {
        request.log.warn({ err }, 'activity capture: could not describe an exchange')
      }
    }
    done()
  })

  function build (request: FastifyRequest, reply: FastifyReply, c: Capture): ActivityExchangeRow | undefined {
    // A secret in the path (AiSensy's receiver token) never reaches the describer, the ids or the row.
    const [rawPath = '', rawQuery = ''] = maskUrlSecrets(request.url).split('?', 2)
    const path = c.kind === 'provider' ? rawPath.slice(prefix.length) : rawPath
    const responseHeaders = reply.getHeaders() as Record<string, unknown>
    const seen: SeenExchange = {
      kind: c.kind,
      method: request.method,
      path,
      query: Object.fromEntries(new URLSearchParams(rawQuery)),
      requestHeaders: request.headers as Record<string, unknown>,
      requestBody: parseBody(request.body, String(request.headers['content-type'] ?? '')),
      statusCode: reply.statusCode,
      responseHeaders,
      responseBody: parseBody(c.payload, String(responseHeaders['content-type'] ?? ''))
    }
    const described: ExchangeDescription = {}
    for (const describe of describers) Object.assign(described, describe(seen))
    if (described.skip) return undefined

    const refs = new Set<string>()
    const add = (v: unknown) => {
      if (refs.size >= maxRefs || (typeof v !== 'string' && typeof v !== 'number')) return
      const text = String(v)
      // An id that is a configured secret or shaped like a key (a client id registered as a credential) is not kept.
      if (text.length > 0 && text.length <= 200 && redactText(text) === text) refs.add(text)
    }
    collectIds(seen.requestBody, add)
    collectIds(seen.responseBody, add)
    collectIds(seen.query, add)
    add(responseHeaders['x-message-id'])
    for (const segment of path.split('/')) if (ID_SEGMENT.test(segment)) add(segment)
    for (const r of described.refs ?? []) add(r)
    if (described.providerId !== undefined) add(described.providerId)

    const contacts = new Set<string>()
    for (const contact of described.contacts ?? []) {
      const text = String(contact).trim()
      if (text === '' || contacts.size >= maxRefs || redactText(text) !== text) continue
      if (text.includes('@')) contacts.add(text.toLowerCase())
      else {
        contacts.add(text)
        const digits = text.replace(/\D/g, '')
        if (digits !== '') contacts.add(digits)
      }
    }

    const cut = { truncated: false }
    const store = (value: unknown) => storable(value, maxString, cut)
    const verification = c.kind === 'webhook' ? verificationOf(reply.statusCode, seen.responseBody) : null
    const stamp = opts.stamp?.()
    const query = rawQuery ? `?${new URLSearchParams(Object.entries(scrub(seen.query) as Record<string, string>)).toString()}` : ''
    return {
      id: newRowId(),
      channel: opts.channel,
      kind: described.kind ?? c.kind,
      direct: c.kind === 'provider' && (described.kind ?? 'provider') === 'provider' && !opts.internal(request),
      method: request.method,
      path: redactText(rawPath) + redactText(query),
      status_code: reply.statusCode,
      latency_ms: Math.round(performance.now() - c.started),
      provider_id: described.providerId === undefined ? null : String(described.providerId).slice(0, 200),
      refs: [...refs],
      contacts: [...contacts],
      summary: (described.summary ?? `${request.method} ${path}`).slice(0, 300),
      request: { headers: headers(seen.requestHeaders), body: store(seen.requestBody) },
      response: { headers: headers(responseHeaders), body: store(seen.responseBody) },
      content: described.content === undefined ? null : store(described.content) as Record<string, unknown>,
      event: described.event?.slice(0, 300) ?? null,
      verification,
      truncated: cut.truncated,
      ...(stamp === undefined ? {} : { created_at: stamp })
    }
  }
}

/** A body as a value: JSON or a form parsed, other text kept, bytes described. */
export function parseBody (body: unknown, contentType: string): unknown {
  if (body === undefined || body === null || body === '') return null
  if (Buffer.isBuffer(body)) {
    if (/json|text|x-www-form-urlencoded|xml|html/i.test(contentType)) return parseBody(body.toString('utf8'), contentType)
    return `[${body.length} bytes of ${contentType || 'binary data'}]`
  }
  if (typeof body === 'string') {
    if (/json/i.test(contentType)) {
      try { return JSON.parse(body) } catch { return body }
    }
    if (/x-www-form-urlencoded/i.test(contentType)) return Object.fromEntries(new URLSearchParams(body))
    return body
  }
  if (typeof body === 'object' && typeof (body as { pipe?: unknown }).pipe === 'function') return '[a stream: not recorded]'
  return body
}

/** Headers worth keeping, credentials replaced (the scheme of an Authorization header kept). */
function headers (input: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(input)) {
    if (DROPPED_HEADER.test(name) || value === undefined) continue
    if (SECRET_HEADER.test(name)) {
      const scheme = typeof value === 'string' ? /^(\w+)\s/.exec(value)?.[1] : undefined
      out[name] = scheme !== undefined ? `${scheme} ${REDACTED}` : REDACTED
    } else {
      out[name] = Array.isArray(value) ? value.map(v => redactText(String(v))) : redactText(String(value))
    }
  }
  return out
}

/** The values of secret-named fields (in bodies, forms and queries) replaced. */
function scrub (value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_FIELD.test(k) && v !== null && v !== '' ? REDACTED : v
  return out
}

/**
 * A copy fit to store, in one walk: secret-named fields replaced, every string and key through
 * redactText, strings cut to `max` characters with a note (and `cut.truncated` set), arrays to
 * 2,000 items, nesting to 32 levels.
 */
function storable (value: unknown, max: number, cut: { truncated: boolean }, depth = 0): unknown {
  if (typeof value === 'string') {
    const text = withoutUrlPasscodes(redactText(value))
    if (text.length <= max) return text
    cut.truncated = true
    // Not between the two halves of a surrogate pair (an emoji): half of one is stored as U+FFFD.
    const high = text.charCodeAt(max - 1)
    const end = high >= 0xd800 && high <= 0xdbff ? max - 1 : max
    return `${text.slice(0, end)}…[truncated: ${text.length - end} more characters]`
  }
  if (value === null || typeof value !== 'object') return value
  if (Buffer.isBuffer(value)) return `[${value.length} bytes]`
  if (depth > 32) {
    cut.truncated = true
    return '[truncated: nested too deep]'
  }
  if (Array.isArray(value)) {
    const n = Math.min(value.length, 2_000)
    const out: unknown[] = new Array(n)
    for (let i = 0; i < n; i++) out[i] = storable(value[i], max, cut, depth + 1)
    if (n < value.length) {
      cut.truncated = true
      out.push(`…[truncated: ${value.length - n} more items]`)
    }
    return out
  }
  const out: Record<string, unknown> = {}
  for (const k in value) {
    const v = (value as Record<string, unknown>)[k]
    out[redactText(k)] = SECRET_FIELD.test(k) && v !== null && v !== '' && v !== undefined ? REDACTED : storable(v, max, cut, depth + 1)
  }
  return out
}

/** Every value under an id-like key (id, *_id, *Id), at any depth. */
function collectIds (value: unknown, add: (v: unknown) => void, depth = 0): void {
  if (value === null || typeof value !== 'object' || depth > 8) return
  if (Array.isArray(value)) {
    for (const v of value) collectIds(v, add, depth + 1)
    return
  }
  for (const [k, v] of Object.entries(value)) {
    if (ID_KEY.test(k)) add(v)
    if (v !== null && typeof v === 'object') collectIds(v, add, depth + 1)
  }
}

/** A webhook receiver's verdict, from its answer: accepted, or refused with its error's code. */
function verificationOf (statusCode: number, body: unknown): ActivityExchangeRow['verification'] {
  const b = (body !== null && typeof body === 'object' ? body : {}) as { code?: unknown, message?: unknown }
  if (statusCode < 300) return { ok: true, status_code: statusCode, detail: `accepted (HTTP ${statusCode}): the receiver verified it` }
  const code = typeof b.code === 'string' ? b.code : undefined
  const message = typeof b.message === 'string' ? b.message : undefined
  const refused = statusCode === 401 || statusCode === 403 || (code !== undefined && /SIGNATURE|TOKEN|UNAUTHORI[SZ]ED|REPLAY/i.test(code))
  return {
    ok: false,
    status_code: statusCode,
    detail: `${refused ? 'refused' : 'failed'} (HTTP ${statusCode}${code ? ` ${code}` : ''})${message ? `: ${redactText(message)}` : ''}`
  }
}
