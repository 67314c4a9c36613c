import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { errorResponses } from '@switchboard/schemas/common'
import { appError } from '@switchboard/service-kit/errors'
import { rawBodyOf, readRawBody, webhookUnauthorized } from '@switchboard/service-kit/webhook-receiver'
import { claimWebhookEvents } from '@switchboard/service-kit/webhook-replay'
import { eventIdOf, isTimestamp, parseEvents, SIGNATURE_HEADER, TIMESTAMP_HEADER, verifySendGridSignature } from '../sendgrid-webhooks.ts'
import type { EmailService } from '../service/email-service.ts'

export interface SendGridWebhookOptions {
  service: EmailService
  /** Public keys (base64 SPKI DER) whose signatures are accepted. */
  publicKeys: () => Promise<string[]>
  /** Oldest signed timestamp accepted, against replays. */
  maxAgeSeconds: number
}

const unauthorized = () => webhookUnauthorized('EMAIL')

/**
 * Receives SendGrid's signed Event Webhook. The signature covers the exact bytes, so the body is
 * read raw and parsed only after it is verified. Unsigned, tampered or stale posts are refused.
 */
export const sendgridWebhookRoutes: FastifyPluginAsyncTypebox<SendGridWebhookOptions> = async (app, opts) => {
  readRawBody(app, 'application/json')

  app.post('/webhooks/sendgrid', {
    schema: {
      summary: 'SendGrid Event Webhook receiver (signed)',
      headers: Type.Object({ [SIGNATURE_HEADER]: Type.Optional(Type.String()), [TIMESTAMP_HEADER]: Type.Optional(Type.String()) }),
      response: { 200: Type.Object({ received: Type.Integer(), applied: Type.Integer() }), ...errorResponses }
    }
  }, async (request) => {
    const signature = request.headers[SIGNATURE_HEADER]
    const timestamp = request.headers[TIMESTAMP_HEADER]
    const raw = rawBodyOf(request)
    if (typeof signature !== 'string' || typeof timestamp !== 'string' || !isTimestamp(timestamp) || !raw) throw unauthorized()
    if (Math.abs(Date.now() / 1000 - Number(timestamp)) > opts.maxAgeSeconds) throw unauthorized()
    const keys = await opts.publicKeys()
    if (!keys.some(k => verifySendGridSignature(k, signature, timestamp, raw))) throw unauthorized()
    const events = parseEvents(raw)
    if (!events) throw appError('EMAIL_WEBHOOK_INVALID_BODY', 'The event post must be a JSON array of events.')
    // A replay inside the signature's window is dropped by SendGrid's own event identity.
    const fresh = await claimWebhookEvents(app.activityLog, 'sendgrid', events.map(eventIdOf).filter((id): id is string => id !== undefined), 2 * opts.maxAgeSeconds)
    const applying = events.filter(e => {
      const id = eventIdOf(e)
      return id === undefined || fresh.delete(id) // each claimed id once, even if repeated in the post
    })
    return { received: events.length, applied: await opts.service.applyEvents(applying as Array<Record<string, unknown>>) }
  })
}
