import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { errorResponses } from '@switchboard/schemas/common'
import { ZoomWebhookReplySchema } from '@switchboard/schemas/zoom'
import { appError } from '@switchboard/service-kit/errors'
import { claimWebhookEvents } from '@switchboard/service-kit/webhook-replay'
import { timestampIsFresh } from '@switchboard/service-kit/hmac'
import { emitEvents, type EventType } from '@switchboard/service-kit/events'
import { clockStamp } from '@switchboard/service-kit/clock'
import { redactSecrets } from '@switchboard/service-kit/redact'
import { rawBodyOf, readRawBody, webhookUnauthorized } from '@switchboard/service-kit/webhook-receiver'
import { eventIdentity, parseZoomEvent, SIGNATURE_HEADER, TIMESTAMP_HEADER, URL_VALIDATION_EVENT, urlValidationAnswer, verifyZoomWebhook } from '../zoom-webhooks.ts'
import type { ZoomService } from '../service/zoom-service.ts'

export interface ZoomWebhookOptions {
  service: ZoomService
  /** The app's Secret Token (ZOOM_WEBHOOK_SECRET_TOKEN, or the generated one the emulator signs with). */
  secret: string
  /** Oldest signed timestamp accepted, against replays. */
  maxAgeSeconds: number
}

const TEAM_EVENTS = new Set(['meeting.started', 'meeting.ended', 'recording.completed'])
/** The events the service applies to a meeting (zoom-service.ts applyWebhookEvent). */
const MEETING_EVENTS = new Set([...TEAM_EVENTS, 'meeting.deleted'])

const unauthorized = () => webhookUnauthorized('ZOOM')

/**
 * Receives Zoom's webhooks. The signature covers the exact bytes, so the body is read raw and
 * parsed only once it is verified; unsigned, tampered or stale posts are refused and change
 * nothing. Zoom's endpoint.url_validation challenge (signed too) is answered with
 * {plainToken, encryptedToken = hex HMAC-SHA256(secret, plainToken)}.
 */
export const zoomWebhookRoutes: FastifyPluginAsyncTypebox<ZoomWebhookOptions> = async (app, opts) => {
  readRawBody(app, 'application/json')

  app.post('/webhooks/zoom', {
    schema: {
      summary: 'Zoom webhook receiver (signed; answers endpoint.url_validation)',
      headers: Type.Object({ [SIGNATURE_HEADER]: Type.Optional(Type.String()), [TIMESTAMP_HEADER]: Type.Optional(Type.String()) }),
      response: { 200: ZoomWebhookReplySchema, ...errorResponses }
    }
  }, async (request) => {
    const signature = request.headers[SIGNATURE_HEADER]
    const timestamp = request.headers[TIMESTAMP_HEADER]
    const raw = rawBodyOf(request)
    if (typeof signature !== 'string' || typeof timestamp !== 'string' || !raw) throw unauthorized()
    if (!timestampIsFresh(timestamp, opts.maxAgeSeconds)) throw unauthorized()
    if (!verifyZoomWebhook([opts.secret], timestamp, raw, signature)) throw unauthorized()
    const event = parseZoomEvent(raw)
    if (!event) throw appError('ZOOM_WEBHOOK_INVALID_BODY', 'A Zoom webhook is a JSON object with an "event" name.')
    if (event.event === URL_VALIDATION_EVENT) {
      const plainToken = event.payload?.plainToken
      if (typeof plainToken !== 'string' || !plainToken) throw appError('ZOOM_WEBHOOK_INVALID_BODY', 'endpoint.url_validation needs payload.plainToken.')
      return urlValidationAnswer(opts.secret, plainToken)
    }
    const object = event.payload?.object
    // The events this service acts on name their meeting; one that does not is refused, naming the field.
    if (MEETING_EVENTS.has(event.event) && !Number.isSafeInteger(Number((object as { id?: unknown } | undefined)?.id))) {
      throw appError('ZOOM_WEBHOOK_INVALID_BODY', `A ${event.event} event needs payload.object.id, the meeting's id.`)
    }
    // A replay inside the signature's window is dropped by the event's identity.
    const key = eventIdentity(event, timestamp)
    const fresh = await claimWebhookEvents(app.activityLog, 'zoom', [key], 2 * opts.maxAgeSeconds)
    if (!fresh.has(key)) return { received: true as const, event: event.event, applied: false }
    const applied = opts.service.applyWebhookEvent(event)
    // The team's event (Zoom keeps no table for a trigger to see): once per webhook, replays excluded.
    if (TEAM_EVENTS.has(event.event) && object && typeof object === 'object') {
      // When it happened: Zoom's event_ts, which the emulator stamps on the test clock (a meeting
      // scheduled for 10:00 starts at 10:00 whatever an advance's target); else the clock's now.
      const at = typeof event.event_ts === 'number' && Number.isFinite(event.event_ts) ? new Date(event.event_ts).toISOString() : clockStamp(app.clock)
      const data = redactSecrets({ ...object, mode: opts.service.mode() })
      await emitEvents(app.activityLog, [{ type: event.event as EventType, data, ...(at !== undefined ? { timestamp: at } : {}) }])
        .catch((err: unknown) => request.log.warn({ err, event: event.event }, 'zoom: could not queue the team\'s event'))
    }
    return { received: true as const, event: event.event, applied }
  })
}
