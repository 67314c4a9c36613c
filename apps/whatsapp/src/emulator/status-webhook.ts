import { randomHex } from '@switchboard/service-kit/ids'
import { signSwitchboardWebhook, switchboardWebhookHeaders, verifySwitchboardWebhook, type SwitchboardWebhookVerdict } from '@switchboard/service-kit/switchboard-webhook'

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
export { SIGNATURE_HEADER, TIMESTAMP_HEADER } from '@switchboard/service-kit/switchboard-webhook'
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

/** Event ids are 24 random hex digits (encoded straight from service-kit's random pool). */
export const newEventId = (): string => `evt_${randomHex(12)}`

/**
 * The wire form, written by hand because the emulator posts tens of thousands of events a second
 * under load: byte for byte what JSON.stringify gives for a StatusPost with its keys in the order
 * above (the tests hold it to that). A message's fixed fields are encoded once, for all its events.
 */
export const POST_HEAD = `{"object":"${WEBHOOK_OBJECT}","events":[`
export const POST_TAIL = ']}'

/** `,"destination":…,"campaignName":…,"userName":…}`: everything in `message` after its status. */
export const messageTail = (m: { destination: string, campaign: { name: string }, userName: string }): string =>
  `,"destination":${JSON.stringify(m.destination)},"campaignName":${JSON.stringify(m.campaign.name)},"userName":${JSON.stringify(m.userName)}}`

// WhatsApp Cloud API error 131026: the number cannot receive the message.
export const UNDELIVERABLE = { code: 131026, title: 'Message undeliverable' } as const
const UNDELIVERABLE_JSON = `,"error":${JSON.stringify(UNDELIVERABLE)}`

/** One event as JSON; `messageId` comes from our own UUIDs and `status` from MessageStatus, so neither needs escaping. */
export function eventJson (p: { messageId: string, status: MessageStatus, at: number, message: string }): string {
  return `{"id":"${newEventId()}","type":"message.${p.status}","timestamp":${Math.floor(p.at / 1000)},"message":{"id":"${p.messageId}","status":"${p.status}"${p.message}${p.status === 'failed' ? UNDELIVERABLE_JSON : ''}}`
}

/** The scheme is service-kit's (shared with the Bolna emulator); these names keep this file's vocabulary. */
export const signStatusPost = (secret: string, timestamp: string, body: string | Buffer): string => signSwitchboardWebhook(secret, timestamp, body)

/** Headers for one signed post. */
export function statusPostHeaders (secret: string, body: string | Buffer, nowMs = Date.now()): Record<string, string> {
  return { 'content-type': 'application/json', 'user-agent': 'Switchboard-AiSensy-Emulator/1.0', ...switchboardWebhookHeaders(secret, body, nowMs) }
}

export type VerifyResult = SwitchboardWebhookVerdict

/** Checks a received post: both headers present, timestamp fresh, signature over the exact bytes. */
export const verifyStatusPost = (secrets: string | string[], headers: { signature?: unknown, timestamp?: unknown }, rawBody: Buffer, maxAgeSeconds: number, nowMs = Date.now()): VerifyResult =>
  verifySwitchboardWebhook(secrets, headers, rawBody, maxAgeSeconds, nowMs)
