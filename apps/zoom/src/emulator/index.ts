import { createHmac, randomBytes } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { request as undiciRequest } from 'undici'
import type { TimerClock } from '@switchboard/service-kit/clock'
import type { EmulatorAccount } from '@switchboard/service-kit/emulator-account'
import { providerAgent } from '@switchboard/service-kit/provider-client'
import { clientGone, readSimulationHeaders, type Outcome, type Simulator } from '@switchboard/service-kit/simulation'
import type { WebhookSender } from '@switchboard/service-kit/webhook-sender'
import { Derivations, trackingId } from './ids.ts'
import { basicCredentials, S2S_SCOPES, TokenIssuer } from './oauth.ts'
import type { ZoomMeetingPersistence } from './persist.ts'
import { meetingEventObject, meetingJson, meetingListItem, recordingDownload, recordingsBody, type Host, type View } from './render.ts'
import { MeetingStore, type LifecycleEvent, type MeetingRecord, type MeetingStatus } from './store.ts'
import { validateMeetingBody, type ZoomFieldError } from './validate.ts'
import { signedZoomHeaders, URL_VALIDATION_EVENT, urlValidationAnswer, type ZoomEvent } from '../zoom-webhooks.ts'

export interface ZoomEmulatorStateOptions {
  webhookSender: WebhookSender
  /**
   * With EMULATOR_AUTH=issued, the account's client secret: the key tokens are signed with is made
   * from it too, so a token signed before the switch (tokens outlive restarts), or by another stack
   * that shares the Secret Token, does not verify here, as a Bearer or as a download's access_token.
   */
  tokenKeyFrom?: string
  /**
   * Where lifecycle webhooks go at first (PUT /_switchboard/webhooks changes it). Undefined is an
   * app with no event subscription (Zoom sends it nothing): no events are scheduled at all, while
   * statuses and recordings still follow the clock.
   */
  webhookUrl?: () => string
  /** The app's Secret Token: signs webhooks and answers url_validation. */
  webhookSecret: string
  /** The emulator's public base including its prefix, e.g. http://127.0.0.1:3005/zoom. */
  baseUrl: () => string
  timeScale: number
  recordingDelayMs: number
  retentionMs: number
  maxMeetings: number
  tokenTtlSeconds: number
  /** Webhook deliveries unfinished at once before due lifecycle steps wait (never dropped). */
  maxPendingWebhooks?: number
  /** Where meetings are kept beyond memory (the database); without it they live in memory only. */
  persistence?: ZoomMeetingPersistence
  logger?: { debug: (obj: object, msg?: string) => void, warn: (obj: object, msg?: string) => void }
  /** The emulators' clock (frozen and advanced by the admin API); default: the system clock. */
  clock?: TimerClock
}

/**
 * Magic topics: a meeting whose topic starts with one of these tags gets that fate whatever the
 * success rate (documented in the README). The tags are bracketed so no ordinary title trips one.
 */
export const MAGIC_TOPICS = {
  '[fail]': 'creating it fails as a random failure would (Zoom 500)',
  '[outage]': 'creating it fails as during an outage (Zoom 503)',
  '[rate_limited]': 'creating it is rate limited (Zoom 429, code 429, Retry-After)',
  '[timeout]': 'creating it hangs until the client gives up',
  '[no_recording]': 'the meeting ends without cloud recordings (recordings: 404 code 3301)'
} as const
type MagicTag = keyof typeof MAGIC_TOPICS
export function magicTag (topic: string): MagicTag | undefined {
  const m = /^\s*(\[[a-z_]+\])/i.exec(topic)
  const tag = m?.[1]?.toLowerCase()
  return tag && tag in MAGIC_TOPICS ? tag as MagicTag : undefined
}
const MAGIC_OUTCOME: Partial<Record<MagicTag, Outcome>> = { '[fail]': 'failure', '[outage]': 'outage', '[rate_limited]': 'rate_limited', '[timeout]': 'timeout' }

/** The emulator's state: meetings, tokens, the account's host, and the webhook pipe. */
export class ZoomEmulatorState {
  readonly store: MeetingStore
  readonly tokens: TokenIssuer
  readonly host: Host
  readonly view: View
  readonly opts: ZoomEmulatorStateOptions
  webhooksSent = 0
  /** Set once the app listens: lifecycle steps due before then wait for it. */
  listening = false
  #webhookUrl: (() => string) | undefined

  constructor (opts: ZoomEmulatorStateOptions) {
    this.opts = opts
    this.#webhookUrl = opts.webhookUrl
    opts.webhookSender.signAttempts(d => signedZoomHeaders(opts.webhookSecret, d.headers, d.body))
    // The account, the token key and the passcode key follow from the Secret Token, so a restart
    // and every instance sharing it keep the same host, accept each other's tokens and derive the
    // same passcodes, with no key stored anywhere.
    const derived = (purpose: string) => createHmac('sha256', opts.webhookSecret).update(`switchboard-zoom-emulator:${purpose}`).digest()
    const accountId = derived('account').toString('base64url').slice(0, 22)
    const pmi = String(5_000_000_000 + derived('pmi').readUInt32BE(0) % 4_000_000_000)
    this.host = { id: derived('host').toString('base64url').slice(0, 22), email: 'host@switchboard.local', firstName: 'Switchboard', lastName: 'Host', accountId, timezone: 'UTC', pmi }
    this.tokens = new TokenIssuer(() => opts.tokenTtlSeconds, derived(opts.tokenKeyFrom === undefined ? 'token-key' : `token-key:${opts.tokenKeyFrom}`), () => opts.clock?.now() ?? Date.now())
    const maxPending = opts.maxPendingWebhooks ?? 256
    this.store = new MeetingStore({
      timeScale: opts.timeScale,
      clock: opts.clock,
      recordingDelayMs: opts.recordingDelayMs,
      retentionMs: opts.retentionMs,
      maxMeetings: opts.maxMeetings,
      onLifecycle: opts.webhookUrl ? this.#onLifecycle : undefined,
      // Steps due at start wait until the app listens (the default webhook URL is its own address).
      canEmit: () => this.listening && this.pendingWebhooks + this.store.claimsInFlight < maxPending,
      records: (m) => {
        const auto = m.extra?.settings?.auto_recording
        return auto !== 'none' && auto !== 'local' && magicTag(m.topic) !== '[no_recording]'
      },
      persistence: opts.persistence,
      onError: (err, m) => opts.logger?.warn({ err, meeting_id: m.id }, 'zoom emulator: a lifecycle step could not be claimed in the database')
    })
    this.view = { store: this.store, host: this.host, derive: new Derivations(derived('derivations')), baseUrl: opts.baseUrl }
  }

  /** Loads the stored meetings (their lifecycles carry on) and follows other instances' changes. */
  async restore (syncMs = 1000): Promise<number> {
    return this.opts.persistence ? this.opts.persistence.restore(this.store, syncMs) : 0
  }

  /** A meeting by id: this instance's, else the database's (one created through another instance). */
  async find (id: number): Promise<MeetingRecord | undefined> {
    return this.store.get(id) ?? await this.opts.persistence?.find(id)
  }

  /** Forgets every meeting, here and in the database (reset, clear_all_meetings). */
  async clear (): Promise<number> {
    const here = this.store.clear()
    const stored = await this.opts.persistence?.clear()
    return Math.max(here, stored ?? 0)
  }

  readonly #onLifecycle = (m: MeetingRecord, event: LifecycleEvent, at: number): void => { this.#lifecycle(m, event, at) }

  /** Where the app's events go now; undefined: nowhere. */
  webhookUrl (): string | undefined {
    return this.#webhookUrl?.()
  }

  /**
   * The app's event subscription, as edited in Zoom's Marketplace: events from now on go to `url`,
   * or nowhere (undefined). Steps already past are not replayed.
   */
  setWebhookUrl (url: string | undefined): void {
    this.#webhookUrl = url === undefined ? undefined : () => url
    if (url !== undefined) this.store.startLifecycle(this.#onLifecycle)
  }

  get pendingWebhooks (): number {
    const s = this.opts.webhookSender
    return this.webhooksSent - s.delivered - s.gaveUp
  }

  /** Signs and posts one Zoom event to the configured URL (with the sender's retries); `order`: after the earlier ones of the same key (a meeting's events in turn). */
  post (event: ZoomEvent, url = this.webhookUrl(), order?: string): boolean {
    if (!url) return false
    const body = JSON.stringify(event)
    this.webhooksSent++
    // The signature's freshness is real time, as the receiver checks it; retries are signed anew (constructor).
    this.opts.webhookSender.send({
      url,
      body,
      label: `zoom.${event.event}`,
      ...(order === undefined ? {} : { order }),
      headers: signedZoomHeaders(this.opts.webhookSecret, { 'content-type': 'application/json; charset=utf-8', 'user-agent': 'Zoom Marketplace/1.0a', 'x-zm-trackingid': trackingId() }, body)
    })
    return true
  }

  #lifecycle (m: MeetingRecord, event: LifecycleEvent, at: number): void {
    this.opts.logger?.debug({ event, meeting_id: m.id }, 'zoom emulator: meeting lifecycle')
    const url = this.webhookUrl()
    if (!url) return
    const base = { event, event_ts: Math.round(at) }
    if (event === 'recording.completed') {
      this.post({ ...base, download_token: this.tokens.downloadToken(this.host.accountId, m.uuid), payload: { account_id: this.host.accountId, object: { ...recordingsBody(this.view, m), host_email: this.host.email } } }, url, String(m.id))
    } else {
      this.post({ ...base, payload: { account_id: this.host.accountId, object: meetingEventObject(this.view, m, event === 'meeting.ended') } }, url, String(m.id))
    }
  }

  /** Stops the clock and stores what is still queued. */
  async close (): Promise<void> {
    this.store.close()
    await this.opts.persistence?.close()
  }
}

// ---- Zoom's error bodies ------------------------------------------------------------------------

// What Fastify answers an object with; meetings are sent as JSON text built by meetingJson.
const JSON_TYPE = 'application/json; charset=utf-8'
const zoomError = (code: number, message: string, errors?: ZoomFieldError[]) => errors ? { code, message, errors } : { code, message }
const INVALID_TOKEN = zoomError(124, 'Invalid access token.')
const EXPIRED_TOKEN = zoomError(124, 'Access token is expired.')
const NOT_JSON = zoomError(300, 'Request Body should be a valid JSON object.')
const meetingMissing = (id: string) => zoomError(3001, `Meeting does not exist: ${id}.`)
// "This recording does not exist." is the wording integrators quote for 3301 (unverified for every case).
const NO_RECORDING = zoomError(3301, 'This recording does not exist.')
const userMissing = (id: string) => zoomError(1001, `User does not exist: ${id}.`)

const LIST_TYPES: Record<string, (s: MeetingStatus) => boolean> = {
  // "scheduled" lists every meeting the emulator holds (Zoom: previous unexpired, live and upcoming).
  scheduled: () => true,
  live: s => s === 'started',
  upcoming: s => s === 'waiting',
  upcoming_meetings: s => s === 'waiting',
  previous_meetings: s => s === 'ended'
}

const pageToken = (seq: number) => Buffer.from(`sbp:${seq}`).toString('base64url')
function readPageToken (token: string): number | undefined {
  const m = /^sbp:(\d{1,15})$/.exec(Buffer.from(token, 'base64url').toString('utf8'))
  return m ? Number(m[1]) : undefined
}

function isHttpUrl (v: unknown): v is string {
  if (typeof v !== 'string' || v.length > 2048) return false
  try {
    const u = new URL(v)
    return u.protocol === 'http:' || u.protocol === 'https:'
  } catch {
    return false
  }
}

/** A real calendar day as `yyyy-mm-dd`. */
function isDay (v: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v)) return false
  const d = new Date(`${v}T00:00:00Z`)
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === v
}

const html = (s: string) => s.replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`)

/**
 * The Zoom API as the emulator serves it under /zoom: Server-to-Server OAuth (/oauth/token), the
 * meeting and cloud-recording endpoints under /v2, recording downloads, and join/start pages.
 * Our client, @zoom/rivet and curl can all be pointed at it.
 */
/** A Server-to-Server OAuth app's credentials. */
export type ZoomCredential = 'account_id' | 'client_id' | 'client_secret'

export interface ZoomEmulatorOptions {
  state: ZoomEmulatorState
  simulator: Simulator
  /** Whose credentials are taken (EMULATOR_AUTH); without it, any (but a client secret of `invalid`). */
  account?: EmulatorAccount<ZoomCredential>
}

export async function zoomEmulator (app: FastifyInstance, opts: ZoomEmulatorOptions): Promise<void> {
  const { state, simulator } = opts
  const { store, view, host, tokens } = state

  // An empty JSON body is no body (SDKs send the header on DELETE too); bad JSON is Zoom's 300.
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    if (body === '' || body === undefined) return done(null, undefined)
    try {
      done(null, JSON.parse(body as string))
    } catch {
      done(Object.assign(new Error('bad json'), { statusCode: 400, zoomBody: NOT_JSON }), undefined)
    }
  })
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)))
  })

  app.setErrorHandler((error, request, reply) => {
    const e = error as { statusCode?: number, zoomBody?: unknown }
    const status = e.statusCode ?? 500
    if (e.zoomBody) return reply.code(status).send(e.zoomBody)
    if (status === 413) return reply.code(413).send(zoomError(300, 'Request Body is too large.')) // (unverified)
    if (status < 500) return reply.code(400).send(NOT_JSON)
    request.log.error({ err: error }, 'zoom emulator error')
    return reply.code(500).send(zoomError(500, 'An internal error occurred.')) // (unverified) wording
  })
  app.setNotFoundHandler((_request, reply) => reply.code(404).send(zoomError(404, 'Not Found.'))) // (unverified) wording

  app.addHook('onSend', (_request, reply, payload, done) => {
    reply.header('x-zm-trackingid', trackingId())
    done(null, payload)
  })

  /**
   * Simulated outcome for one request, in Zoom's envelope (the codes and wording of the 5xx are
   * (unverified); the 429 body is the one integrators quote for per-second limits). `magic`: what
   * a magic topic asks of the request. It is not the outcome header: in the README's order it comes
   * below a scenario's period or rate limit and the fault scenario setting (a `[fail]` meeting
   * created while Zoom rate limits gets the 429 like any other).
   */
  async function simulated (request: FastifyRequest, reply: FastifyReply, magic?: Outcome): Promise<boolean> {
    const forced = readSimulationHeaders(request.headers)
    // A seeded run: the outcome follows from the operation and what it asks for (not the ids
    // generated for earlier meetings, not the time of arrival).
    const draws = simulator.forRequest([request.method, request.routeOptions.url, request.body ?? null])
    const decision = draws.decide({ force: forced.force, magic, latencyMs: forced.latencyMs })
    // The abort signal (a listener and an AbortController) only when there is a wait to abort.
    if (decision.delayMs > 0) await simulator.wait(decision.delayMs, clientGone(reply.raw))
    if (decision.outcome === 'success') return false
    reply.header('x-switchboard-simulated', decision.outcome)
    switch (decision.outcome) {
      case 'rate_limited':
        reply.code(429).header('retry-after', simulator.retryAfter()).header('x-ratelimit-category', 'Medium').header('x-ratelimit-type', 'QPS')
          .send(zoomError(429, 'You have reached the maximum per-second rate limit for this API. Try again later.'))
        break
      case 'outage': reply.code(503).send(zoomError(503, 'The service is temporarily unavailable. Try again later.')); break
      case 'timeout': reply.code(504).send(zoomError(504, 'The request timed out.')); break
      default: reply.code(500).send(zoomError(500, 'An internal error occurred.'))
    }
    return true
  }

  /** Bearer check: a missing, forged or expired token is Zoom's 401 code 124. */
  function bearer (request: FastifyRequest): { code: number, message: string } | undefined {
    const auth = request.headers.authorization
    const token = typeof auth === 'string' && /^bearer /i.test(auth) ? auth.slice(7).trim() : ''
    if (!token) return INVALID_TOKEN
    const check = tokens.check(token)
    if (!check.ok) return check.reason === 'expired' ? EXPIRED_TOKEN : INVALID_TOKEN
    if (check.claims.typ !== 'api' || !ownAccount(check.claims)) return INVALID_TOKEN
    return undefined
  }

  /** An API token of this account's app (EMULATOR_AUTH=issued); with `any`, every app's. */
  const ownAccount = (claims: { typ: string, aid: string, cid?: string }) =>
    claims.typ !== 'api' || !opts.account || (opts.account.accepts('account_id', claims.aid) && opts.account.accepts('client_id', claims.cid))

  const userOk = (userId: string) => userId === 'me' || userId === host.id || userId.toLowerCase() === host.email

  /** A meeting id from the path: Zoom ids are digits; anything else cannot exist. */
  const meetingFrom = async (raw: string) => (/^\d{1,19}$/.test(raw) ? await state.find(Number(raw)) : undefined)

  /** The recordings routes' meeting: by numeric id (its latest instance) or by uuid, which arrives double-encoded when it has a "/", as Zoom requires. */
  async function recordedMeetingFrom (raw: string): Promise<MeetingRecord | undefined> {
    let id = raw
    if (/%[0-9A-Fa-f]{2}/.test(id)) {
      try { id = decodeURIComponent(id) } catch { /* left as is: matches nothing */ }
    }
    return /^\d+$/.test(id) ? await meetingFrom(id) : store.byUuid(id)
  }

  /** One page of meetings in creation order after the cursor, as Zoom's list routes answer (next_page_token "" on the last). */
  function meetingsPage (filter: (m: MeetingRecord) => boolean, after: number, pageSize: number, render: (m: MeetingRecord) => unknown) {
    const page: MeetingRecord[] = []
    let more = false
    for (const m of store.list(filter, after)) {
      if (page.length === pageSize) { more = true; break }
      page.push(m)
    }
    return { page_size: pageSize, total_records: store.count(filter), next_page_token: more ? pageToken(page[page.length - 1]!.seq) : '', meetings: page.map(render) }
  }

  // ---- Server-to-Server OAuth ------------------------------------------------------------------

  app.post('/oauth/token', { schema: {} }, async (request, reply) => {
    const query = request.query as Record<string, string | undefined>
    const form = (request.body && typeof request.body === 'object' ? request.body : {}) as Record<string, unknown>
    const param = (name: string) => (typeof form[name] === 'string' ? form[name] as string : query[name])
    // OAuth errors use Zoom's OAuth envelope ({reason, error}), not the API's ({code, message}).
    const creds = basicCredentials(request.headers.authorization)
    const account = opts.account
    const invalidClient = { reason: 'Invalid client_id or client_secret', error: 'invalid_client' }
    if (!creds || creds.clientSecret === 'invalid') return reply.code(400).send(invalidClient)
    if (account && !(account.accepts('client_id', creds.clientId) && account.accepts('client_secret', creds.clientSecret))) return reply.code(400).send(invalidClient)
    if (param('grant_type') !== 'account_credentials') return reply.code(400).send({ reason: 'unsupported grant type', error: 'unsupported_grant_type' })
    const accountId = param('account_id')
    if (!accountId) return reply.code(400).send({ reason: 'Invalid request : account_id is required.', error: 'invalid_request' }) // (unverified) wording
    // (unverified) Zoom's answer for an account id that is not the app's: the one for bad client credentials.
    if (account && !account.accepts('account_id', accountId)) return reply.code(400).send(invalidClient)
    const forced = readSimulationHeaders(request.headers)
    const decision = simulator.decide({ force: forced.force, latencyMs: forced.latencyMs })
    // The success rate is about API operations; token requests fail only in a fault scenario or when forced.
    if (decision.outcome === 'failure' && !forced.force) decision.outcome = 'success'
    if (decision.delayMs > 0) await simulator.wait(decision.delayMs, clientGone(reply.raw))
    if (decision.outcome === 'rate_limited') return reply.code(429).header('retry-after', simulator.retryAfter()).send({ reason: 'Too many requests', error: 'too_many_requests' }) // (unverified)
    if (decision.outcome !== 'success') return reply.code(503).send({ reason: 'Service temporarily unavailable', error: 'temporarily_unavailable' }) // (unverified)
    const { token, expiresIn } = tokens.accessToken(accountId, creds.clientId)
    return reply.header('cache-control', 'no-store').send({ access_token: token, token_type: 'bearer', expires_in: expiresIn, scope: S2S_SCOPES, api_url: view.baseUrl() })
  })

  // ---- the REST API ----------------------------------------------------------------------------

  await app.register(async (v2) => {
    v2.addHook('onRequest', (request, reply, done) => {
      const refused = bearer(request)
      if (refused) reply.code(401).send(refused)
      else done()
    })

    v2.post('/users/:userId/meetings', { schema: {} }, async (request, reply) => {
      const { userId } = request.params as { userId: string }
      if (!userOk(userId)) return reply.code(404).send(userMissing(userId))
      if (!request.body || typeof request.body !== 'object' || Array.isArray(request.body)) return reply.code(400).send(NOT_JSON)
      const { errors, fields } = validateMeetingBody(request.body, 'create', host.timezone)
      if (errors.length) return reply.code(400).send(zoomError(300, 'Validation Failed.', errors))
      const topic = fields.topic ?? 'Zoom Meeting'
      const tag = magicTag(topic)
      if (await simulated(request, reply, tag ? MAGIC_OUTCOME[tag] : undefined)) return reply
      if (store.full) {
        return reply.code(400).send(zoomError(300, `This Zoom emulator already holds its maximum of ${store.size} meetings. Delete some, or clear them all (DELETE /api/zoom/meetings), or raise ZOOM_MAX_MEETINGS.`))
      }
      const type = fields.type ?? 2
      const m = store.create({ ...fields, topic, type, duration: fields.duration ?? 60, timezone: fields.timezone ?? host.timezone })
      return reply.code(201).header('content-location', `${view.baseUrl()}/v2/meetings/${m.id}`).type(JSON_TYPE).send(meetingJson(view, m))
    })

    v2.get('/users/:userId/meetings', { schema: {} }, async (request, reply) => {
      const { userId } = request.params as { userId: string }
      const q = request.query as Record<string, string | undefined>
      if (!userOk(userId)) return reply.code(404).send(userMissing(userId))
      const errors: ZoomFieldError[] = []
      const type = q.type ?? 'scheduled'
      // Its own keys only: ?type=__proto__ found Object.prototype, called as a filter (a 500).
      const want = Object.hasOwn(LIST_TYPES, type) ? LIST_TYPES[type] : undefined
      if (!want) errors.push({ field: 'type', message: 'Invalid field.' })
      const size = q.page_size === undefined ? 30 : Number(q.page_size)
      if (!Number.isInteger(size) || size < 1) errors.push({ field: 'page_size', message: 'Invalid field.' })
      const after = q.next_page_token ? readPageToken(q.next_page_token) : 0
      if (after === undefined) errors.push({ field: 'next_page_token', message: 'Invalid field.' }) // (unverified) Zoom's answer to a bad token
      if (errors.length) return reply.code(400).send(zoomError(300, 'Validation Failed.', errors))
      if (await simulated(request, reply)) return reply
      const pageSize = Math.min(300, size) // Zoom caps page_size at 300
      const now = state.opts.clock?.now() ?? Date.now()
      const filter = (m: MeetingRecord) => want!(store.status(m, now))
      return meetingsPage(filter, after!, pageSize, m => meetingListItem(view, m))
    })

    v2.get('/meetings/:meetingId', { schema: {} }, async (request, reply) => {
      const { meetingId } = request.params as { meetingId: string }
      if (await simulated(request, reply)) return reply
      const m = await meetingFrom(meetingId)
      if (!m) return reply.code(404).send(meetingMissing(meetingId))
      return reply.type(JSON_TYPE).send(meetingJson(view, m))
    })

    v2.patch('/meetings/:meetingId', { schema: {} }, async (request, reply) => {
      const { meetingId } = request.params as { meetingId: string }
      const m = await meetingFrom(meetingId)
      if (!m) return reply.code(404).send(meetingMissing(meetingId))
      if (!request.body || typeof request.body !== 'object' || Array.isArray(request.body)) return reply.code(400).send(NOT_JSON)
      const { errors, fields } = validateMeetingBody(request.body, 'update', m.timezone)
      if (errors.length) return reply.code(400).send(zoomError(300, 'Validation Failed.', errors))
      if (await simulated(request, reply)) return reply
      if (m.deleted) return reply.code(404).send(meetingMissing(meetingId))
      if (!await store.update(m, fields)) return reply.code(404).send(meetingMissing(meetingId))
      return reply.code(204).send()
    })

    v2.delete('/meetings/:meetingId', { schema: {} }, async (request, reply) => {
      const { meetingId } = request.params as { meetingId: string }
      if (await simulated(request, reply)) return reply
      const m = await meetingFrom(meetingId)
      if (!m) return reply.code(404).send(meetingMissing(meetingId))
      const outcome = await store.delete(m)
      if (outcome === 'missing') return reply.code(404).send(meetingMissing(meetingId))
      // 3002 is Zoom's code for deleting a meeting in progress; the wording is (unverified).
      if (outcome === 'in_progress') return reply.code(400).send(zoomError(3002, 'Sorry, you cannot delete this meeting since it is in progress.'))
      return reply.code(204).send()
    })

    /**
     * Ends a meeting. Zoom documents this for a live meeting; for one still waiting the emulator
     * plays it as started and ended at once (Zoom's answer there is (unverified)), and ending an
     * ended meeting changes nothing.
     */
    v2.put('/meetings/:meetingId/status', { schema: {} }, async (request, reply) => {
      const { meetingId } = request.params as { meetingId: string }
      const body = request.body as { action?: unknown } | undefined
      if (!body || typeof body !== 'object') return reply.code(400).send(NOT_JSON)
      if (body.action !== 'end') return reply.code(400).send(zoomError(300, 'Validation Failed.', [{ field: 'action', message: 'Invalid field.' }]))
      if (await simulated(request, reply)) return reply
      const m = await meetingFrom(meetingId)
      if (!m) return reply.code(404).send(meetingMissing(meetingId))
      if (!await store.end(m)) return reply.code(404).send(meetingMissing(meetingId))
      return reply.code(204).send()
    })

    /** By numeric id or by uuid; a uuid with "/" arrives double-encoded, as Zoom requires. */
    v2.get('/meetings/:meetingId/recordings', { schema: {} }, async (request, reply) => {
      const { meetingId } = request.params as { meetingId: string }
      const q = request.query as Record<string, string | undefined>
      if (await simulated(request, reply)) return reply
      const m = await recordedMeetingFrom(meetingId)
      if (!m || !store.recordingsKept(m)) return reply.code(404).send(NO_RECORDING)
      const body = recordingsBody(view, m)
      if (q.include_fields?.split(',').includes('download_access_token')) {
        const ttl = Math.min(604_800, Math.max(1, Number(q.ttl) || 86_400))
        body.download_access_token = tokens.downloadToken(host.accountId, m.uuid, ttl)
      }
      return body
    })

    /**
     * A user's cloud recordings whose meeting started between `from` and `to` (UTC days; Zoom's
     * default for either is today), in pages; `trash=true` lists the trashed ones instead. The
     * order (meetings in creation order) and the answer to a bad date are (unverified).
     */
    v2.get('/users/:userId/recordings', { schema: {} }, async (request, reply) => {
      const { userId } = request.params as { userId: string }
      const q = request.query as Record<string, string | undefined>
      if (!userOk(userId)) return reply.code(404).send(userMissing(userId))
      const now = state.opts.clock?.now() ?? Date.now()
      const today = new Date(now).toISOString().slice(0, 10)
      const from = q.from ?? today
      const to = q.to ?? today
      const errors: ZoomFieldError[] = []
      if (!isDay(from)) errors.push({ field: 'from', message: 'Invalid field.' })
      if (!isDay(to) || (isDay(from) && to < from)) errors.push({ field: 'to', message: 'Invalid field.' })
      const size = q.page_size === undefined ? 30 : Number(q.page_size)
      if (!Number.isInteger(size) || size < 1) errors.push({ field: 'page_size', message: 'Invalid field.' })
      const after = q.next_page_token ? readPageToken(q.next_page_token) : 0
      if (after === undefined) errors.push({ field: 'next_page_token', message: 'Invalid field.' })
      if (q.trash !== undefined && q.trash !== 'true' && q.trash !== 'false') errors.push({ field: 'trash', message: 'Invalid field.' })
      if (errors.length) return reply.code(400).send(zoomError(300, 'Validation Failed.', errors))
      if (await simulated(request, reply)) return reply
      const pageSize = Math.min(300, size)
      const trashed = q.trash === 'true'
      const filter = (m: MeetingRecord) => {
        if (!store.recordingsReady(m, now) || (trashed ? m.recordings !== 'trash' : m.recordings !== undefined)) return false
        const day = new Date(store.virtual(m, store.startReal(m))).toISOString().slice(0, 10)
        return day >= from && day <= to
      }
      return { from, to, ...meetingsPage(filter, after!, pageSize, m => recordingsBody(view, m)) }
    })

    /**
     * Deletes a meeting's cloud recordings: `action=trash` (the default) moves them to the trash,
     * `action=delete` deletes them for good. 204; 3301 when there are none to act on.
     */
    v2.delete('/meetings/:meetingId/recordings', { schema: {} }, async (request, reply) => {
      const { meetingId } = request.params as { meetingId: string }
      const q = request.query as Record<string, string | undefined>
      const action = q.action ?? 'trash'
      if (action !== 'trash' && action !== 'delete') return reply.code(400).send(zoomError(300, 'Validation Failed.', [{ field: 'action', message: 'Invalid field.' }]))
      if (await simulated(request, reply)) return reply
      const m = await recordedMeetingFrom(meetingId)
      if (!m || await store.removeRecordings(m, action) === 'missing') return reply.code(404).send(NO_RECORDING)
      return reply.code(204).send()
    })
  }, { prefix: '/v2' })

  // ---- Switchboard's own controls (not Zoom's API) --------------------------------------------------
  // Guarded by the service (the admin token or the internal credential), not by a Zoom token: any
  // client id gets a token from the emulator, so a Zoom token proves nothing here.

  await app.register(async (sb) => {
    sb.delete('/meetings', { schema: {} }, async () => ({ cleared: await state.clear() }))

    sb.get('/state', { schema: {} }, async () => ({
      meetings: store.size,
      scheduled_steps: store.scheduled,
      time_scale: store.timeScale,
      tokens_issued: tokens.issued,
      webhooks: { url: state.webhookUrl() ?? null, sent: state.webhooksSent, delivered: state.opts.webhookSender.delivered, gave_up: state.opts.webhookSender.gaveUp, pending: state.pendingWebhooks }
    }))

    /**
     * The app's event subscription (Zoom: the Marketplace's Event Subscriptions page, not an API):
     * {"url": "http(s)://…"} sends every event from now on there, {"url": null} sends none.
     */
    sb.put('/webhooks', { schema: {} }, async (request, reply) => {
      const body = request.body as { url?: unknown } | undefined
      const url = body && typeof body === 'object' ? body.url : undefined
      if (url !== null && !isHttpUrl(url)) return reply.code(400).send(zoomError(300, 'Validation Failed.', [{ field: 'url', message: 'Invalid field.' }]))
      const refusal = url === null ? undefined : state.opts.webhookSender.refusal(url)
      if (refusal !== undefined) return reply.code(400).send(zoomError(300, 'Validation Failed.', [{ field: 'url', message: refusal }]))
      state.setWebhookUrl(url ?? undefined)
      return { url: state.webhookUrl() ?? null }
    })

    /** Sends Zoom's endpoint.url_validation challenge to the webhook URL and checks the answer. */
    sb.post('/webhooks/validate', { schema: {} }, async (request) => {
      const body = (request.body ?? {}) as { url?: unknown }
      const url = typeof body.url === 'string' ? body.url : state.webhookUrl()
      if (!url) return { url: null, valid: false, status: null, message: 'No webhook URL is configured.' }
      // Checked before any connection is made, so the challenge cannot be used to probe ports.
      const refusal = state.opts.webhookSender.refusal(url)
      if (refusal !== undefined) return { url, valid: false, status: null, message: `Not sent: ${refusal}.` }
      const plainToken = randomBytes(16).toString('base64url').slice(0, 22)
      const event = JSON.stringify({ payload: { plainToken }, event_ts: Date.now(), event: URL_VALIDATION_EVENT })
      const expected = urlValidationAnswer(state.opts.webhookSecret, plainToken)
      try {
        // Zoom waits 3 seconds for the answer.
        const res = await undiciRequest(url, {
          method: 'POST',
          body: event,
          dispatcher: providerAgent(),
          headersTimeout: 3000,
          bodyTimeout: 3000,
          headers: signedZoomHeaders(state.opts.webhookSecret, { 'content-type': 'application/json; charset=utf-8' }, event)
        })
        const text = await res.body.text()
        let answer: { plainToken?: unknown, encryptedToken?: unknown } = {}
        try { answer = JSON.parse(text) } catch { /* not JSON: invalid */ }
        const valid = res.statusCode === 200 && answer.plainToken === expected.plainToken && answer.encryptedToken === expected.encryptedToken
        return { url, valid, status: res.statusCode, message: valid ? 'The endpoint answered the challenge correctly.' : 'The endpoint did not answer {plainToken, encryptedToken} as Zoom expects.' }
      } catch (err) {
        return { url, valid: false, status: null, message: `The endpoint could not be reached: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }
      }
    })
  }, { prefix: '/_switchboard' })

  // ---- recordings: downloads, playback, share page ---------------------------------------------

  /** Zoom's download URLs take the API's Bearer token, or ?access_token= (an API or download token). */
  function downloadAllowed (request: FastifyRequest, m: MeetingRecord): { code: number, message: string } | undefined {
    const q = request.query as Record<string, string | undefined>
    if (!q.access_token) return bearer(request)
    const check = tokens.check(q.access_token)
    if (!check.ok) return check.reason === 'expired' ? EXPIRED_TOKEN : INVALID_TOKEN
    if (check.claims.typ === 'download' && check.claims.mid !== m.uuid) return INVALID_TOKEN
    if (!ownAccount(check.claims)) return INVALID_TOKEN
    return undefined
  }

  for (const kind of ['download', 'play'] as const) {
    app.get(`/rec/${kind}/:meetingId/:fileId`, { schema: {} }, async (request, reply) => {
      const { meetingId, fileId } = request.params as { meetingId: string, fileId: string }
      const m = await meetingFrom(meetingId)
      if (!m || !store.recordingsKept(m)) return reply.code(404).send(NO_RECORDING)
      const refused = downloadAllowed(request, m)
      if (refused) return reply.code(401).send(refused)
      const file = recordingDownload(view, m, fileId)
      if (!file) return reply.code(404).send(NO_RECORDING)
      const started = new Date(store.virtual(m, store.startReal(m))).toISOString().replace(/[-:]/g, '').slice(0, 15)
      const name = `GMT${started.slice(0, 8)}-${started.slice(9)}_Recording${file.spec.fileType === 'MP4' ? '_1920x1080' : ''}.${file.spec.extension.toLowerCase()}`
      return reply
        .header('content-type', file.spec.contentType)
        .header('content-length', String(file.bytes.length))
        .header('content-disposition', `${kind === 'download' ? 'attachment' : 'inline'}; filename="${name}"`)
        .send(file.bytes)
    })
  }

  app.get('/rec/share/:meetingId', { schema: {} }, async (request, reply) => {
    const { meetingId } = request.params as { meetingId: string }
    const m = await meetingFrom(meetingId)
    reply.type('text/html; charset=utf-8')
    if (!m || !store.recordingsKept(m)) return reply.code(404).send('<!doctype html><title>Recording not found</title><p>This recording does not exist.</p>')
    const body = recordingsBody(view, m)
    const files = (body.recording_files as Array<{ file_type: string, file_size: number, play_url: string }>)
      .map(f => `<li>${html(f.file_type)} (${f.file_size} bytes): <a href="${html(f.play_url)}">play</a></li>`).join('')
    return `<!doctype html><meta charset="utf-8"><title>${html(m.topic)} — recording</title><h1>${html(m.topic)}</h1><p>Cloud recording from the Switchboard Zoom emulator (files need an access token).</p><ul>${files}</ul>`
  })

  // ---- join and start pages ----------------------------------------------------------------------

  for (const [path, who] of [['/j/:meetingId', 'join'], ['/s/:meetingId', 'start']] as const) {
    app.get(path, { schema: {} }, async (request, reply) => {
      const { meetingId } = request.params as { meetingId: string }
      const m = await meetingFrom(meetingId)
      reply.type('text/html; charset=utf-8')
      if (!m) return reply.code(404).send('<!doctype html><title>Meeting not found</title><p>This meeting ID is not valid.</p>')
      const status = store.status(m)
      return `<!doctype html><meta charset="utf-8"><title>${html(m.topic)}</title><h1>${html(m.topic)}</h1>` +
        `<p>Meeting ID ${m.id} — ${status}.</p><p>This is a mock meeting from the Switchboard Zoom emulator: there is nothing to ${who}. ` +
        'Its status follows its start time and duration; it can be ended through the API.</p>'
    })
  }
}
