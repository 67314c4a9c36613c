import { addressMatcher, sourceAddress } from '@switchboard/service-kit/source-address'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { errorResponses } from '@switchboard/schemas/common'
import { BolnaWebhookReplySchema } from '@switchboard/schemas/voice'
import { appError } from '@switchboard/service-kit/errors'
import { rawBodyOf, readRawBody, webhookUnauthorized } from '@switchboard/service-kit/webhook-receiver'
import { claimsSignature, parseExecution, SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyEmulatorSignature } from '../bolna-webhooks.ts'
import type { VoiceService } from '../service/voice-service.ts'

export interface BolnaWebhookOptions {
  service: VoiceService
  /** Where the real Bolna posts from (BOLNA_WEBHOOK_ALLOWED_IPS: addresses or CIDR ranges). */
  allowedIps: string[]
  /**
   * Peers whose X-Forwarded-For is believed (VOICE_TRUSTED_PROXIES): the gateway. Believed only
   * when the post also carries the internal credential, so another process on the gateway's
   * machine cannot claim Bolna's address.
   */
  trustedProxies: string[]
  /** The emulator's signing secret, for posts from mock mode. */
  emulatorSecret: string
  maxAgeSeconds: number
}

// Shared with the AiSensy receiver, which also has an address allow-list.
export { addressMatcher, normalizeIp, sourceAddress } from '@switchboard/service-kit/source-address'

const unauthorized = () => webhookUnauthorized('VOICE')

/**
 * Receives Bolna's execution webhooks. Bolna signs nothing and documents its source address
 * instead, so a post is accepted when it either
 *   - carries the emulator's signature (mock mode: HMAC-SHA256 over "<timestamp>.<raw body>",
 *     fresh timestamp), or
 *   - carries no signature and comes from an allowed address (the real Bolna), seen directly or
 *     through a trusted proxy.
 * Anything else is refused with 401 and changes nothing. The body is read raw so the signature
 * covers the exact bytes.
 */
export const bolnaWebhookRoutes: FastifyPluginAsyncTypebox<BolnaWebhookOptions> = async (app, opts) => {
  const allowed = addressMatcher(opts.allowedIps)
  const trusted = addressMatcher(opts.trustedProxies)
  readRawBody(app, 'application/json')

  app.post('/webhooks/bolna', {
    schema: {
      summary: 'Bolna execution webhook receiver (source address, or the emulator\'s signature)',
      headers: Type.Object({ [SIGNATURE_HEADER]: Type.Optional(Type.String()), [TIMESTAMP_HEADER]: Type.Optional(Type.String()) }),
      response: { 200: BolnaWebhookReplySchema, ...errorResponses }
    }
  }, async (request) => {
    const raw = rawBodyOf(request)
    if (!raw) throw unauthorized()
    const headers = { signature: request.headers[SIGNATURE_HEADER], timestamp: request.headers[TIMESTAMP_HEADER] }
    const signed = claimsSignature(headers)
    // The source address matters only for unsigned posts (and for the log line of a refusal).
    const sourceOf = () => sourceAddress(request.socket.remoteAddress, request.headers['x-forwarded-for'], request.fromGateway ? trusted : () => false)
    const ok = signed
      ? verifyEmulatorSignature(opts.emulatorSecret, headers, raw, opts.maxAgeSeconds)
      : allowed(sourceOf())
    if (!ok) {
      request.log.warn({ source: sourceOf(), signed: headers.signature !== undefined }, 'refused a Bolna webhook: not signed by the emulator and not from an allowed address')
      throw unauthorized()
    }
    const execution = parseExecution(raw)
    if (!execution) throw appError('VOICE_WEBHOOK_INVALID_BODY', 'A Bolna webhook must be a JSON execution object with "id" and "status".')
    return { received: true as const, duplicate: !await opts.service.applyExecution(execution, signed ? 'emulator' : 'bolna') }
  })
}
