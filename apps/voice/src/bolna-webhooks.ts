import type { CallStatus } from '@switchboard/schemas/voice'
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, switchboardWebhookHeaders, verifySwitchboardWebhook } from '@switchboard/service-kit/switchboard-webhook'

/**
 * Bolna's execution webhooks on the wire: the one home of this knowledge, imported by the emulator
 * (which posts them) and by the receiver and the client (which read them). Neither imports the
 * other.
 *
 * A post is the execution object, the same one GET /executions/{id} answers, as JSON. Bolna signs
 * nothing: its webhooks are trusted by source address (13.203.39.153). The emulator posts from
 * wherever it runs, so its posts carry Switchboard's own scheme instead (service-kit's
 * switchboard-webhook: hex HMAC-SHA256 of "<timestamp>.<raw body>"), documented as ours, under a
 * secret kept in the data folder.
 */
export { SIGNATURE_HEADER, TIMESTAMP_HEADER }

/** The data-folder file holding the emulator's signing secret. */
export const SECRET_FILE = 'bolna-emulator-webhook-secret'

/** The execution object; only what this project reads is typed, the rest passes through. */
export interface BolnaExecution {
  id: string
  agent_id?: string
  status: CallStatus | string
  conversation_duration?: number | null
  total_cost?: number | null
  error_message?: string | null
  answered_by_voice_mail?: boolean | null
  transcript?: string | null
  created_at?: string
  updated_at?: string
  telephony_data?: {
    duration?: string | null
    to_number?: string | null
    from_number?: string | null
    recording_url?: string | null
    [k: string]: unknown
  } | null
  context_details?: { recipient_data?: Record<string, unknown> | null, [k: string]: unknown } | null
  [k: string]: unknown
}

// ---- sending (the emulator) ----------------------------------------------------------------------

/** The headers of one execution post from the emulator, signed with its secret. */
export function executionPostHeaders (secret: string, body: string | Buffer): Record<string, string> {
  return { 'content-type': 'application/json', 'user-agent': 'Bolna-Webhook (Switchboard emulator)', ...switchboardWebhookHeaders(secret, body) }
}

// ---- receiving (the service's receiver) ----------------------------------------------------------

/** The signature headers of a post, as received (absent when the post is the real Bolna's). */
export interface SignatureHeaders { signature: string | undefined, timestamp: string | undefined }

/** Whether a post claims the emulator's signature (either header present): then it must verify. */
export const claimsSignature = (h: SignatureHeaders): boolean => h.signature !== undefined || h.timestamp !== undefined

/** True when the post is signed by the emulator's secret, over the exact bytes, with a fresh timestamp. */
export function verifyEmulatorSignature (secret: string, h: SignatureHeaders, rawBody: Buffer, maxAgeSeconds: number): boolean {
  return verifySwitchboardWebhook(secret, h, rawBody, maxAgeSeconds).ok
}

/** The execution a verified post carries; undefined when it is not a JSON object with "id" and "status". */
export function parseExecution (rawBody: Buffer): BolnaExecution | undefined {
  let execution: unknown
  try { execution = JSON.parse(rawBody.toString('utf8')) } catch { execution = undefined }
  const e = execution as Partial<BolnaExecution> | undefined
  if (!e || typeof e !== 'object' || Array.isArray(e) || typeof e.id !== 'string' || typeof e.status !== 'string') return undefined
  return e as BolnaExecution
}
