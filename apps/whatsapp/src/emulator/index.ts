import { randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { clientGone, readSimulationHeaders, type Draws, type Outcome, type Simulator } from '@switchboard/service-kit/simulation'
import type { WebhookSender } from '@switchboard/service-kit/webhook-sender'
import { magicFate, type Fate } from './magic.ts'
import { randomHex } from '@switchboard/service-kit/ids'
import { systemClock, type Clock } from '@switchboard/service-kit/clock'
import type { EmulatorAccount } from '@switchboard/service-kit/emulator-account'
import { inboundNotification, statusNotification, type AiSensyNotification, type MessageStatus } from '../aisensy-webhooks.ts'
import { ERRORS, seedCampaigns, validateSend, type AiSensyError, type CampaignSend } from './validate-campaign.ts'
import type { AiSensyPersistence, LifeStep, MessageLife } from './persist.ts'

export interface AiSensyEmulatorOptions {
  simulator: Simulator
  webhookSender: WebhookSender
  /**
   * The project webhook set in AiSensy's dashboard, secret token included: status changes and
   * inbound messages are posted there, one notification per request, as AiSensy posts them.
   */
  webhookUrl: () => string | undefined
  /** Filled in with what the service's admin routes drive (a simulated inbound message). */
  controls?: AiSensyEmulatorControls
  /** Gap between a message's successive statuses (sent → delivered → read). */
  statusGapMs?: { min: number, max: number }
  /** How often due status changes are posted. */
  statusFlushMs?: number
  /** Share of delivered messages that are read (not magic ones). (unverified: a plausible rate.) */
  readRate?: number
  /**
   * Where pending notifications and the project id are kept (persist.ts): without it they live in
   * memory only and a restart drops them.
   */
  persistence?: AiSensyPersistence
  /** A message's next notification this overdue is taken over from a stopped instance. Default 5 s. */
  adoptGraceMs?: number
  /** The emulators' clock (the admin API's test clock): when status changes fall due. */
  clock?: Clock
  /** Whose API keys are taken (EMULATOR_AUTH); without it, any well-formed JWT is. */
  account?: EmulatorAccount<'apiKey'>
}

const JSON_TYPE = 'application/json; charset=utf-8'
export interface AiSensyEmulatorControls {
  simulateInbound?: (input: { phone: string, text: string, name: string | null }) => { notificationId: string, messageId: string } | undefined
}

/** Magic number +919000000009 answers every message with this, after reading it. */
export const AUTO_REPLY_TEXT = 'Yes, please go ahead.'
/** Status changes waiting for their time; beyond this the newest messages get none (memory stays bounded). */
export const MAX_PENDING = 500_000

/** One notification waiting for its time: step `index` of a message's life. Its JSON is written only when it is posted. */
interface Pending { life: MessageLife, index: number }

/**
 * The AiSensy campaign API as the emulator serves it, mounted under /aisensy:
 * POST /campaign/t1/api/v2 and the v1 path POST /campaign/t1/api. Any AiSensy client (ours, curl,
 * another team's code) can be pointed at http://127.0.0.1:3002/aisensy instead of
 * https://backend.aisensy.com.
 */
export async function aisensyEmulator (app: FastifyInstance, opts: AiSensyEmulatorOptions): Promise<void> {
  const { simulator, webhookSender } = opts
  const { persistence } = opts
  let campaigns = seedCampaigns()
  const gap = opts.statusGapMs ?? { min: 100, max: 600 }
  // One emulated project: its id is on every notification, as AiSensy's project id is (stored, so
  // every instance and every restart posts the same one).
  const projectId = persistence ? await persistence.projectId(randomHex(12)) : randomHex(12)
  // The messages this instance posts notifications for, by id.
  const lives = new Map<string, MessageLife>()
  const readRate = opts.readRate ?? 0.7

  const send = (reply: FastifyReply, e: AiSensyError) => reply.code(e.status).send(e.body)

  // AiSensy's answers are always its own, never our envelope. A body that is not JSON, or not
  // parseable, is a 400 in the full envelope (unverified: no one recorded it).
  app.setErrorHandler((error, _request, reply) => {
    const status = (error as { statusCode?: number }).statusCode ?? 500
    if (status >= 500) return send(reply, ERRORS.internal())
    return send(reply, ERRORS.badBody())
  })
  // The backend is an Express app; an unknown path gets Express's HTML 404 (unverified).
  app.setNotFoundHandler((request, reply) => reply.code(404).type('text/html; charset=utf-8').send(
    `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Error</title>\n</head>\n<body>\n<pre>Cannot ${request.method} ${request.url.split('?')[0]!.replace(/[<>&"]/g, '')}</pre>\n</body>\n</html>\n`))

  // Status changes wait in buckets, one per flush tick (keyed by the tick at or after which they
  // are due), so scheduling is a push and each tick takes only what is due: no pass over every
  // pending change, no timer per message.
  const tickMs = opts.statusFlushMs ?? 100
  const buckets = new Map<number, Pending[]>()
  let pending = 0
  const clock = opts.clock ?? systemClock
  let lastTick = Math.floor(clock.now() / tickMs)
  const tick = setInterval(() => {
    const now = Math.floor(clock.now() / tickMs)
    if (pending === 0) { lastTick = now; return }
    let ready: Pending[] = []
    // After a test clock's jump, fewer buckets than ticks passed: walk the buckets instead.
    const dueKeys = now - lastTick > buckets.size
      ? [...buckets.keys()].filter(k => k > lastTick && k <= now).sort((a, b) => a - b)
      : Array.from({ length: Math.max(0, now - lastTick) }, (_, i) => lastTick + 1 + i)
    for (const k of dueKeys) {
      const bucket = buckets.get(k)
      if (bucket === undefined) continue
      buckets.delete(k)
      ready = ready.length === 0 ? bucket : ready.concat(bucket)
    }
    lastTick = now
    pending -= ready.length
    post(ready)
  }, tickMs)
  tick.unref()
  app.addHook('onClose', async () => { clearInterval(tick); await persistence?.close() })
  const dropPending = () => {
    buckets.clear()
    pending = 0
    lives.clear()
  }
  // POST /admin/reset: pending status changes dropped (here and in the database: other instances
  // drop theirs within a second), campaigns back to the seeded ones.
  app.onMockReset(async () => {
    simulator.restart()
    dropPending()
    campaigns = seedCampaigns()
    if (persistence) {
      await persistence.clear()
      persistence.saveProject(projectId)
    }
  })
  if (persistence) {
    await persistence.markSync()
    // Once listening (the default webhook is this server's own receiver): messages another
    // instance left behind are taken over, and another instance's reset is followed.
    app.addHook('onListen', async () => {
      persistence.start({
        intervalMs: 1_000,
        graceMs: opts.adoptGraceMs ?? 5_000,
        driving: id => lives.has(id),
        adopt: life => { lives.set(life.id, life); for (let i = life.next; i < life.steps.length; i++) schedule(life, i) },
        cleared: () => { for (const life of lives.values()) persistence.dropped(life); dropPending() },
        onError: err => app.log.warn({ err }, 'AiSensy emulator: pending statuses could not be checked')
      })
    })
  }

  /** AiSensy posts one notification per request, with no signature: the URL's token is the secret. */
  function postNotification (url: string, notification: AiSensyNotification): void {
    // One message's statuses in turn (sent before delivered before read), as AiSensy posts them.
    const messageId = notification.data.message.id
    webhookSender.send({ url, body: JSON.stringify(notification), headers: { 'content-type': 'application/json', 'user-agent': 'Switchboard-AiSensy-Emulator/1.0' }, label: `aisensy.${notification.topic}`, ...(typeof messageId === 'string' ? { order: messageId } : {}) })
  }

  const digits = (e164: string) => e164.replace(/^\+/, '')

  function post (ready: Pending[]): void {
    const url = opts.webhookUrl()
    for (const { life, index } of ready) {
      // A step of a message this instance no longer drives (reset since) is not posted.
      if (lives.get(life.id) !== life || index < life.next) continue
      const step = life.steps[index]!
      if (url) {
        postNotification(url, step.kind === 'status'
          ? statusNotification({ projectId, messageId: life.id, status: step.status, atMs: step.at, phone: life.phone, userName: life.userName, campaignName: life.campaignName })
          : inboundNotification({ projectId, messageId: randomUUID(), atMs: step.at, phone: life.phone, userName: life.userName, text: AUTO_REPLY_TEXT }))
      }
      life.next = index + 1
      if (life.next >= life.steps.length) lives.delete(life.id)
      persistence?.saved(life)
    }
  }

  /** Step `index` of a message's life into the bucket of the first tick at or after its time. */
  function schedule (life: MessageLife, index: number): void {
    // A change is never posted before its time.
    const key = Math.max(Math.ceil(life.steps[index]!.at / tickMs), lastTick + 1)
    const p: Pending = { life, index }
    const bucket = buckets.get(key)
    if (bucket === undefined) buckets.set(key, [p])
    else bucket.push(p)
    pending++
  }

  /**
   * A customer's message to the business number, as AiSensy forwards it (topic
   * message.sender.user). Posted now; undefined when no project webhook is set.
   */
  function simulateInbound (input: { phone: string, text: string, name: string | null }): { notificationId: string, messageId: string } | undefined {
    const url = opts.webhookUrl()
    if (!url) return undefined
    const notification = inboundNotification({ projectId, messageId: randomUUID(), atMs: Date.now(), phone: digits(input.phone), userName: input.name, text: input.text })
    postNotification(url, notification)
    return { notificationId: notification.id, messageId: String(notification.data.message.id) }
  }
  if (opts.controls) opts.controls.simulateInbound = simulateInbound

  /**
   * Plays a message's life: sent, then delivered and maybe read, or failed; each a gap after the
   * one before. Only while a webhook is configured: AiSensy posts statuses to the project webhook
   * set in its dashboard, and a project without one gets none.
   */
  /** `times`: a scenario step's times for its statuses (seconds after now, by status or "reply"); the others follow after the usual gap. */
  function playStatuses (messageId: string, s: CampaignSend, fate: Fate | undefined, draws: Draws, times?: Record<string, number>): void {
    if (!opts.webhookUrl()) return
    if (pending >= MAX_PENDING) {
      app.log.warn({ pending, messageId }, 'AiSensy emulator: too many status changes pending; this message gets none')
      return
    }
    const start = clock.now()
    let at = start
    const steps: LifeStep[] = []
    const next = (name: string) => {
      const gapMs = gap.min + Math.round(simulator.random() * (gap.max - gap.min))
      const named = times?.[name]
      at = named !== undefined ? start + named * 1000 : at + gapMs
    }
    const status = (status: MessageStatus) => {
      next(status)
      steps.push({ kind: 'status', status, at })
    }
    status('sent')
    if (fate === 'fails_after_send') status('failed')
    else if (fate !== 'stays_sent') {
      status('delivered')
      if (fate === 'read' || fate === 'replies' || (fate !== 'delivered_unread' && draws.random() < readRate)) status('read')
      if (fate === 'replies') {
        next('reply')
        steps.push({ kind: 'reply', at })
      }
    }
    const life: MessageLife = { id: messageId, seq: persistence?.newSeq() ?? 0, phone: digits(s.destination), userName: s.userName, campaignName: s.campaign.name, steps, next: 0 }
    lives.set(messageId, life)
    for (let i = 0; i < steps.length; i++) schedule(life, i)
    persistence?.saved(life)
  }

  /**
   * The outcome a fate asks of the request: `error` fails it as a random failure would; every other
   * fate lets it through (the refusals among them answer after it, their own way).
   */
  const fateOutcome = (fate: Fate | undefined): 'success' | 'failure' | undefined =>
    fate === undefined ? undefined : fate === 'error' ? 'failure' : 'success'

  async function simulated (reply: FastifyReply, outcome: Exclude<Outcome, 'success'>, delayMs: number) {
    if (delayMs > 0) await simulator.wait(delayMs, clientGone(reply.raw))
    reply.header('x-switchboard-simulated', outcome)
    switch (outcome) {
      case 'rate_limited':
        // No rate limit is documented; a 429 in the full envelope with Retry-After (unverified).
        reply.header('retry-after', simulator.retryAfter())
        return send(reply, ERRORS.rateLimited())
      case 'timeout': return reply.code(504).send({})
      // A random failure and an outage alike: integrators recorded AiSensy's occasional failures
      // as 503 with an empty JSON body, not as its error envelope.
      default: return reply.code(503).send({})
    }
  }

  async function handle (request: FastifyRequest, reply: FastifyReply, version: 'v1' | 'v2') {
    const result = validateSend(request.body, campaigns, version, opts.account)
    if ('error' in result) return send(reply, result.error)
    const s = result.send
    const forced = readSimulationHeaders(request.headers)
    // A seeded run: this send's fate follows from what it is, not from when it arrived.
    const draws = simulator.forRequest([s.campaign.name, s.destination, s.userName, s.templateParams])
    // The README's order of precedence: the outcome header, then a scenario's period or rate
    // limit, then a story's step, then the fault scenario setting, magic numbers and the success
    // rate. A send that AiSensy is down for or rate limits takes no step of its story and is
    // refused for nothing else (+919000000001 gets the 429 too).
    const preempted = draws.preempt(forced)
    if (preempted !== undefined && preempted.outcome !== 'success') return simulated(reply, preempted.outcome, preempted.delayMs)
    // A scripted scenario's story (e.g. delivered and never read) is above the magic numbers.
    const story = simulator.story(s.destination, forced.scenario)
    const magic = magicFate(s.destination)
    const fate = (story?.fate as Fate | undefined) ?? magic
    const storyOutcome = story?.outcome ?? fateOutcome(story?.fate as Fate | undefined)
    const decision = preempted ?? draws.settle({ story: storyOutcome, magic: fateOutcome(magic), latencyMs: forced.latencyMs })
    if (decision.outcome !== 'success') return simulated(reply, decision.outcome, decision.delayMs)
    if (fate === 'invalid') return send(reply, ERRORS.invalidNumber())
    if (fate === 'no_plan') return send(reply, ERRORS.noPlan())
    if (fate === 'no_credits') return send(reply, ERRORS.noCredits())

    if (decision.delayMs > 0) await simulator.wait(decision.delayMs, clientGone(reply.raw))
    const messageId = randomUUID()
    playStatuses(messageId, s, fate, draws, story?.at_s)
    // "success" is the string "true" in most observations (one fixture has a boolean). Written as
    // the JSON Fastify would send for {success, submitted_message_id}; a UUID needs no escaping.
    return reply.code(200).type(JSON_TYPE).send(`{"success":"true","submitted_message_id":"${messageId}"}`)
  }

  app.post('/campaign/t1/api/v2', { schema: {} }, (request, reply) => handle(request, reply, 'v2'))
  app.post('/campaign/t1/api', { schema: {} }, (request, reply) => handle(request, reply, 'v1'))
}
