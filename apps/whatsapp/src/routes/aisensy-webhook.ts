import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { errorResponses } from '@switchboard/schemas/common'
import { addressMatcher, sourceAddress } from '@switchboard/service-kit/source-address'
import { webhookUnauthorized } from '@switchboard/service-kit/webhook-receiver'
import { isInboundTopic, isStatusTopic, notificationIdOf, tokenMatches, topicOf } from '../aisensy-webhooks.ts'
import type { InboundMessages } from '../service/inbound-messages.ts'
import type { WhatsAppService } from '../service/whatsapp-service.ts'

export interface AiSensyWebhookOptions {
  service: WhatsAppService
  inbound: InboundMessages
  /** The secret in the webhook URL set in AiSensy's dashboard (…/webhooks/aisensy/<token>). */
  token: string
  /** Addresses or CIDR ranges posts must come from (AISENSY_WEBHOOK_ALLOWED_IPS); empty: any. */
  allowedIps: string[]
  /** Peers whose X-Forwarded-For is believed (WHATSAPP_TRUSTED_PROXIES): the gateway. */
  trustedProxies: string[]
}

const unauthorized = () => webhookUnauthorized('WHATSAPP')
const MAX_NOTIFICATIONS = 1000

/**
 * Receives AiSensy's project webhooks (see aisensy-webhooks.ts for the format and its sources).
 * AiSensy signs nothing, so a post is accepted when the token in its URL is the configured one
 * (compared in constant time) and, if an allow-list is set, it comes from an allowed address;
 * anything else is refused with 401 and changes nothing. A body is one notification, as AiSensy
 * posts them, or an array of them (a replay of stored notifications). A notification seen before
 * (same id: AiSensy's redelivery) is acknowledged and not applied twice; a topic the service does
 * not use is acknowledged so AiSensy does not retry it, and so is an inbound notification that is
 * no usable message (its sender not a phone number, its text not a string), which is logged with
 * the reason and stores nothing.
 */
export const aisensyWebhookRoutes: FastifyPluginAsyncTypebox<AiSensyWebhookOptions> = async (app, opts) => {
  const allowed = opts.allowedIps.length ? addressMatcher(opts.allowedIps) : undefined
  const trusted = addressMatcher(opts.trustedProxies)

  // Notification ids applied lately. Bounded: the oldest are forgotten first.
  const seen = new Set<string>()
  const MAX_SEEN = 100_000
  const firstTime = (id: string | undefined): boolean => {
    if (id === undefined) return true
    if (seen.has(id)) return false
    seen.add(id)
    if (seen.size > MAX_SEEN) seen.delete(seen.values().next().value!)
    return true
  }

  app.post('/webhooks/aisensy/:token', {
    bodyLimit: 8 * 1024 * 1024,
    schema: {
      summary: 'AiSensy project webhook receiver (message status and inbound messages), authenticated by the token in its URL',
      params: Type.Object({ token: Type.String({ maxLength: 200 }) }),
      body: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Array(Type.Object({}, { additionalProperties: true }), { maxItems: MAX_NOTIFICATIONS })]),
      response: {
        200: Type.Object({ received: Type.Integer(), applied: Type.Integer(), duplicate: Type.Integer(), ignored: Type.Integer() }),
        ...errorResponses
      }
    }
  }, async (request) => {
    // X-Forwarded-For only from the gateway (a trusted peer that sent the internal credential):
    // any other process on the machine connects from loopback too, and could claim AiSensy's address.
    const source = () => sourceAddress(request.socket.remoteAddress, request.headers['x-forwarded-for'], request.fromGateway ? trusted : () => false)
    if (!tokenMatches(opts.token, request.params.token) || (allowed && !allowed(source()))) {
      // The token is never logged: a wrong one may be a right one mistyped.
      request.log.warn({ source: source() }, 'refused an AiSensy webhook post: wrong URL token or an address not allowed')
      throw unauthorized()
    }
    const notifications = Array.isArray(request.body) ? request.body : [request.body]
    const statuses: unknown[] = []
    let duplicate = 0
    let ignored = 0
    let inbound = 0
    for (const n of notifications) {
      const topic = topicOf(n)
      if (!isStatusTopic(topic) && !isInboundTopic(topic)) { ignored++; continue }
      if (!firstTime(notificationIdOf(n))) { duplicate++; continue }
      if (isStatusTopic(topic)) { statuses.push(n); continue }
      const stored = await opts.inbound.record(n)
      if (stored.stored) { inbound++; continue }
      // Dropped as other unusable notifications are: acknowledged (a retry would be as malformed)
      // and counted as ignored, with the reason in the log (never the text itself).
      ignored++
      request.log.warn({ notification: notificationIdOf(n), reason: stored.reason }, 'dropped an AiSensy inbound notification that is not a usable message')
    }
    const applied = statuses.length ? await opts.service.applyStatusEvents(statuses) : 0
    return { received: notifications.length, applied: applied + inbound, duplicate, ignored: ignored + statuses.length - applied }
  })
}
