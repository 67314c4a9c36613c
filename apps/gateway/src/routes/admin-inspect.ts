/**
 * See everything that was sent (issue #22): the Activity list across channels (paged, searched
 * through content, direct traffic and Zoom included), one item with its content, the emulator
 * exchanges and webhooks tied to it and its timeline, a live stream of changes, and the messages
 * sent to one recipient for a test suite to assert on. The data is service-kit's capture
 * (activity_exchanges) and the four log tables; the SQL is in
 * supabase/migrations/20261206130000_create_activity_exchanges.sql.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { ServerResponse } from 'node:http'
import type { ActivityLog, Row } from '@switchboard/activity-log'
import {
  ActivityDetailParamsSchema, ActivityDetailSchema, ActivityPageSchema, ActivityQuerySchema, ActivityStreamQuerySchema,
  messagesParamsSchema, MessagesQuerySchema, MessagesReplySchema,
  type ActivityChannelName, type ActivityItem, type Exchange
} from '@switchboard/schemas/admin'
import { errorResponses } from '@switchboard/schemas/common'
import { appError } from '@switchboard/service-kit/errors'
import { DATE_TIME_FORMAT } from '@switchboard/service-kit/schema-compilers'
import { SCENARIO_RULE_HEADER } from '@switchboard/service-kit/scenarios'
import { LOGGED_SERVICES, SERVICES } from '@switchboard/service-kit/services'

const tags = ['admin']
const security = [{ adminToken: [] }]

/** A row's columns that hold a provider's id (how exchanges are tied to it, besides its own id). */
const PROVIDER_IDS = ['provider_message_id', 'payment_request_id', 'payment_id', 'execution_id'] as const

type Json = Record<string, unknown>
const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v)
const str = (v: unknown): string | null => typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null

export interface InspectOptions {
  activityLog: ActivityLog
  /** How often the live stream looks for changes while a client listens. Default 1 s. */
  streamPollMs?: number
  /** How often a comment keeps an idle stream open through proxies. Default 15 s. */
  keepAliveMs?: number
}

/** The (created_at, id) of the last item of a page, as an opaque string. */
function encodeCursor (item: { created_at: string, id: string }): string {
  return Buffer.from(JSON.stringify([item.created_at, item.id])).toString('base64url')
}

// A cursor's parts as PostgreSQL reads them: Date.parse alone took "1" or "Sat" for a time, and the
// id test 36 dashes for a uuid, and the query that got them answered 500.
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

function decodeCursor (cursor: string): { at: string, id: string } {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[]
    if (typeof at === 'string' && DATE_TIME_FORMAT.validate(at) && typeof id === 'string' && UUID_PATTERN.test(id)) return { at, id }
  } catch { /* below */ }
  throw appError('ADMIN_INVALID_CURSOR', 'querystring/cursor is not a cursor this API gave out: pass the next_cursor of the previous page unchanged.')
}

/** Refuses an `until` before its `since` (equal is a range of one instant): it matches nothing, surely by mistake. */
export function checkTimeRange (q: { since?: string, until?: string }): void {
  if (q.since !== undefined && q.until !== undefined && Date.parse(q.until) < Date.parse(q.since)) {
    throw appError('ADMIN_INVALID_TIME_RANGE', `querystring/until (${q.until}) is before querystring/since (${q.since}): nothing can match; swap them or drop one.`)
  }
}

/** An exchange row as the API shows it. */
function exchangeView (e: Json): Exchange {
  const part = (v: unknown) => isObject(v) ? { headers: isObject(v.headers) ? v.headers : {}, body: v.body ?? null } : { headers: {}, body: null }
  return {
    id: String(e.id),
    kind: e.kind as Exchange['kind'],
    channel: e.channel as Exchange['channel'],
    direct: e.direct === true,
    method: String(e.method),
    path: String(e.path),
    status_code: typeof e.status_code === 'number' ? e.status_code : null,
    latency_ms: typeof e.latency_ms === 'number' ? e.latency_ms : null,
    request: part(e.request),
    response: part(e.response),
    event: str(e.event),
    verification: isObject(e.verification) ? e.verification as Exchange['verification'] : null,
    // Which scenario step decided the answer (service-app.ts puts it on the emulator's answer).
    scenario: isObject(e.response) && isObject(e.response.headers) ? str(e.response.headers[SCENARIO_RULE_HEADER]) : null,
    truncated: e.truncated === true,
    created_at: String(e.created_at)
  }
}

/** The events of a webhook post that concern one row, with their own times when they carry one. */
function rowEvents (channel: ActivityChannelName, exchange: Json, ids: Set<string>): Array<{ at: string, status: string }> {
  const at = String(exchange.created_at)
  const body = isObject(exchange.request) ? exchange.request.body : undefined
  if (channel === 'email' && Array.isArray(body)) {
    return body.filter(isObject).filter(e => ids.has(String(e.sb_log_id)) || ids.has(String(e.sg_message_id ?? '').split('.')[0]!))
      .map(e => ({ at: typeof e.timestamp === 'number' ? new Date(e.timestamp * 1000).toISOString() : at, status: String(e.event ?? 'event') }))
  }
  if (channel === 'whatsapp') {
    const list = (Array.isArray(body) ? body : [body]).filter(isObject)
    const mine = list.filter(n => {
      const m = isObject(n.data) && isObject(n.data.message) ? n.data.message : {}
      return [m.id, m.messageId, m.message_id, m.submitted_message_id].some(v => ids.has(String(v)))
    })
    if (mine.length) {
      return mine.map(n => {
        const m = isObject(n.data) && isObject(n.data.message) ? n.data.message : {}
        return { at: str(n.created_at) ?? at, status: str(m.status) ?? str(n.topic) ?? 'event' }
      })
    }
  }
  const event = str(exchange.event)
  return event ? event.split(',').map(status => ({ at, status })) : []
}

/** A Zoom meeting's statuses as its API names them, in the order a meeting goes through them. */
const MEETING_STAGES = ['waiting', 'started', 'finished']

/** `text` with each substitution tag replaced by its value, as SendGrid does for a personalization. */
function substituted (text: string | null, substitutions: Json | undefined): string | null {
  if (text === null || !substitutions) return text
  for (const [tag, value] of Object.entries(substitutions)) {
    if (tag && typeof value === 'string') text = text.split(tag).join(value)
  }
  return text
}

/** What was sent, per channel, from the exchanges tied to the item (and the row's own columns). */
/** The schema's promise: `truncated: true` when a part of what was sent was cut to keep its record small. */
function markCut (content: Json | null, exchanges: Json[]): Json | null {
  return content === null ? null : { ...content, truncated: exchanges.some(e => e.truncated === true) }
}

function contentOf (channel: ActivityChannelName, row: Row | null, exchanges: Json[], webhooks: Json[]): Json | null {
  const contents = exchanges.map(e => e.content).filter(isObject)
  if (channel === 'email') {
    const c = contents.find(x => x.kind === 'email')
    if (!c) return null
    const personalizations = Array.isArray(c.personalizations) ? c.personalizations.filter(isObject) : []
    const to = str(row?.to_email)?.toLowerCase()
    const mine = personalizations.find(p => row && p.sb_log_id === row.id) ??
      personalizations.find(p => to !== undefined && Array.isArray(p.to) && p.to.some(a => String(a).toLowerCase() === to))
    const { personalizations: _all, ...rest } = c
    if (!mine) return { ...rest, personalizations: personalizations.slice(0, 50) }
    // SendGrid fills a personalization's substitutions into the subject and content (a bulk send's
    // different bodies travel so): show the email as this recipient got it.
    const fill = (v: unknown) => substituted(str(v), isObject(mine.substitutions) ? mine.substitutions : undefined)
    return { ...rest, to: mine.to, cc: mine.cc, bcc: mine.bcc, subject: fill(mine.subject ?? c.subject), text: fill(c.text), html: fill(c.html), personalization: mine, recipients_in_request: personalizations.length }
  }
  if (channel === 'whatsapp') return contents.find(x => x.kind === 'whatsapp') ?? null
  if (channel === 'voice') {
    const merged: Json = {}
    for (const c of [...contents, ...webhooks.map(w => w.content).filter(isObject)]) {
      for (const [k, v] of Object.entries(c)) if (v !== null && v !== undefined && !(Array.isArray(v) && v.length === 0)) merged[k] = v
    }
    if (row) {
      merged.script_id ??= row.script_id ?? null
      if (row.transcript && !merged.transcript_text) merged.transcript_text = row.transcript
      if (row.recording_url && !merged.recording_url) merged.recording_url = row.recording_url
      if (row.duration_seconds != null && merged.duration_seconds == null) merged.duration_seconds = row.duration_seconds
    }
    return Object.keys(merged).length ? { kind: 'voice', ...merged } : null
  }
  if (channel === 'payments') {
    const c = contents.find(x => x.kind === 'payments')
    const checkout = exchanges.filter(e => e.kind === 'checkout').map(e => ({ at: String(e.created_at), step: str(e.event) ?? 'step', detail: str(e.summary), status_code: e.status_code ?? null }))
    if (!c && !checkout.length) return null
    return { kind: 'payments', ...(c ?? {}), checkout }
  }
  // A provider whose content needs no merging: what its emulator's inspect.ts described.
  if (channel !== 'zoom') return contents[0] ?? null
  // zoom: the meeting's settings, its lifecycle from the webhooks, its recordings
  const merged: Json = {}
  for (const c of [...contents, ...webhooks.map(w => w.content).filter(isObject)]) {
    // An empty object (the settings a later answer or webhook does not carry) never replaces one
    // already read; an empty settings is kept when it is all there is.
    for (const [k, v] of Object.entries(c)) if (v !== null && v !== undefined && !(isObject(v) && Object.keys(v).length === 0 && (k !== 'settings' || k in merged))) merged[k] = v
  }
  const lifecycle = webhooks.filter(w => str(w.event)?.startsWith('meeting.')).map(w => ({ at: String(w.created_at), status: String(w.event).slice('meeting.'.length) }))
  if (!Object.keys(merged).length && !lifecycle.length) return null
  // The status a request last read ('waiting' when it was created) yields to a later webhook's:
  // Zoom's meeting.started and meeting.ended objects carry no status of their own.
  for (const step of lifecycle) {
    const status = step.status === 'ended' ? 'finished' : step.status
    if (MEETING_STAGES.indexOf(status) > MEETING_STAGES.indexOf(String(merged.status))) merged.status = status
  }
  return { kind: 'zoom', ...merged, lifecycle, recordings: merged.recordings ?? [] }
}

function timelineOf (channel: ActivityChannelName, row: Row | null, exchanges: Json[], webhooks: Json[], ids: Set<string>): ActivityDetailTimeline {
  // Ordered by when Switchboard saw each step (an event's own time, SendGrid's in whole seconds,
  // is shown but does not order): the API's answer, then the exchanges and webhooks as they came.
  const steps: Array<{ seen: number, entries: ActivityDetailTimeline }> = []
  for (const e of exchanges) {
    const entry = e.kind === 'checkout'
      ? { at: String(e.created_at), status: str(e.event) ?? 'checkout', source: 'provider' as const, detail: str(e.summary) }
      : { at: String(e.created_at), status: `HTTP ${e.status_code ?? 'no answer'}`, source: 'provider' as const, detail: `${e.method} ${e.path}${e.direct ? ' (direct)' : ''}` }
    steps.push({ seen: Date.parse(String(e.created_at)), entries: [entry] })
  }
  for (const w of webhooks) {
    const verification = isObject(w.verification) ? w.verification : {}
    const detail = verification.ok === false ? String(verification.detail) : null
    steps.push({ seen: Date.parse(String(w.created_at)), entries: rowEvents(channel, w, ids).map(ev => ({ at: ev.at, status: ev.status, source: 'webhook' as const, detail })) })
  }
  steps.sort((a, b) => a.seen - b.seen)
  const out: ActivityDetailTimeline = []
  if (row) out.push({ at: String(row.created_at), status: 'accepted', source: 'api', detail: `the API call was answered (request ${row.request_id ?? 'without an id'})` })
  for (const step of steps) out.push(...step.entries)
  if (row && out.at(-1)?.status !== row.status) out.push({ at: String(row.updated_at ?? row.created_at), status: String(row.status), source: 'row', detail: str(row.error) })
  // One spelling of time for every step: the database writes +00:00, the providers' events Z.
  for (const entry of out) {
    const ms = Date.parse(entry.at)
    if (!Number.isNaN(ms)) entry.at = new Date(ms).toISOString()
  }
  return out
}
type ActivityDetailTimeline = Array<{ at: string, status: string, source: 'api' | 'provider' | 'webhook' | 'row', detail: string | null }>

export const adminInspectRoutes: FastifyPluginAsyncTypebox<InspectOptions> = async (app, { activityLog, streamPollMs = 1000, keepAliveMs = 15_000 }) => {
  app.get('/api/admin/activity', {
    schema: { tags, security, summary: 'Activity across every channel, newest first: paged, searched through content, direct traffic included', querystring: ActivityQuerySchema, response: { 200: ActivityPageSchema, ...errorResponses } }
  }, async (request) => {
    const q = request.query
    checkTimeRange(q)
    const before = q.cursor === undefined ? undefined : decodeCursor(q.cursor)
    const items = await activityLog.rpc<ActivityItem[]>('activity_page', {
      p_channel: q.channel ?? null,
      p_q: q.q ?? null,
      p_status: q.status ?? null,
      p_direct: q.direct === undefined ? null : q.direct === 'true',
      p_since: q.since ?? null,
      p_until: q.until ?? null,
      p_before_at: before?.at ?? null,
      p_before_id: before?.id ?? null,
      p_limit: q.limit + 1
    })
    const more = items.length > q.limit
    const page = more ? items.slice(0, q.limit) : items
    return { items: page, next_cursor: more ? encodeCursor(page.at(-1)!) : null }
  })

  app.get('/api/admin/activity/:channel/:id', {
    schema: { tags, security, summary: 'One item: its row, what was sent, the raw provider exchanges and webhooks (secrets redacted) and its timeline', params: ActivityDetailParamsSchema, response: { 200: ActivityDetailSchema, ...errorResponses } }
  }, async (request) => {
    const { channel, id } = request.params
    const table = SERVICES[channel].logTable
    const [row] = table ? await activityLog.select(table, { where: { id }, limit: 1 }) : []
    let own: Json | undefined
    const ids = new Set<string>([id])
    if (row) {
      for (const column of PROVIDER_IDS) if (typeof row[column] === 'string' && row[column]) ids.add(row[column] as string)
    } else {
      ;[own] = await activityLog.select('activity_exchanges', { where: { id, channel }, limit: 1 })
      if (!own) throw appError('ADMIN_ROW_NOT_FOUND', `No ${channel} activity with id ${id}. It may have been cleared by a reset.`)
      if (typeof own.provider_id === 'string' && own.provider_id) ids.add(own.provider_id)
      // A direct send with no provider id of its own is tied by the ids it carried.
      else if (Array.isArray(own.refs)) for (const r of own.refs.slice(0, 50)) ids.add(String(r))
    }
    const tied = await activityLog.rpc<Json[]>('activity_exchanges_for', { p_refs: [...ids], p_limit: 500 })
    if (own && !tied.some(e => e.id === own.id)) tied.unshift(own)
    const exchanges = tied.filter(e => e.kind !== 'webhook')
    const webhooks = tied.filter(e => e.kind === 'webhook')
    return {
      channel,
      id,
      direct: own?.direct === true,
      row: row ?? null,
      content: markCut(contentOf(channel, row ?? null, exchanges, webhooks), [...exchanges, ...webhooks]),
      timeline: timelineOf(channel, row ?? null, exchanges, webhooks, ids),
      exchanges: exchanges.map(exchangeView),
      webhooks: webhooks.map(exchangeView)
    }
  })

  app.get('/api/admin/messages/:channel', {
    schema: { tags, security, summary: 'What was sent to one recipient, newest first: for a test suite to assert on (the subject and text of the last email to an address)', params: messagesParamsSchema(LOGGED_SERVICES), querystring: MessagesQuerySchema, response: { 200: MessagesReplySchema, ...errorResponses } }
  }, async (request) => {
    const { channel } = request.params
    const { to, since, limit } = request.query
    const found = await activityLog.rpc<Array<{ exchange: Json, row: Json | null }>>('activity_messages', { p_channel: channel, p_to: to, p_since: since ?? null, p_limit: limit })
    return {
      items: await Promise.all(found.map(async ({ exchange, row }) => {
        // A call's transcript arrives with Bolna's status posts, not in the request that placed it.
        const webhooks = channel === 'voice' && typeof exchange.provider_id === 'string'
          ? (await activityLog.rpc<Json[]>('activity_exchanges_for', { p_refs: [exchange.provider_id], p_limit: 50 })).filter(e => e.kind === 'webhook')
          : []
        const content = markCut(contentOf(channel, row ? { ...row, to_email: row.contact } as Row : { to_email: to } as Row, [exchange], webhooks), [exchange, ...webhooks]) ?? {}
        const text = channel === 'email' ? str(content.text) : channel === 'whatsapp' ? str(content.rendered) : channel === 'voice' ? str(content.transcript_text) : channel === 'payments' ? str(content.purpose) : str(content.text)
        // The recipient as it was sent: `?to=+91…` unencoded in a URL reads as " 91…". The stored
        // contacts are lower-cased and list every recipient of the request, so a direct email's
        // address is the one of its content that matches `to`.
        const sentTo = channel === 'email' ? [content.to, content.cc, content.bcc].flatMap(v => Array.isArray(v) ? v : []) : []
        const asked = sentTo.filter(v => str(v)?.toLowerCase() === to.trim().toLowerCase())
        const contacts = [...asked, ...(Array.isArray(exchange.contacts) ? exchange.contacts : [])]
        return {
          id: String(row?.id ?? exchange.id),
          channel,
          direct: exchange.direct === true,
          to: str(row?.contact) ?? str(contacts[0]) ?? to.trim(),
          status: String(row?.status ?? exchange.status_code),
          created_at: String(row?.created_at ?? exchange.created_at),
          subject: channel === 'email' ? str(content.subject) : null,
          text,
          html: channel === 'email' ? str(content.html) : null,
          content
        }
      }))
    }
  })

  // --- the live stream: one poller for every open stream, running only while one is open ---

  interface Client { res: ServerResponse, channel: ActivityChannelName | undefined }
  const clients = new Set<Client>()
  let poller: NodeJS.Timeout | undefined
  let keepAlive: NodeJS.Timeout | undefined
  let polling = false
  // Where the stream is in the order of changes: the changed_at (real time on the database's clock,
  // never the test clock's) and key of the last change read; activity_stream_changes also reads
  // the OVERLAP_MS before it again.
  let cursor: Cursor | undefined
  // What was sent lately, so the overlap of two polls sends nothing twice.
  let sent = new Map<string, number>()
  // Rows are committed a little after their changed_at is taken: each poll looks this far back.
  const OVERLAP_MS = 5_000

  const write = (client: Client, text: string) => {
    if (!client.res.writableEnded && !client.res.destroyed) client.res.write(text)
  }

  interface Cursor { at: string, key: string | null }
  interface Changes { cursor: Cursor, items: ActivityItem[] }

  /** The database's time now: the cursor a stream opened now starts from (its clock, not ours). */
  async function startCursor (): Promise<Cursor> {
    try {
      return (await activityLog.rpc<Changes>('activity_stream_changes', { p_after: null }, { flush: false })).cursor
    } catch (err) {
      app.log.warn({ err }, 'activity stream: could not read the database\'s time; starting from this host\'s')
      return { at: new Date(Date.now() - OVERLAP_MS).toISOString(), key: null }
    }
  }

  async function poll (): Promise<void> {
    if (polling || clients.size === 0 || cursor === undefined) return
    polling = true
    try {
      const changes = await activityLog.rpc<Changes>('activity_stream_changes', { p_after: cursor.at, p_after_key: cursor.key, p_channel: null, p_limit: 1000, p_overlap_ms: OVERLAP_MS }, { flush: false })
      const now = Date.now()
      for (const item of changes.items) {
        const key = `${item.channel}:${item.id}:${item.changed_at}:${item.status}`
        if (sent.has(key)) continue
        sent.set(key, now)
        const text = `event: activity\ndata: ${JSON.stringify(item)}\n\n`
        for (const client of clients) if (client.channel === undefined || client.channel === item.channel) write(client, text)
      }
      cursor = changes.cursor
      if (sent.size > 20_000) sent = new Map([...sent].filter(([, at]) => now - at < 2 * OVERLAP_MS))
    } catch (err) {
      app.log.warn({ err }, 'activity stream: could not read changes; retrying')
    } finally {
      polling = false
    }
  }

  function stopTimers (): void {
    clearInterval(poller)
    clearInterval(keepAlive)
    poller = keepAlive = undefined
  }

  app.get('/api/admin/activity/stream', {
    schema: {
      tags,
      security,
      summary: 'Server-sent events: an "activity" event (a list item) for every new item and every status change; read it with fetch (the admin token in the Authorization header)',
      querystring: ActivityStreamQuerySchema,
      produces: ['text/event-stream'],
      response: { 200: { description: 'text/event-stream: "event: ready", then "event: activity" with a JSON list item as data', type: 'string' }, ...errorResponses }
    }
  }, async (request, reply) => {
    const client: Client = { res: reply.raw, channel: request.query.channel }
    // Every change after "ready" is sent: the first stream starts the cursor at the database's now.
    if (clients.size === 0) cursor = await startCursor()
    reply.hijack()
    // Gone while the cursor was read: its 'close' has already been emitted.
    if (request.raw.socket.destroyed) return
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      'x-content-type-options': 'nosniff',
      'x-request-id': String(request.id)
    })
    clients.add(client)
    write(client, `retry: 2000\nevent: ready\ndata: ${JSON.stringify({ at: new Date().toISOString() })}\n\n`)
    const gone = () => {
      clients.delete(client)
      if (clients.size === 0) stopTimers()
    }
    reply.raw.on('close', gone)
    poller ??= setInterval(() => { void poll() }, streamPollMs)
    keepAlive ??= setInterval(() => { for (const c of clients) write(c, ': keep-alive\n\n') }, keepAliveMs)
  })

  // Open streams end when the gateway closes, so close() does not wait on them.
  app.addHook('preClose', (done) => {
    stopTimers()
    for (const client of clients) client.res.end()
    clients.clear()
    done()
  })
}
