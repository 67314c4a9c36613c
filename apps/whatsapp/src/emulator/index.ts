import { randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { clientGone, readSimulationHeaders, type Draws, type Outcome, type Simulator } from '@switchboard/service-kit/simulation'
import type { WebhookSender } from '@switchboard/service-kit/webhook-sender'
import { magicFate, type Fate } from './magic.ts'
import { eventJson, messageTail, POST_HEAD, POST_TAIL, statusPostHeaders, type MessageStatus } from './status-webhook.ts'
import { ERRORS, seedCampaigns, validateSend, type AiSensyError, type CampaignSend } from './validate-campaign.ts'

export interface AiSensyEmulatorOptions {
  simulator: Simulator
  webhookSender: WebhookSender
  /** Where status changes go (AiSensy: the project webhook set in the dashboard). */
  webhookUrl: () => string | undefined
  /** The shared secret status posts are signed with. */
  webhookSecret: string
  /** Gap between a message's successive statuses (sent → delivered → read). */
  statusGapMs?: { min: number, max: number }
  /** How often due status events are posted, in batches of up to 500. */
  statusFlushMs?: number
  /** Share of delivered messages that are read (not magic ones). (unverified: a plausible rate.) */
  readRate?: number
}

const JSON_TYPE = 'application/json; charset=utf-8'
const MAX_BATCH = 500
/** Status changes waiting for their time; beyond this the newest messages get none (memory stays bounded). */
const MAX_PENDING = 500_000

/** One status change waiting for its time; its JSON is written only when it is posted. */
interface Pending {
  messageId: string
  status: MessageStatus
  at: number
  /** The message's fields after its id and status, as JSON (shared by its changes). */
  message: string
}

/**
 * The AiSensy campaign API as the emulator serves it, mounted under /aisensy:
 * POST /campaign/t1/api/v2 and the v1 path POST /campaign/t1/api. Any AiSensy client (ours, curl,
 * another team's code) can be pointed at http://127.0.0.1:3002/aisensy instead of
 * https://backend.aisensy.com.
 */
export async function aisensyEmulator (app: FastifyInstance, opts: AiSensyEmulatorOptions): Promise<void> {
  const { simulator, webhookSender } = opts
  let campaigns = seedCampaigns()
  const gap = opts.statusGapMs ?? { min: 100, max: 600 }
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
  // pending change, no timer per message. A due bucket goes out in posts of up to 500 events, so a
  // 5,000-message campaign makes a few posts per tick instead of 15,000.
  const tickMs = opts.statusFlushMs ?? 100
  const buckets = new Map<number, Pending[]>()
  let pending = 0
  let lastTick = Math.floor(Date.now() / tickMs)
  const tick = setInterval(() => {
    const now = Math.floor(Date.now() / tickMs)
    if (pending === 0) { lastTick = now; return }
    let ready: Pending[] = []
    for (let k = lastTick + 1; k <= now; k++) {
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
  app.addHook('onClose', async () => { clearInterval(tick) })
  // POST /admin/reset: pending status changes dropped, campaigns back to the seeded ones.
  app.onMockReset(() => {
    simulator.restart()
    buckets.clear()
    pending = 0
    campaigns = seedCampaigns()
  })

  function post (ready: Pending[]): void {
    const url = opts.webhookUrl()
    if (!url || ready.length === 0) return
    for (let i = 0; i < ready.length; i += MAX_BATCH) {
      const end = Math.min(i + MAX_BATCH, ready.length)
      const events = new Array<string>(end - i)
      for (let j = i; j < end; j++) events[j - i] = eventJson(ready[j]!)
      // Encoded once: the same bytes are signed and sent.
      const body = Buffer.from(POST_HEAD + events.join(',') + POST_TAIL)
      webhookSender.send({ url, body, headers: statusPostHeaders(opts.webhookSecret, body), label: 'aisensy.status' })
    }
  }

  /**
   * Plays a message's life: sent, then delivered and maybe read, or failed; each a gap after the
   * one before. Only while a webhook is configured: AiSensy posts statuses to the project webhook
   * set in its dashboard, and a project without one gets none.
   */
  function playStatuses (messageId: string, s: CampaignSend, fate: Fate | undefined, draws: Draws): void {
    if (!opts.webhookUrl()) return
    if (pending >= MAX_PENDING) {
      app.log.warn({ pending, messageId }, 'AiSensy emulator: too many status changes pending; this message gets none')
      return
    }
    const message = messageTail(s)
    let at = Date.now()
    const schedule = (status: MessageStatus) => {
      at += gap.min + Math.round(simulator.random() * (gap.max - gap.min))
      // The first tick at or after `at`: a change is never posted before its time.
      const key = Math.max(Math.ceil(at / tickMs), lastTick + 1)
      const bucket = buckets.get(key)
      const p: Pending = { messageId, status, at, message }
      if (bucket === undefined) buckets.set(key, [p])
      else bucket.push(p)
      pending++
    }
    schedule('sent')
    if (fate === 'fails_after_send') schedule('failed')
    else if (fate !== 'stays_sent') {
      schedule('delivered')
      if (fate === 'read' || (fate !== 'delivered_unread' && draws.random() < readRate)) schedule('read')
    }
  }

  async function simulated (reply: FastifyReply, outcome: Exclude<Outcome, 'success'>, delayMs: number) {
    if (delayMs > 0) await simulator.wait(delayMs, clientGone(reply.raw))
    reply.header('x-switchboard-simulated', outcome)
    switch (outcome) {
      case 'rate_limited':
        // No rate limit is documented; a 429 in the full envelope with Retry-After (unverified).
        reply.header('retry-after', '1')
        return send(reply, ERRORS.rateLimited())
      // Integrators observed occasional 503s with an empty JSON body.
      case 'outage': return reply.code(503).send({})
      case 'timeout': return reply.code(504).send({})
      default: return send(reply, ERRORS.internal())
    }
  }

  async function handle (request: FastifyRequest, reply: FastifyReply, version: 'v1' | 'v2') {
    const result = validateSend(request.body, campaigns, version)
    if ('error' in result) return send(reply, result.error)
    const s = result.send
    const fate = magicFate(s.destination)
    if (fate === 'invalid') return send(reply, ERRORS.invalidNumber())
    if (fate === 'no_plan') return send(reply, ERRORS.noPlan())
    if (fate === 'no_credits') return send(reply, ERRORS.noCredits())

    const forced = readSimulationHeaders(request.headers)
    const magicOutcome = fate === 'error' ? 'failure' : fate !== undefined ? 'success' : undefined
    // A seeded run: this send's fate follows from what it is, not from when it arrived.
    const draws = simulator.forRequest([s.campaign.name, s.destination, s.userName, s.templateParams])
    const decision = draws.decide({ force: forced.force ?? magicOutcome, latencyMs: forced.latencyMs })
    if (decision.outcome !== 'success') return simulated(reply, decision.outcome, decision.delayMs)

    if (decision.delayMs > 0) await simulator.wait(decision.delayMs, clientGone(reply.raw))
    const messageId = randomUUID()
    playStatuses(messageId, s, fate, draws)
    // "success" is the string "true" in most observations (one fixture has a boolean). Written as
    // the JSON Fastify would send for {success, submitted_message_id}; a UUID needs no escaping.
    return reply.code(200).type(JSON_TYPE).send(`{"success":"true","submitted_message_id":"${messageId}"}`)
  }

  app.post('/campaign/t1/api/v2', { schema: {} }, (request, reply) => handle(request, reply, 'v2'))
  app.post('/campaign/t1/api', { schema: {} }, (request, reply) => handle(request, reply, 'v1'))
}
