import { createPublicKey, verify, type KeyObject } from 'node:crypto'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { errorResponses } from '@switchboard/schemas/common'
import { appError } from '@switchboard/service-kit/errors'
import { claimWebhookEvents } from '@switchboard/service-kit/webhook-replay'
import { SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../emulator/event-webhook.ts'
import type { EmailService } from '../service/email-service.ts'

export interface SendGridWebhookOptions {
  service: EmailService
  /** Public keys (base64 SPKI DER) whose signatures are accepted. */
  publicKeys: () => Promise<string[]>
  /** Oldest signed timestamp accepted, against replays. */
  maxAgeSeconds: number
}

/** SendGrid's check: ECDSA P-256 / SHA-256 over timestamp + raw body, base64 DER signature. */
// Parsed once per configured key, not once per post.
const parsedKeys = new Map<string, KeyObject>()

export function verifySendGridSignature (publicKeyBase64: string, signature: string, timestamp: string, rawBody: Buffer): boolean {
  try {
    let key = parsedKeys.get(publicKeyBase64)
    if (key === undefined) {
      key = createPublicKey({ key: Buffer.from(publicKeyBase64, 'base64'), format: 'der', type: 'spki' })
      if (parsedKeys.size > 100) parsedKeys.clear()
      parsedKeys.set(publicKeyBase64, key)
    }
    return verify('sha256', Buffer.concat([Buffer.from(timestamp), rawBody]), key, Buffer.from(signature, 'base64'))
  } catch {
    return false
  }
}

const unauthorized = () => appError('EMAIL_WEBHOOK_UNAUTHORIZED', 'Unauthorized')

/**
 * Receives SendGrid's signed Event Webhook. The signature covers the exact bytes, so the body is
 * read raw and parsed only after it is verified. Unsigned, tampered or stale posts are refused.
 */
export const sendgridWebhookRoutes: FastifyPluginAsyncTypebox<SendGridWebhookOptions> = async (app, opts) => {
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body))

  app.post('/webhooks/sendgrid', {
    schema: {
      summary: 'SendGrid Event Webhook receiver (signed)',
      headers: Type.Object({ [SIGNATURE_HEADER]: Type.Optional(Type.String()), [TIMESTAMP_HEADER]: Type.Optional(Type.String()) }),
      response: { 200: Type.Object({ received: Type.Integer(), applied: Type.Integer() }), ...errorResponses }
    }
  }, async (request) => {
    const signature = request.headers[SIGNATURE_HEADER]
    const timestamp = request.headers[TIMESTAMP_HEADER]
    const raw = request.body as unknown
    if (typeof signature !== 'string' || typeof timestamp !== 'string' || !/^\d{1,12}$/.test(timestamp) || !Buffer.isBuffer(raw)) throw unauthorized()
    if (Math.abs(Date.now() / 1000 - Number(timestamp)) > opts.maxAgeSeconds) throw unauthorized()
    const keys = await opts.publicKeys()
    if (!keys.some(k => verifySendGridSignature(k, signature, timestamp, raw))) throw unauthorized()
    let events: unknown
    try { events = JSON.parse(raw.toString('utf8')) } catch { events = undefined }
    if (!Array.isArray(events)) throw appError('EMAIL_WEBHOOK_INVALID_BODY', 'The event post must be a JSON array of events.')
    // A replay inside the signature's window is dropped by SendGrid's own event identity.
    const idOf = (e: unknown) => e !== null && typeof e === 'object' && typeof (e as { sg_event_id?: unknown }).sg_event_id === 'string' ? (e as { sg_event_id: string }).sg_event_id : undefined
    const fresh = await claimWebhookEvents(app.activityLog, 'sendgrid', events.map(idOf).filter((id): id is string => id !== undefined), 2 * opts.maxAgeSeconds)
    const applying = events.filter(e => {
      const id = idOf(e)
      return id === undefined || fresh.delete(id) // each claimed id once, even if repeated in the post
    })
    return { received: events.length, applied: await opts.service.applyEvents(applying as Array<Record<string, unknown>>) }
  })
}
