import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto'
import { randomId22 } from '@switchboard/service-kit/ids'

/**
 * SendGrid's Event Webhook on the wire: the one home of this knowledge, imported by the emulator
 * (which signs and posts the events) and by the receiver (which verifies and reads them). Neither
 * imports the other.
 *
 * A post is a JSON array of events, signed with ECDSA P-256 / SHA-256 over the timestamp header
 * followed by the exact body bytes; the signature is base64 DER, and the account publishes its
 * public key as base64 of the DER SubjectPublicKeyInfo (no PEM armour).
 */
/**
 * The custom arg Switchboard's email service puts on every personalization it sends: the log row's
 * id, which SendGrid echoes in each event, so the receiver moves that row. Only the service's own
 * sends may carry it (see the emulator's mail send).
 */
export const LOG_ID_ARG = 'sb_log_id'

export const SIGNATURE_HEADER = 'x-twilio-email-event-webhook-signature'
export const TIMESTAMP_HEADER = 'x-twilio-email-event-webhook-timestamp'

export type SendGridEvent = Record<string, unknown> & { email: string, event: string, timestamp: number, sg_event_id: string, sg_message_id: string }

/** An event's sg_event_id: 22 characters. */
export const newEventId = randomId22

// ---- sending (the emulator) ----------------------------------------------------------------------

/** SendGrid's wire layout for a batch: `[{...},\r\n{...}]\r\n` (from the SDK's signed test vectors). */
export function serializeEvents (events: SendGridEvent[]): string {
  return `[${events.map(e => JSON.stringify(e)).join(',\r\n')}]\r\n`
}

/** Signs timestamp + raw body with ECDSA/SHA-256, base64 DER, as SendGrid does. */
export function signEvents (privateKey: KeyObject, timestamp: string, body: string): string {
  return sign('sha256', Buffer.from(timestamp + body), privateKey).toString('base64')
}

/** The headers of one event post; the signature pair only when the webhook is signed (a key given). */
export function eventPostHeaders (privateKey: KeyObject | undefined, timestamp: string, body: string): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'SendGrid Event API' }
  if (privateKey) {
    headers[SIGNATURE_HEADER] = signEvents(privateKey, timestamp, body)
    headers[TIMESTAMP_HEADER] = timestamp
  }
  return headers
}

/** The public key as SendGrid publishes it: base64 of the DER SubjectPublicKeyInfo. */
export function publicKeyBase64 (privateKey: KeyObject): string {
  return createPublicKey(privateKey).export({ type: 'spki', format: 'der' }).toString('base64')
}

// ---- receiving (the service's receiver) ----------------------------------------------------------

// Parsed once per configured key, not once per post.
const parsedKeys = new Map<string, KeyObject>()

/** SendGrid's check: ECDSA P-256 / SHA-256 over timestamp + raw body, base64 DER signature. */
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

/** A timestamp header SendGrid could have sent: unix seconds. */
export const isTimestamp = (timestamp: string): boolean => /^\d{1,12}$/.test(timestamp)

/** The events of a verified post; undefined when the body is not a JSON array. */
export function parseEvents (rawBody: Buffer): unknown[] | undefined {
  let events: unknown
  try { events = JSON.parse(rawBody.toString('utf8')) } catch { events = undefined }
  return Array.isArray(events) ? events : undefined
}

/** An event's sg_event_id (SendGrid's identity of it, against replays); undefined when it has none. */
export function eventIdOf (e: unknown): string | undefined {
  return e !== null && typeof e === 'object' && typeof (e as { sg_event_id?: unknown }).sg_event_id === 'string' ? (e as { sg_event_id: string }).sg_event_id : undefined
}
