import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto'
import { hmac } from '@switchboard/service-kit/hmac'

/**
 * Zoom's webhooks on the wire: the one home of this knowledge, imported by the emulator (which
 * signs and posts events, and sends the URL validation challenge) and by the receiver (which
 * verifies and reads them, and answers the challenge). Neither imports the other.
 */
export const SIGNATURE_HEADER = 'x-zm-signature'
export const TIMESTAMP_HEADER = 'x-zm-request-timestamp'

/**
 * Zoom's delivery retries (providers.md §5, from Zoom's developer support): a notification not
 * answered 200/204 is retried 3 times, 5, 20 and 60 minutes after the attempt before; then
 * dropped. The emulator keeps that shape on a shorter clock: each Zoom minute lasts
 * ZOOM_WEBHOOK_RETRY_MINUTE_MS (default 1,000 ms, so 5 s, 20 s, 60 s; 60,000 is Zoom's own).
 */
export const ZOOM_RETRY_MINUTES = [5, 20, 60] as const
export const zoomRetryDelaysMs = (minuteMs: number): number[] => ZOOM_RETRY_MINUTES.map(m => m * minuteMs)

/**
 * Zoom's webhook signature (providers.md §5): "v0=" + hex HMAC-SHA256 under the app's secret token
 * of "v0:" + x-zm-request-timestamp + ":" + the raw body. Bodies are sent as compact
 * JSON.stringify output so a receiver that re-serialises the parsed body (as Rivet does) computes
 * the same bytes.
 */
export function signZoomWebhook (secret: string, timestamp: string, body: string | Buffer): string {
  // The message is fed in two parts: no copy of the body to prepend "v0:{ts}:".
  return `v0=${createHmac('sha256', keyFor(secret)).update(`v0:${timestamp}:`).update(body).digest('hex')}`
}

/**
 * The post's headers with the signature pair made now. Every attempt is signed at its own time,
 * the retries 5, 20 and 60 minutes later too: the receiver (Zoom's guide, and ours) refuses a
 * timestamp more than 300 s old, so a retry carrying its first attempt's time could never land.
 * (Unverified: Zoom does not document whether a retry's timestamp is new; it is the only reading
 * under which its own retries pass its own recommended check.)
 */
export function signedZoomHeaders (secret: string, headers: Record<string, string>, body: string | Buffer, nowMs = Date.now()): Record<string, string> {
  const timestamp = String(Math.floor(nowMs / 1000))
  return { ...headers, [TIMESTAMP_HEADER]: timestamp, [SIGNATURE_HEADER]: signZoomWebhook(secret, timestamp, body) }
}

// A KeyObject per secret (an app has one or two): an HMAC keyed with one is ~15% cheaper than
// one keyed with the string, which is re-encoded on every call.
const keys = new Map<string, KeyObject>()
function keyFor (secret: string): KeyObject {
  let key = keys.get(secret)
  if (!key) {
    if (keys.size >= 16) keys.clear()
    key = createSecretKey(Buffer.from(secret, 'utf8'))
    keys.set(secret, key)
  }
  return key
}

/**
 * True when `signature` is the signature of the body under one of `secrets` (all are checked, no
 * early exit). The expected value always has the same length ("v0=" + 64 hex), so a presented
 * one of another length is refused on that alone, and equal lengths are compared in constant time.
 */
export function verifyZoomWebhook (secrets: ReadonlyArray<string>, timestamp: string, rawBody: Buffer, signature: string): boolean {
  const presented = Buffer.from(signature, 'utf8')
  let ok = false
  for (const secret of secrets) {
    if (!secret) continue
    const expected = Buffer.from(signZoomWebhook(secret, timestamp, rawBody), 'latin1')
    if (presented.length === expected.length && timingSafeEqual(presented, expected)) ok = true
  }
  return ok
}

/** The answer to Zoom's endpoint.url_validation challenge. */
export function urlValidationAnswer (secret: string, plainToken: string): { plainToken: string, encryptedToken: string } {
  return { plainToken, encryptedToken: hmac(secret, plainToken) }
}

/** An event as the emulator posts it. */
export interface ZoomEvent {
  event: string
  event_ts: number
  payload: Record<string, unknown>
  download_token?: string
}

/** The challenge Zoom sends when an endpoint is saved (and every 72 hours): signed like an event. */
export const URL_VALIDATION_EVENT = 'endpoint.url_validation'

/** An event as received: only its name is known to be there once parsed. */
export interface ReceivedZoomEvent {
  event: string
  event_ts?: unknown
  payload?: { plainToken?: unknown, object?: { id?: unknown, uuid?: unknown } }
}

/** The event a verified post carries; undefined when it is not a JSON object with an "event" name. */
export function parseZoomEvent (rawBody: Buffer): ReceivedZoomEvent | undefined {
  let event: { event?: unknown } | undefined
  try { event = JSON.parse(rawBody.toString('utf8')) } catch { event = undefined }
  if (!event || typeof event !== 'object' || typeof event.event !== 'string') return undefined
  return event as ReceivedZoomEvent
}

/**
 * An event's identity, against a replay inside the signature's window: its name, its event_ts (or
 * the signed timestamp) and the object it is about.
 */
export function eventIdentity (event: ReceivedZoomEvent, timestamp: string): string {
  const object = event.payload?.object
  return [event.event, String(event.event_ts ?? timestamp), String(object?.uuid ?? object?.id ?? '')].join('|')
}
