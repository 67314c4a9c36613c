import { randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { clientGone, readSimulationHeaders, type Outcome, type Simulator } from '@switchboard/service-kit/simulation'
import type { WebhookSender } from '@switchboard/service-kit/webhook-sender'
import { magicFate, type Fate } from './magic.ts'
import { newEventId, statusPostHeaders, WEBHOOK_OBJECT, type MessageStatus, type StatusEvent, type StatusPost } from './status-webhook.ts'
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

const MAX_BATCH = 500
/** Status changes waiting for their time; beyond this the newest messages get none (memory stays bounded). */
const MAX_PENDING = 500_000

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

  // Status events wait here until due and go out in batches, so a 5,000-message campaign makes a
  // few posts per tick instead of 15,000.
  const due: Array<{ at: number, event: StatusEvent }> = []
  const tick = setInterval(() => {
    if (!due.length) return
    const now = Date.now()
    const ready: StatusEvent[] = []
    let keep = 0
    for (const d of due) {
      if (d.at <= now) ready.push(d.event)
      else due[keep++] = d
    }
    due.length = keep
    post(ready)
  }, opts.statusFlushMs ?? 100)
  tick.unref()
  app.addHook('onClose', async () => { clearInterval(tick) })
  // POST /admin/reset: pending status changes dropped, campaigns back to the seeded ones.
  app.onMockReset(() => {
    due.length = 0
    campaigns = seedCampaigns()
  })

  function post (events: StatusEvent[]): void {
    const url = opts.webhookUrl()
    if (!url || events.length === 0) return
    for (let i = 0; i < events.length; i += MAX_BATCH) {
      const body = JSON.stringify({ object: WEBHOOK_OBJECT, events: events.slice(i, i + MAX_BATCH) } satisfies StatusPost)
      webhookSender.send({ url, body, headers: statusPostHeaders(opts.webhookSecret, body), label: 'aisensy.status' })
    }
  }

  /** Plays a message's life: sent, then delivered and maybe read, or failed; each on a timer. */
  function playStatuses (messageId: string, s: CampaignSend, fate: Fate | undefined): void {
    if (due.length >= MAX_PENDING) {
      app.log.warn({ pending: due.length, messageId }, 'AiSensy emulator: too many status changes pending; this message gets none')
      return
    }
    const statuses: MessageStatus[] = ['sent']
    if (fate === 'fails_after_send') statuses.push('failed')
    else if (fate !== 'stays_sent') {
      statuses.push('delivered')
      if (fate === 'read' || (fate !== 'delivered_unread' && simulator.random() < readRate)) statuses.push('read')
    }
    let at = Date.now()
    for (const status of statuses) {
      at += gap.min + Math.round(simulator.random() * (gap.max - gap.min))
      const event: StatusEvent = {
        id: newEventId(),
        type: `message.${status}`,
        timestamp: Math.floor(at / 1000),
        message: { id: messageId, status, destination: s.destination, campaignName: s.campaign.name, userName: s.userName }
      }
      // WhatsApp Cloud API error 131026: the number cannot receive the message.
      if (status === 'failed') event.error = { code: 131026, title: 'Message undeliverable' }
      due.push({ at, event })
    }
  }

  async function simulated (reply: FastifyReply, outcome: Exclude<Outcome, 'success'>, delayMs: number) {
    await simulator.wait(delayMs, clientGone(reply.raw))
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
    const decision = simulator.decide({ force: forced.force ?? magicOutcome, latencyMs: forced.latencyMs })
    if (decision.outcome !== 'success') return simulated(reply, decision.outcome, decision.delayMs)

    await simulator.wait(decision.delayMs, clientGone(reply.raw))
    const messageId = randomUUID()
    playStatuses(messageId, s, fate)
    // "success" is the string "true" in most observations (one fixture has a boolean).
    return reply.code(200).send({ success: 'true', submitted_message_id: messageId })
  }

  app.post('/campaign/t1/api/v2', { schema: {} }, (request, reply) => handle(request, reply, 'v2'))
  app.post('/campaign/t1/api', { schema: {} }, (request, reply) => handle(request, reply, 'v1'))
}
