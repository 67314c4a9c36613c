import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { errorResponses } from '@switchboard/schemas/common'
import { ServiceError } from '@switchboard/service-kit/errors'
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyStatusPost, WEBHOOK_OBJECT } from '../emulator/status-webhook.ts'
import type { WhatsAppService } from '../service/whatsapp-service.ts'

export interface AiSensyWebhookOptions {
  service: WhatsAppService
  /** The shared secret(s) status posts must be signed with. */
  secrets: string[]
  /** Oldest signed timestamp accepted, against replays. */
  maxAgeSeconds: number
}

const unauthorized = () => new ServiceError(401, 'WHATSAPP_WEBHOOK_SIGNATURE_INVALID', 'Unauthorized')

/**
 * Receives the signed message-status webhook (our documented scheme: AiSensy publishes none). The
 * signature covers the exact bytes, so the body is read raw and parsed only once verified.
 * Unsigned, forged, tampered or stale posts are refused with 401 and change nothing; a post seen
 * before (same signature, e.g. a sender's retry) is acknowledged and not applied twice.
 */
export const aisensyWebhookRoutes: FastifyPluginAsyncTypebox<AiSensyWebhookOptions> = async (app, opts) => {
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: 8 * 1024 * 1024 }, (_request, body, done) => done(null, body))

  // Signatures already applied, until they would be refused as stale anyway. Bounded.
  const seen = new Map<string, number>()
  const MAX_SEEN = 50_000
  const alreadySeen = (signature: string): boolean => {
    const now = Date.now()
    const expiry = seen.get(signature)
    if (expiry !== undefined && expiry > now) return true
    seen.set(signature, now + opts.maxAgeSeconds * 2000)
    if (seen.size > MAX_SEEN) {
      for (const [k, v] of seen) if (v <= now || seen.size > MAX_SEEN) seen.delete(k)
    }
    return false
  }

  app.post('/webhooks/aisensy', {
    schema: {
      summary: 'Message status webhook receiver (HMAC-SHA256 signed; our scheme, AiSensy publishes none)',
      headers: Type.Object({ [SIGNATURE_HEADER]: Type.Optional(Type.String()), [TIMESTAMP_HEADER]: Type.Optional(Type.String()) }),
      response: { 200: Type.Object({ received: Type.Integer(), applied: Type.Integer(), duplicate: Type.Boolean() }), ...errorResponses }
    }
  }, async (request) => {
    const raw = request.body as unknown
    if (!Buffer.isBuffer(raw)) throw unauthorized()
    const verdict = verifyStatusPost(opts.secrets, { signature: request.headers[SIGNATURE_HEADER], timestamp: request.headers[TIMESTAMP_HEADER] }, raw, opts.maxAgeSeconds)
    if (!verdict.ok) {
      request.log.warn({ reason: verdict.reason }, 'refused a status webhook post')
      throw unauthorized()
    }
    let post: { object?: unknown, events?: unknown } | undefined
    try { post = JSON.parse(raw.toString('utf8')) } catch { post = undefined }
    if (!post || post.object !== WEBHOOK_OBJECT || !Array.isArray(post.events)) {
      throw new ServiceError(400, 'WHATSAPP_WEBHOOK_INVALID_BODY', `A status post must be {"object":"${WEBHOOK_OBJECT}","events":[…]}.`)
    }
    if (alreadySeen(String(request.headers[SIGNATURE_HEADER]))) return { received: post.events.length, applied: 0, duplicate: true }
    return { received: post.events.length, applied: await opts.service.applyStatusEvents(post.events), duplicate: false }
  })
}
