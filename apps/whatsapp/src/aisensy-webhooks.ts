import { createHash, timingSafeEqual } from 'node:crypto'
import { randomHex } from '@switchboard/service-kit/ids'
import { normalizePhone } from './phone.ts'

/**
 * AiSensy's project webhooks on the wire: the one home of this knowledge, imported by the
 * emulator (which posts them) and by the receiver and the service (which read them).
 *
 * AiSensy publishes no schema for these (providers.md §2, "Webhooks / delivery reports": GAP), and
 * no signature: the project webhook is a URL set in the dashboard (Manage → Webhooks, choosing
 * topics), so a secret token in that URL is what authenticates a post. The shape below is the
 * topic-based envelope integrators record, field by field:
 *
 *   {"id":"<notification id>","created_at":"<ISO time>","topic":"message.status.updated",
 *    "project_id":"<project id>","delivery_attempt":"1",
 *    "data":{"message":{"id":"<submitted_message_id>","phone_number":"919876543210",
 *      "status":"delivered","userName":"Asha", …}}}
 *
 * Sources (all third-party; none is AiSensy's own):
 * - `topic` with `data.message`: integrators' receivers and their test fixtures switch on `topic`
 *   and read `data.message` (inbound fixtures: topic "message.sender.user" with
 *   `data.message.phone_number` and `data.message.message_content.text`).
 * - `id`, `created_at`, `project_id`, `delivery_attempt` on the envelope: integrators' notes use
 *   the notification id for idempotency and log the attempt number (some spell the id
 *   `notification_id`; both are read).
 * - `message.status.updated` as the status topic, `data.message.status` in WhatsApp's words
 *   (sent/delivered/read/failed; some record them upper-case, so any case is read): the most
 *   plausible of the recorded spellings ("message.status.update" also appears and is read too).
 * - `data.message.id` being the `submitted_message_id` the campaign API answered: UNVERIFIED.
 *   `messageId`, `message_id` and `submitted_message_id` are read as well, in that order.
 * - `failureResponse: {code, title}` on a failed message: UNVERIFIED (the name integrators quote);
 *   the WhatsApp Cloud API's `errors: [{code, title}]` is read as well.
 * Anything else a post carries is ignored, and a topic this service does not handle is
 * acknowledged and not applied, so AiSensy does not retry it.
 */
export const STATUS_TOPIC = 'message.status.updated'
export const INBOUND_TOPIC = 'message.sender.user'
const STATUS_TOPICS = new Set([STATUS_TOPIC, 'message.status.update'])
const INBOUND_TOPICS = new Set([INBOUND_TOPIC, 'message.created'])

/** A data-folder file holding the generated URL token when AISENSY_WEBHOOK_TOKEN is not set. */
export const TOKEN_FILE = 'aisensy-webhook-token'

export type MessageStatus = 'sent' | 'delivered' | 'read' | 'failed'
const STATUSES: ReadonlySet<string> = new Set<MessageStatus>(['sent', 'delivered', 'read', 'failed'])

export interface AiSensyNotification<M = Record<string, unknown>> {
  id: string
  created_at: string
  topic: string
  project_id: string
  delivery_attempt: string
  data: { message: M }
}

/** What the service needs from a status notification. */
export interface StatusUpdate {
  messageId: string
  status: MessageStatus
  error?: { code: string, title: string }
  /** When the status happened (the notification's created_at, ISO), if it says. */
  at?: string
}

/** What the service needs from an inbound message. */
export interface InboundMessage {
  /** AiSensy's id for the inbound message (used to ignore a redelivery). */
  messageId: string
  /** As AiSensy gives it, digits with the country code (`919876543210`). */
  phone: string
  name: string | null
  /** The text, or for media a short description of what was sent. */
  text: string
  type: string
}

type Json = Record<string, unknown>
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)
const str = (v: unknown): string | undefined => typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined

const messageOf = (n: unknown): Json | undefined => {
  if (!isObject(n) || !isObject(n.data)) return undefined
  return isObject(n.data.message) ? n.data.message : undefined
}

/** The notification's own id, for idempotency; undefined when it carries none. */
export function notificationIdOf (n: unknown): string | undefined {
  return isObject(n) ? str(n.id) ?? str(n.notification_id) : undefined
}

export function topicOf (n: unknown): string | undefined {
  return isObject(n) ? str(n.topic) : undefined
}

export const isStatusTopic = (topic: string | undefined) => topic !== undefined && STATUS_TOPICS.has(topic)
export const isInboundTopic = (topic: string | undefined) => topic !== undefined && INBOUND_TOPICS.has(topic)

/** A status notification as {message id, status, error}; undefined when it is not one we can use. */
export function statusUpdateOf (n: unknown): StatusUpdate | undefined {
  if (!isStatusTopic(topicOf(n))) return undefined
  const m = messageOf(n)
  if (!m) return undefined
  const messageId = str(m.id) ?? str(m.messageId) ?? str(m.message_id) ?? str(m.submitted_message_id)
  const status = typeof m.status === 'string' ? m.status.toLowerCase() : undefined
  if (!messageId || !status || !STATUSES.has(status)) return undefined
  const update: StatusUpdate = { messageId, status: status as MessageStatus }
  const at = isObject(n) && typeof n.created_at === 'string' ? Date.parse(n.created_at) : Number.NaN
  if (Number.isFinite(at)) update.at = new Date(at).toISOString()
  if (status === 'failed') {
    const failure = isObject(m.failureResponse) ? m.failureResponse : Array.isArray(m.errors) && isObject(m.errors[0]) ? m.errors[0] : isObject(m.error) ? m.error : {}
    update.error = { code: str(failure.code) ?? 'failed', title: str(failure.title) ?? str(failure.message) ?? 'failed' }
  }
  return update
}

/**
 * An inbound (customer → business) message read from its notification, or why it cannot be one:
 * the sender must be a phone number the service can normalise (phone.ts, as it checks the numbers
 * it sends to), and the text a string. A number is read as its digits for the phone (some
 * integrators record numeric phone fields) but never for the text: a message's text is a string
 * on WhatsApp, so a number, list or object there is a malformed post, not a message to store.
 * undefined when the notification is not an inbound one at all.
 */
export function readInboundMessage (n: unknown): { message: InboundMessage } | { problem: string } | undefined {
  if (!isInboundTopic(topicOf(n))) return undefined
  const m = messageOf(n)
  if (!m) return { problem: 'no data.message' }
  const contact = isObject(m.contact) ? m.contact : {}
  // The first field present names the sender; the fields integrators record, in that order.
  const given = (v: unknown) => v !== undefined && v !== null && v !== ''
  const phoneFields: Array<[string, unknown]> = [
    ['phone_number', m.phone_number], ['phone', m.phone], ['mobile', m.mobile], ['from', m.from], ['contact.mobile', contact.mobile], ['contact.phone', contact.phone]
  ]
  const phoneField = phoneFields.find(([, v]) => given(v))
  if (!phoneField) return { problem: 'no sender phone number (data.message.phone_number)' }
  const phone = str(phoneField[1])
  if (phone === undefined) return { problem: `data.message.${phoneField[0]} is not a string` }
  const normalized = normalizePhone(phone)
  if (!normalized.ok) return { problem: `data.message.${phoneField[0]} is not a phone number (${normalized.reason})` }
  const content = isObject(m.message_content) ? m.message_content : {}
  const type = (str(m.message_type) ?? str(m.type) ?? 'TEXT').toUpperCase()
  const textFields: Array<[string, unknown]> = [['message_content.text', content.text], ['text', m.text], ['body', m.body]]
  const textField = textFields.find(([, v]) => given(v))
  if (textField && typeof textField[1] !== 'string') return { problem: `data.message.${textField[0]} is not a string` }
  if (!textField && given(content.url) && typeof content.url !== 'string') return { problem: 'data.message.message_content.url is not a string' }
  // Media: a short description with its URL stands for the text.
  const text = textField ? textField[1] as string : (str(content.url) ? `[${type.toLowerCase()}] ${str(content.url)}` : undefined)
  if (text === undefined) return { problem: 'no text (data.message.message_content.text)' }
  const messageId = str(m.id) ?? str(m.messageId) ?? notificationIdOf(n)
  if (!messageId) return { problem: 'no message id' }
  return { message: { messageId, phone, name: str(m.userName) ?? str(m.name) ?? str(contact.name) ?? null, text, type } }
}

// ---- building them (the emulator) ----------------------------------------------------------------

/** 24 hex digits, the length of the ids integrators record (Mongo-style object ids). */
export const newNotificationId = (): string => randomHex(12)

// WhatsApp Cloud API error 131026: the number cannot receive the message.
export const UNDELIVERABLE = { code: 131026, title: 'Message undeliverable' } as const

function envelope (topic: string, projectId: string, atMs: number, message: Json): AiSensyNotification {
  return { id: newNotificationId(), created_at: new Date(atMs).toISOString(), topic, project_id: projectId, delivery_attempt: '1', data: { message } }
}

/** A message.status.updated notification for one status change of a submitted message. */
export function statusNotification (p: { projectId: string, messageId: string, status: MessageStatus, atMs: number, phone: string, userName: string, campaignName: string }): AiSensyNotification {
  const message: Json = { id: p.messageId, phone_number: p.phone, status: p.status, userName: p.userName, campaign_name: p.campaignName, updated_at: Math.floor(p.atMs / 1000) }
  if (p.status === 'failed') message.failureResponse = UNDELIVERABLE
  return envelope(STATUS_TOPIC, p.projectId, p.atMs, message)
}

/** A message.sender.user notification: a customer's text message to the business number. */
export function inboundNotification (p: { projectId: string, messageId: string, atMs: number, phone: string, userName: string | null, text: string }): AiSensyNotification {
  return envelope(INBOUND_TOPIC, p.projectId, p.atMs, {
    id: p.messageId,
    phone_number: p.phone,
    userName: p.userName ?? '',
    message_type: 'TEXT',
    message_content: { text: p.text },
    sender: 'USER',
    created_at: Math.floor(p.atMs / 1000)
  })
}

// ---- the URL token -------------------------------------------------------------------------------

/**
 * Whether a token from a URL is the configured one, in constant time: both sides are hashed first,
 * so neither the comparison nor an early length check tells an attacker how close a guess was.
 */
export function tokenMatches (expected: string, given: string): boolean {
  const a = createHash('sha256').update(expected).digest()
  const b = createHash('sha256').update(given).digest()
  return timingSafeEqual(a, b)
}
