import type { CallLogRow } from '@switchboard/activity-log'
import { UUID } from '@switchboard/schemas/common'
import type { CallLog } from '@switchboard/schemas/voice'
import type { BolnaExecution } from '../client/bolna-client.ts'
import { isFinal } from './status.ts'

// How Bolna's execution objects become call_logs rows, and rows the API's CallLog: the mapping,
// no I/O (voice-service.ts reads and writes).

/**
 * Variables added to every call's user_data. Bolna hands user_data back in each execution's
 * context_details.recipient_data (unverified), which ties a webhook to its row even when it
 * arrives before the answer to POST /call has been handled; without them the execution id does.
 */
export const CALL_ID_VAR = 'switchboard_call_id'
export const CAMPAIGN_ID_VAR = 'switchboard_campaign_id'

/** A number from a value Bolna may send as a number, a numeric string, empty or null. */
export const num = (v: unknown): number | undefined => {
  if (v === null || v === undefined || v === '') return undefined
  const n = Number(v)
  return Number.isFinite(n) ? n : undefined
}

/** Bolna wants a numeric offset (a "Z" suffix is reported to fail): 2026-05-19T13:00:00+00:00. */
export const bolnaTimestamp = (iso: string) => `${new Date(iso).toISOString().slice(0, 19)}+00:00`

/** Bolna's timestamps as ISO in UTC; one without a zone is read as UTC (unverified: the API's own are). */
function bolnaTime (value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined
  const ms = Date.parse(/(?:Z|[+-]\d\d:?\d\d)$/i.test(value) ? value : `${value}Z`)
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined
}

/** What a webhook or a fetched execution says about a call, as a call_logs patch. */
export function executionPatch (e: BolnaExecution): Partial<CallLogRow> {
  const t = e.telephony_data ?? {}
  const final = isFinal(e.status)
  const patch: Partial<CallLogRow> = { status: e.status, execution_id: e.id }
  // Dated when the status happened, as the execution says (its updated_at, on the emulators' clock
  // in mock mode): a post that arrives late, or after an advance of the test clock passed several
  // steps, still dates each move right. Without it, the activity log stamps the move when made.
  const at = bolnaTime(e.updated_at)
  if (at !== undefined) patch.updated_at = at
  const duration = num(e.conversation_duration) ?? num(t.duration)
  if (duration !== undefined && (duration > 0 || final)) patch.duration_seconds = duration
  const cost = num(e.total_cost)
  if (cost !== undefined && (cost > 0 || final)) patch.cost = cost
  if (t.recording_url) patch.recording_url = t.recording_url
  if (e.transcript) patch.transcript = e.transcript
  if (typeof e.answered_by_voice_mail === 'boolean') patch.answered_by_voice_mail = e.answered_by_voice_mail
  if (t.from_number) patch.from_number = t.from_number
  if (e.error_message) {
    patch.error = e.error_message
    patch.error_code = e.status
  }
  return patch
}

/** The row id and campaign id a call carries in its echoed user_data, when they are ids. */
export function idsOf (data: Record<string, unknown>): { callId: string | undefined, campaignId: string | undefined } {
  const callId = data[CALL_ID_VAR]
  const campaignId = data[CAMPAIGN_ID_VAR]
  return {
    callId: typeof callId === 'string' && UUID.test(callId) ? callId : undefined,
    campaignId: typeof campaignId === 'string' && UUID.test(campaignId) ? campaignId : undefined
  }
}

export function toCallLog (row: Record<string, unknown>): CallLog {
  return {
    ...(row as unknown as CallLog),
    duration_seconds: num(row.duration_seconds) ?? null,
    cost: num(row.cost) ?? null,
    latency_ms: num(row.latency_ms) ?? null
  }
}
