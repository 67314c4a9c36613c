import { randomId22 } from '@switchboard/service-kit/ids'
import type { FastifyInstance, FastifyReply } from 'fastify'
import { Type } from '@sinclair/typebox'
import { systemClock, type Clock } from '@switchboard/service-kit/clock'
import type { EmulatorAccount } from '@switchboard/service-kit/emulator-account'
import { clientGone, readSimulationHeaders, type Simulator } from '@switchboard/service-kit/simulation'
import type { WebhookSender } from '@switchboard/service-kit/webhook-sender'
import { magicFate, type Fate } from './magic.ts'
import { loadSigningKey } from './event-webhook.ts'
import { eventPostHeaders, LOG_ID_ARG, newEventId, serializeEvents, type SendGridEvent } from '../sendgrid-webhooks.ts'
import { webhookSettingsRoutes } from './webhook-settings-routes.ts'
import { selects, WebhookSettings, type EventWebhook } from './webhook-settings.ts'
import { scheduledSendRoutes } from './scheduled-send-routes.ts'
import { ScheduledSends } from './scheduled-sends.ts'
import { day, MailStats } from './stats.ts'
import type { SendGridPersistence } from './persist.ts'
import { validateMail, type MailSummary, type SendGridError } from './validate-mail.ts'

export interface SendGridEmulatorOptions {
  simulator: Simulator
  webhookSender: WebhookSender
  /** Where the legacy (oldest) webhook posts until a URL is set through the settings API. */
  defaultEventWebhookUrl: () => string | undefined
  /** Keeps the signing key stable across restarts. */
  dataDir?: string
  /** INTERNAL_TOKEN from the environment: the account's signing key is derived from it (several instances agree). */
  derivedFrom?: string | undefined
  /** Gap between a message's successive events (processed → delivered → opened ...). */
  eventGapMs?: { min: number, max: number }
  /** How often due events are posted, in batches of up to 1,000. */
  eventFlushMs?: number
  /** The time held sends and due events are measured against. Default: the system clock. */
  clock?: Clock
  /**
   * Where stats, batches, held sends and webhook settings are kept (persist.ts): without it they
   * live in memory only and a restart drops them.
   */
  persistence?: SendGridPersistence
  /** Whose API keys are taken (EMULATOR_AUTH); without it, any `SG.<id>.<secret>` key is. */
  account?: EmulatorAccount<'apiKey'>
}

/** What a held (scheduled) send keeps to play its events at its send_at. */
/** A scenario step's times for one recipient's later events: seconds after the send, by event name. */
type EventTimes = Record<string, number> | undefined

interface HeldMail { messageId: string, summary: Pick<MailSummary, 'recipients' | 'categories'>, fates: Array<Fate | 'random_fail' | undefined>, times?: EventTimes[] }

const MAX_BODY = 30 * 1024 * 1024
/** The outbox label of an event post; `sendgrid.events:<webhook id>` when it came from a configured webhook. */
const EVENTS_LABEL = 'sendgrid.events'

/** Defines a key as a spread would: a custom arg named "__proto__" stays an ordinary field. */
function setOwn (target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
  else target[key] = value
}
export const errorBody = (errors: SendGridError[]) => ({ errors })

export const single = (message: string, field: string | null = null): SendGridError => ({ message, field, help: null })

/**
 * The SendGrid v3 API as the emulator serves it, mounted under /sendgrid. Anything that speaks
 * SendGrid (our client, @sendgrid/mail, curl) can be pointed at it.
 */
export async function sendgridEmulator (app: FastifyInstance, opts: SendGridEmulatorOptions): Promise<void> {
  const { simulator, webhookSender } = opts
  const { persistence } = opts
  const key = loadSigningKey(opts.dataDir, opts.derivedFrom)
  const gap = opts.eventGapMs ?? { min: 50, max: 400 }
  const clock = opts.clock ?? systemClock
  // Counted by the day on the emulators' clock, as every record is dated (README: Test clock).
  const stats = new MailStats(persistence ? (d, metrics) => persistence.statsChanged(d, metrics) : undefined, () => clock.now())
  const scheduled = new ScheduledSends(clock, (data, at) => { const h = data as HeldMail; playEvents(h.messageId, h.summary, h.fates, h.times, at) }, persistence)
  const settings = new WebhookSettings({ clock, legacyKey: key, defaultUrl: opts.defaultEventWebhookUrl })
  if (persistence) {
    await persistence.restore(stats, scheduled, settings)
    persistence.start({
      intervalMs: 1_000,
      stats,
      scheduled,
      settings,
      // Another instance reset the emulator: this one's copies go too (its default webhook is
      // already stored by the instance that reset).
      cleared: () => { stats.reset(); scheduled.reset(); due.length = 0; settings.reset() },
      onError: err => app.log.warn({ err }, 'SendGrid emulator: state from other instances could not be read')
    })
  }

  // The official client posts `POST /v3/mail/batch` as JSON with no body at all; SendGrid takes it.
  const json = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') done(null, undefined)
    else json(request, body as string, done)
  })

  // The v3 API reads JSON only: a body of any other type (text/plain included, which Fastify
  // would otherwise parse) is SendGrid's 415, whose body integrators have recorded many times
  // (sendgrid-nodejs #248, sendgrid-php #580).
  app.removeContentTypeParser('text/plain')

  // SendGrid errors are always its own envelope, never ours.
  app.setErrorHandler((error, _request, reply) => {
    const status = (error as { statusCode?: number }).statusCode ?? 500
    if (status === 413) return reply.code(413).send(errorBody([{ message: 'content too large', field: null, help: null }]))
    if (status === 415) return reply.code(415).send(errorBody([single('Content-Type should be application/json.')]))
    // tsg_mail_v3's PostMailSend500 example's message.
    if (status >= 500) return reply.code(500).send(errorBody([single('internal server error')]))
    // A schema failure names its field, in SendGrid's dotted style (batch_id, personalizations.0).
    const validation = (error as { validation?: Array<{ instancePath: string, message?: string, params?: { missingProperty?: string } }> }).validation
    if (validation?.[0]) {
      const v = validation[0]
      const path = [...v.instancePath.split('/').filter(Boolean), ...(v.params?.missingProperty ? [v.params.missingProperty] : [])].join('.')
      return reply.code(400).send(errorBody([single(`${path || 'body'} ${v.message ?? 'is invalid'}`, path || null)]))
    }
    return reply.code(400).send(errorBody([single('Bad Request')]))
  })
  app.setNotFoundHandler((_request, reply) => reply.code(404).send(errorBody([single('not found')])))

  // Every v3 response carries the rate-limit headers (no fixed numbers are published). Under a
  // scenario's rate limit they count it down; with none, a minute's window far from its end; a
  // 429 always says nothing is left until the reset.
  // (Callback-style hooks: these run on every request, and async ones cost a promise each.)
  app.addHook('onSend', (_request, reply, payload, done) => {
    const window = simulator.rateWindow()
    const now = clock.now()
    const limited = reply.statusCode === 429
    reply.header('x-ratelimit-limit', String(window?.limit ?? 10_000))
    reply.header('x-ratelimit-remaining', String(limited ? 0 : window?.remaining ?? 9_999))
    reply.header('x-ratelimit-reset', String(Math.ceil((window?.resetAtMs ?? (limited ? now + 1_000 : now + 60_000)) / 1000)))
    done(null, payload)
  })

  // Any SG.<id>.<secret> key is accepted, or only the stack's own (EMULATOR_AUTH=issued). A hook
  // that answers does not call done().
  app.addHook('onRequest', (request, reply, done) => {
    const auth = request.headers.authorization
    if (!auth) return reply.code(401).send(errorBody([single('authorization required')]))
    if (!/^Bearer SG\.[\w-]+\.[\w-]+$/.test(auth) || (opts.account && !opts.account.accepts('apiKey', auth.slice(7)))) {
      return reply.code(401).send(errorBody([single('The provided authorization grant is invalid, expired, or revoked')]))
    }
    done()
  })

  // Events wait here until due and go out together, like SendGrid's own batching: under load
  // this is a few posts per tick instead of several per message.
  const due: Array<{ at: number, event: SendGridEvent }> = []
  const tick = setInterval(() => {
    scheduled.releaseDue()
    if (!due.length) return
    const now = clock.now()
    const ready: SendGridEvent[] = []
    let keep = 0
    for (const d of due) {
      if (d.at <= now) ready.push(d.event)
      else due[keep++] = d
    }
    due.length = keep
    postEvents(ready)
  }, opts.eventFlushMs ?? 100)
  tick.unref()
  app.addHook('onClose', async () => { clearInterval(tick); await persistence?.close() })

  app.onMockReset(async () => {
    simulator.restart()
    stats.reset()
    scheduled.reset()
    due.length = 0
    settings.reset()
    if (persistence) {
      await persistence.clear()
      persistence.setUp(settings)
    }
  })

  // The signature's freshness: real time, as the receiver checks it (README: not on the clock).
  const nowSeconds = () => String(Math.floor(Date.now() / 1000))

  /** Posts events to every enabled webhook that selects them, each signed with its own key. */
  function postEvents (events: SendGridEvent[]): void {
    if (events.length === 0) return
    for (const hook of settings.all()) {
      const url = settings.urlOf(hook)
      if (!hook.enabled || !url) continue
      const selected = events.filter(e => selects(hook, e))
      for (let i = 0; i < selected.length; i += 1000) postBatch(url, hook, selected.slice(i, i + 1000))
    }
  }

  function postBatch (url: string, hook: EventWebhook | undefined, events: SendGridEvent[]): void {
    const body = serializeEvents(events)
    const headers = eventPostHeaders(hook?.signed ? hook.key.privateKey : undefined, nowSeconds(), body)
    webhookSender.send({ url, body, headers, label: hook === undefined ? EVENTS_LABEL : `${EVENTS_LABEL}:${hook.id}` })
  }

  // A retry (or a post replayed after a restart) is signed at its own time with its webhook's key
  // as it is then, so the receiver's freshness check (SENDGRID_WEBHOOK_MAX_AGE_S) passes; a webhook
  // deleted or made unsigned meanwhile posts what was stored. (Unverified whether SendGrid re-signs
  // its retries; it is the only way they could pass a receiver that checks the timestamp's age.)
  webhookSender.signAttempts(delivery => {
    const hook = settings.get(delivery.label.slice(EVENTS_LABEL.length + 1))
    return hook?.signed ? eventPostHeaders(hook.key.privateKey, nowSeconds(), String(delivery.body)) : undefined
  })

  /**
   * Plays each recipient's life as events, batched per step across the whole request. A
   * recipient whose scenario step names times (`times`: seconds after now, by event) has those
   * events due then on the clock, stamped with their own time; its events not named follow the
   * one before after the step's usual gap.
   */
  function playEvents (messageId: string, summary: Pick<MailSummary, 'recipients' | 'categories'>, fates: Array<Fate | 'random_fail' | undefined>, times?: EventTimes[], sentAt = clock.now()): void {
    const smtpId = `<${messageId}@ismtpd0001p1mum1.sendgrid.net>`
    const steps: SendGridEvent[][] = [[], [], [], []]
    const timed: Array<{ recipient: number, step: number, event: SendGridEvent }> = []
    const timestamp = Math.floor(sentAt / 1000)
    const category = summary.categories.length ? summary.categories : undefined
    summary.recipients.forEach((r, i) => {
      const sgMessageId = `${messageId}.filterdrecv-5bd7b8f9d-switchboard-${r.personalization}-${i}.0`
      // Built by assignment rather than spreads (this runs several times per recipient); the key
      // order and the precedence (custom args after the fixed fields, the event's own last) hold.
      const ev = (event: string, extra?: Record<string, unknown>): SendGridEvent => {
        const e: Record<string, unknown> = { email: r.email, timestamp, 'smtp-id': smtpId, sg_event_id: newEventId(), sg_message_id: sgMessageId }
        if (category) e.category = category
        for (const k in r.customArgs) setOwn(e, k, r.customArgs[k])
        e.event = event
        for (const k in extra) e[k] = extra[k]
        return e as SendGridEvent
      }
      const delivered = ev('delivered', { response: '250 OK', ip: '149.72.154.232', tls: 1 })
      stats.add('requests'); stats.add('processed')
      // A timed recipient's events are set apart (same steps) and given their times below.
      const ownSteps: SendGridEvent[][] = times?.[i] === undefined ? steps : [[], [], [], []]
      ownSteps[0]!.push(ev('processed'))
      switch (fates[i]) {
        case 'bounce':
          stats.add('bounces')
          ownSteps[1]!.push(ev('bounce', { reason: '550 5.1.1 The email account that you tried to reach does not exist.', status: '5.1.1', type: 'bounce', ip: '149.72.154.232', tls: 1, bounce_classification: 'Invalid Address' }))
          break
        case 'random_fail':
          stats.add('blocks')
          ownSteps[1]!.push(ev('bounce', { reason: '550 5.7.1 Message blocked (simulated failure from the Switchboard success rate)', status: '5.7.1', type: 'blocked', ip: '149.72.154.232', tls: 1, bounce_classification: 'Reputation' }))
          break
        case 'drop':
          stats.add('bounce_drops')
          ownSteps[1]!.push(ev('dropped', { reason: 'Bounced Address', status: '5.0.0' }))
          break
        case 'defer':
          stats.add('deferred'); stats.add('delivered')
          ownSteps[1]!.push(ev('deferred', { response: '400 try again later', attempt: '1', ip: '149.72.154.232' }))
          ownSteps[2]!.push(delivered)
          break
        case 'open':
          stats.add('delivered'); stats.add('opens'); stats.add('unique_opens'); stats.add('clicks'); stats.add('unique_clicks')
          ownSteps[1]!.push(delivered)
          ownSteps[2]!.push(ev('open', { useragent: 'Mozilla/5.0', ip: '203.0.113.7', sg_machine_open: false }))
          ownSteps[3]!.push(ev('click', { url: 'https://example.com/', url_offset: { index: 0, type: 'html' }, useragent: 'Mozilla/5.0', ip: '203.0.113.7' }))
          break
        case 'spam':
          stats.add('delivered'); stats.add('spam_reports')
          ownSteps[1]!.push(delivered)
          ownSteps[2]!.push(ev('spamreport'))
          break
        default:
          stats.add('delivered')
          ownSteps[1]!.push(delivered)
      }
      if (ownSteps !== steps) ownSteps.forEach((events, step) => { for (const event of events) timed.push({ recipient: i, step, event }) })
    })
    const start = sentAt
    let at = start
    const stepGaps: number[] = []
    for (const [k, events] of steps.entries()) {
      // A gap is drawn for each step that has events (as many draws as without timed recipients: a seeded run is unchanged).
      if (!events.length && !timed.some(e => e.step === k)) continue
      stepGaps[k] = gap.min + Math.round(simulator.random() * (gap.max - gap.min))
      if (!events.length) continue
      at += stepGaps[k]
      for (const event of events) due.push({ at, event })
    }
    // Timed recipients: a named event at its time; the others after the one before, by the step's gap.
    const last = new Map<number, number>()
    for (const { recipient, step, event } of timed) {
      const named = times?.[recipient]?.[event.event]
      const when = named !== undefined ? start + named * 1000 : (last.get(recipient) ?? start) + (stepGaps[step] ?? gap.min)
      last.set(recipient, when)
      event.timestamp = Math.floor(when / 1000)
      due.push({ at: when, event })
    }
  }

  async function simulatedFailure (reply: FastifyReply, outcome: 'failure' | 'outage' | 'rate_limited' | 'timeout', delayMs: number) {
    await simulator.wait(delayMs, () => clientGone(reply.raw))
    reply.header('x-switchboard-simulated', outcome)
    if (outcome === 'rate_limited') {
      reply.header('retry-after', simulator.retryAfter())
      // The documented 429 body has no "help" key.
      return reply.code(429).send({ errors: [{ field: null, message: 'too many requests' }] })
    }
    if (outcome === 'timeout') return reply.code(504).send(errorBody([single('gateway timeout')]))
    return reply.code(503).send(errorBody([single('service unavailable')]))
  }

  // The spec documents 405 for mail/send; its example body, with our null help.
  app.route({
    method: ['GET', 'PUT', 'PATCH', 'DELETE'],
    url: '/v3/mail/send',
    handler: async (_request, reply) => reply.code(405).header('allow', 'POST').send(errorBody([single('method not allowed')]))
  })

  // Mail send takes a gzip-compressed body, sent with Content-Encoding: gzip (the spec's
  // ContentEncoding; providers.md §1: only for high-volume accounts SendGrid has enabled). The
  // emulated account is taken to be enabled (unverified: what SendGrid answers an account that is
  // not is unknown). service-kit inflates it (gzipBody) and limits what it inflates to.
  app.post('/v3/mail/send', { bodyLimit: MAX_BODY + 1024 * 1024, schema: {}, config: { gzipBody: true } }, async (request, reply) => {
    if (Number(request.headers['content-length'] ?? 0) > MAX_BODY) {
      return reply.code(413).send(errorBody([{ message: 'content too large', field: null, help: null }]))
    }
    const result = validateMail(request.body, clock.now())
    if (result.errors.length) return reply.code(400).send(errorBody(result.errors))
    const { summary } = result as { summary: MailSummary }
    if (summary.batchId !== undefined && !await scheduled.known(summary.batchId)) {
      return reply.code(400).send(errorBody([single('invalid batch id', 'batch_id')]))
    }

    const forced = readSimulationHeaders(request.headers)
    // A seeded run: this mail's fate follows from what it is (sender, recipients, subject,
    // content), not from when it arrived. Custom args carry the service's row ids: left out.
    const mail = request.body as { subject?: unknown, content?: unknown, template_id?: unknown }
    const draws = simulator.forRequest([summary.from, summary.recipients.map(r => r.email), mail.subject, mail.content, mail.template_id])
    // The README's order of precedence: the outcome header, then a scenario's period or rate
    // limit, then a story's step, then the fault scenario setting, magic recipients and the
    // success rate. A send SendGrid is down for or rate limits takes no step of its stories and is
    // refused for nothing else (reject@ gets the 429 too, not its 400).
    const preempted = draws.preempt(forced)
    if (preempted !== undefined && preempted.outcome !== 'success') return simulatedFailure(reply, preempted.outcome, preempted.delayMs)

    // A scripted scenario's story (e.g. delivered, then opened and clicked) is above the magic recipients.
    const stories = summary.recipients.map(r => simulator.story(r.email, forced.scenario))
    const fates = summary.recipients.map((r, i) => (stories[i]?.fate as Fate | undefined) ?? (stories[i]?.outcome === 'failure' ? 'fail' : undefined) ?? magicFate(r.email))
    const rejected = fates.findIndex(f => f === 'reject')
    const unverified = magicFate(summary.from) === 'reject' || summary.from.startsWith('unverified@')
    const allDeliver = fates.every(f => f === 'deliver')
    const several = summary.recipients.length > 1
    // A lone recipient's step decides the request, above the fault setting (as the story's
    // failure, or any other step, lets it through and decides its events); among several, a step
    // decides only its recipient's fate, as a magic recipient does.
    const step = several ? undefined : stories[0]
    const storyOutcome = step?.outcome ?? (step?.fate === undefined ? undefined : step.fate === 'fail' ? 'failure' : 'success')
    // `fail@` (and a story's failure) is a random failure made certain: with one recipient the
    // request fails; with several SendGrid accepts the request and the unlucky recipients bounce,
    // so bulk sends see the success rate per recipient. Only a forced outcome fails a whole bulk. A
    // refused recipient or sender draws no failure: it is refused below, once the fault setting
    // has had its say.
    const magic = rejected >= 0 || unverified ? 'success' : !several && fates[0] === 'fail' ? 'failure' : allDeliver ? 'success' : undefined
    const decision = preempted ?? draws.settle({ story: storyOutcome, magic, latencyMs: forced.latencyMs })
    // (A failure here is the success rate's: the header and a period answered above.)
    if (decision.outcome === 'failure' && several) decision.outcome = 'success'
    if (decision.outcome !== 'success') return simulatedFailure(reply, decision.outcome, decision.delayMs)
    if (rejected >= 0) {
      const r = summary.recipients[rejected]!
      // The field names the refused address where it is (personalizations.0.cc.1.email), and the
      // help its list's anchor, as the validation errors do (the reference's example is to.0's).
      const at = r.at ?? `personalizations.${r.personalization}.to.0`
      return reply.code(400).send(errorBody([{ message: 'Does not contain a valid address.', field: `${at}.email`, help: `http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message.personalizations.${at.split('.')[2]}` }]))
    }
    if (unverified) {
      return reply.code(403).send(errorBody([{ message: 'The from address does not match a verified Sender Identity. Mail cannot be sent until this error is resolved. Visit https://sendgrid.com/docs/for-developers/sending-email/sender-identity/ to see the Sender Identity requirements', field: 'from', help: null }]))
    }

    await simulator.wait(decision.delayMs, () => clientGone(reply.raw))
    if (summary.sandbox) return reply.code(200).send()

    // Traffic that did not come through Switchboard's API (an SDK, curl: any SG. key) cannot speak
    // for its rows: its sb_log_id is not echoed in its events, or a direct send could move another
    // email's row to bounced or spam. The service's own sends carry the internal credential.
    if (!request.fromGateway) for (const r of summary.recipients) delete r.customArgs[LOG_ID_ARG]
    const messageId = randomId22()
    const perRecipient = fates.map(f => f === 'fail' ? 'random_fail' as const : f ?? (several && !forced.force && !draws.succeeds() ? 'random_fail' as const : undefined))
    // A scheduled message waits in the queue (its events come after its send_at); a past or
    // present send_at goes out at once, as SendGrid sends it.
    // A scenario step may say when its events happen (e.g. opened two minutes after the send).
    const times = stories.some(st => st?.at_s) ? stories.map(st => st?.at_s) : undefined
    const held = (): HeldMail => ({ messageId, summary: { recipients: summary.recipients, categories: summary.categories }, fates: perRecipient, ...(times ? { times } : {}) })
    if (summary.sendAt !== undefined && summary.sendAt * 1000 > clock.now()) {
      scheduled.hold(summary.sendAt, summary.batchId, messageId, held())
    } else if (summary.batchId !== undefined && scheduled.status(summary.batchId)) {
      scheduled.hold(Math.floor(clock.now() / 1000), summary.batchId, messageId, held())
    } else {
      playEvents(messageId, summary, perRecipient, times)
    }
    return reply.code(202).header('x-message-id', messageId).send()
  })

  const StatsQuery = Type.Object({
    start_date: Type.Optional(Type.String()),
    end_date: Type.Optional(Type.String()),
    aggregated_by: Type.Optional(Type.String()),
    limit: Type.Optional(Type.String()),
    offset: Type.Optional(Type.String())
  })
  app.get('/v3/stats', { schema: { querystring: StatsQuery } }, async (request, reply) => {
    const q = request.query as { start_date?: string, end_date?: string, aggregated_by?: string, limit?: string, offset?: string }
    // A calendar day written YYYY-MM-DD: Date.parse alone takes 2024-02-30 (as 1 March).
    const isDate = (s: string | undefined) => !!s && /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(s)) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s)
    if (!q.start_date) return reply.code(400).send(errorBody([single('missing required argument', 'start_date')])) // (unverified) wording
    if (!isDate(q.start_date)) return reply.code(400).send(errorBody([single('invalid date format, expected YYYY-MM-DD', 'start_date')])) // (unverified)
    const end = q.end_date ?? day(new Date(clock.now()))
    // With no end_date (today by default), a start_date in the future is the one to name. (unverified) wording
    if (q.end_date === undefined && end < q.start_date) return reply.code(400).send(errorBody([single('start_date must not be in the future', 'start_date')]))
    if (!isDate(end) || end < q.start_date) return reply.code(400).send(errorBody([single('end_date must be a YYYY-MM-DD date on or after start_date', 'end_date')])) // (unverified)
    if ((Date.parse(end) - Date.parse(q.start_date)) / 86_400_000 > 1000) return reply.code(400).send(errorBody([single('the date range is limited to 1000 days', 'start_date')])) // (unverified)
    if (q.aggregated_by && !['day', 'week', 'month'].includes(q.aggregated_by)) return reply.code(400).send(errorBody([single('aggregated_by must be day, week or month', 'aggregated_by')]))
    // The spec types limit and offset as integers; a count is not negative, and a page of nothing
    // is no page (limit 0 refused). (unverified) wordings, in the style of the ones above.
    if (q.limit !== undefined && !/^[1-9]\d{0,8}$/.test(q.limit)) return reply.code(400).send(errorBody([single('limit must be a positive integer', 'limit')]))
    if (q.offset !== undefined && !/^\d{1,9}$/.test(q.offset)) return reply.code(400).send(errorBody([single('offset must be a non-negative integer', 'offset')]))
    const rows = stats.query(q.start_date, end, q.aggregated_by as 'day' | 'week' | 'month' | undefined)
    // (unverified) what SendGrid pages over; the only list here is the dates, oldest first.
    const offset = Number(q.offset ?? 0)
    return q.limit === undefined && offset === 0 ? rows : rows.slice(offset, q.limit === undefined ? undefined : offset + Number(q.limit))
  })

  const testEvent = (): SendGridEvent => ({ email: 'example@test.com', timestamp: Math.floor(clock.now() / 1000), event: 'processed', sg_event_id: newEventId(), sg_message_id: '14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0', 'smtp-id': '<14c5d75ce93.dfd.64b469@ismtpd-555>' })
  // Settings and batches are stored before they are answered (waiting at most 2 s for the database;
  // past that the change stays queued and is retried).
  const stored = persistence ? () => persistence.state.flush(2_000).catch((err: unknown) => { app.log.warn({ err }, 'SendGrid emulator: a settings change is not stored yet') }) : undefined
  await app.register(webhookSettingsRoutes, { settings, stored, find: async id => settings.get(id) ?? await persistence?.findWebhook(id), postTest: (url, hook) => postBatch(url, hook, [testEvent()]) })
  await app.register(scheduledSendRoutes, { scheduled, stored })
}
