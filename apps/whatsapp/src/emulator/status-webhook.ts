import { randomBytes } from 'node:crypto'
import { hmac, timestampIsFresh, verifyHmac } from '@switchboard/service-kit/hmac'

/**
 * The message-status webhook. AiSensy offers status webhooks but publishes no payload schema and
 * no signature scheme (providers.md §2, "Webhooks / delivery reports": GAP), so this shape and
 * its signing are OURS, not AiSensy's, and documented as such in the README:
 *
 *   POST <webhook url>
 *   content-type: application/json
 *   x-switchboard-timestamp: <unix seconds>
 *   x-switchboard-signature: <hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
 *
 *   {"object":"aisensy.message_status","events":[{"id":"evt_…","type":"message.delivered",
 *     "timestamp":1763900000,"message":{"id":"<submitted_message_id>","status":"delivered",
 *     "destination":"+919876543210","campaignName":"welcome_message","userName":"Asha"}}]}
 *
 * The timestamp is inside the signed bytes, so it cannot be changed to make an old post look new;
 * receivers refuse posts whose timestamp is too old (replays) and whose signature does not match
 * (forged or tampered). A failed event also carries `error: {code, title}` (WhatsApp Cloud API codes).
 * The same headers and signed bytes as the Bolna emulator's webhooks: one verifier serves both.
 */
export const SIGNATURE_HEADER = 'x-switchboard-signature'
export const TIMESTAMP_HEADER = 'x-switchboard-timestamp'
export const WEBHOOK_OBJECT = 'aisensy.message_status'
export const SECRET_FILE = 'aisensy-webhook-secret'

export type MessageStatus = 'sent' | 'delivered' | 'read' | 'failed'

export interface StatusEvent {
  id: string
  type: `message.${MessageStatus}`
  timestamp: number
  message: { id: string, status: MessageStatus, destination: string, campaignName: string, userName: string }
  error?: { code: number, title: string }
}

export interface StatusPost {
  object: typeof WEBHOOK_OBJECT
  events: StatusEvent[]
}

export const newEventId = () => `evt_${randomBytes(12).toString('hex')}`

const signedPayload = (timestamp: string, body: string | Buffer) =>
  Buffer.concat([Buffer.from(`${timestamp}.`), Buffer.isBuffer(body) ? body : Buffer.from(body)])

export function signStatusPost (secret: string, timestamp: string, body: string | Buffer): string {
  return hmac(secret, signedPayload(timestamp, body))
}

/** Headers for one signed post. */
export function statusPostHeaders (secret: string, body: string, nowMs = Date.now()): Record<string, string> {
  const timestamp = String(Math.floor(nowMs / 1000))
  return {
    'content-type': 'application/json',
    'user-agent': 'Switchboard-AiSensy-Emulator/1.0',
    [TIMESTAMP_HEADER]: timestamp,
    [SIGNATURE_HEADER]: signStatusPost(secret, timestamp, body)
  }
}

export type VerifyResult = { ok: true } | { ok: false, reason: 'missing' | 'stale' | 'mismatch' }

/** Checks a received post: both headers present, timestamp fresh, signature over the exact bytes. */
export function verifyStatusPost (secrets: string | string[], headers: { signature?: unknown, timestamp?: unknown }, rawBody: Buffer, maxAgeSeconds: number, nowMs = Date.now()): VerifyResult {
  const { signature, timestamp } = headers
  if (typeof signature !== 'string' || typeof timestamp !== 'string' || signature === '') return { ok: false, reason: 'missing' }
  if (!timestampIsFresh(timestamp, maxAgeSeconds, nowMs)) return { ok: false, reason: 'stale' }
  return verifyHmac(secrets, signedPayload(timestamp, rawBody), signature) ? { ok: true } : { ok: false, reason: 'mismatch' }
}
