import type { CallStatus } from '@switchboard/schemas/voice'
import type { RetryFields } from './auto-retry.ts'
import { FINAL_CALL_STATUSES } from '@switchboard/schemas/voice'

/** How a call placed through the emulator ends. */
export type Ending = 'completed' | 'voicemail' | 'busy' | 'no-answer' | 'failed'

/**
 * The execution object, as GET /executions/{id} answers and every webhook carries it (with the
 * auto-retry fields only when the call was placed with retry_config enabled). What is not
 * known yet is null (batch_id outside a batch, error_message, scheduled_at, the recording and
 * hangup fields before the call ends): Bolna's spec types these as plain strings and integers, but
 * providers.md §4 gives batch_id as "32-hex or null", and execution payloads third parties
 * recorded from the live API (test fixtures) carry null for the others (recording_url, hangup_by,
 * hangup_reason, hangup_provider_code, error_message, transfer_call_data, batch_run_details). The remaining telephony fields
 * (provider_call_id, ring_duration, post_dial_delay, to_number_carrier) follow them: (unverified).
 */
export interface Execution extends Partial<RetryFields> {
  id: string
  agent_id: string
  batch_id: string | null
  conversation_duration: number
  total_cost: number
  status: CallStatus
  error_message: string | null
  answered_by_voice_mail: boolean
  transcript: string
  created_at: string
  updated_at: string
  scheduled_at: string | null
  cost_breakdown: { llm: number, network: number, platform: number, synthesizer: number, transcriber: number }
  usage_breakdown: {
    synthesizer_characters: number
    synthesizer_model: string
    transcriber_duration: number
    transcriber_model: string
    llm_tokens: number
    llm_model: Record<string, { input: number, output: number }>
  }
  telephony_data: {
    duration: string
    to_number: string
    from_number: string
    recording_url: string | null
    hosted_telephony: boolean
    provider_call_id: string | null
    call_type: 'outbound' | 'inbound'
    provider: 'plivo' | 'twilio'
    hangup_by: string | null
    hangup_reason: string | null
    hangup_provider_code: number | null
    ring_duration: number | null
    post_dial_delay: number | null
    to_number_carrier: string | null
  }
  transfer_call_data: null
  batch_run_details: { status: CallStatus, created_at: string, updated_at: string, retried: number } | null
  extracted_data: Record<string, unknown> | null
  context_details: { recipient_data: Record<string, unknown>, recipient_phone_number: string }
  extraction_webhook_status: boolean | null
}

/** The statuses a call of each ending goes through after queued (shared, never changed). */
export const PATHS: Readonly<Record<Ending, readonly CallStatus[]>> = {
  completed: ['initiated', 'ringing', 'in-progress', 'call-disconnected', 'completed'],
  voicemail: ['initiated', 'ringing', 'in-progress', 'call-disconnected', 'completed'],
  busy: ['initiated', 'ringing', 'busy'],
  'no-answer': ['initiated', 'ringing', 'no-answer'],
  failed: ['initiated', 'failed']
}

const FINAL: ReadonlySet<CallStatus> = new Set(FINAL_CALL_STATUSES)
/** The statuses of a call on the line (for /user/me's concurrency). */
export const LIVE: ReadonlySet<CallStatus> = new Set(['initiated', 'ringing', 'in-progress', 'call-disconnected'])
export const isFinal = (s: CallStatus) => FINAL.has(s)

/** Random draws for the ending of a call that lost the success-rate draw. */
export function unluckyEnding (r: number): Ending {
  return r < 0.5 ? 'no-answer' : r < 0.8 ? 'busy' : 'failed'
}

export interface NewExecution {
  id: string
  agentId: string
  to: string
  from: string
  userData: Record<string, unknown>
  batchId?: string
  /** When the call starts, if it waits for a time (then it is scheduled, not queued). */
  scheduledAt: Date | undefined
  /** Its created_at and updated_at. */
  at: string
}

/** A call's execution object as Bolna answers it right after POST /call: nothing known yet. */
export function newExecution (input: NewExecution): Execution {
  const { id, at, scheduledAt } = input
  return {
    id,
    agent_id: input.agentId,
    batch_id: input.batchId ?? null,
    conversation_duration: 0,
    total_cost: 0,
    status: scheduledAt ? 'scheduled' : 'queued',
    error_message: null,
    answered_by_voice_mail: false,
    transcript: '',
    created_at: at,
    updated_at: at,
    scheduled_at: scheduledAt ? scheduledAt.toISOString() : null,
    cost_breakdown: { llm: 0, network: 0, platform: 0, synthesizer: 0, transcriber: 0 },
    usage_breakdown: { synthesizer_characters: 0, synthesizer_model: 'polly', transcriber_duration: 0, transcriber_model: 'deepgram', llm_tokens: 0, llm_model: {} },
    telephony_data: {
      duration: '0',
      to_number: input.to,
      from_number: input.from,
      recording_url: null,
      hosted_telephony: true,
      provider_call_id: null,
      call_type: 'outbound',
      provider: 'plivo',
      hangup_by: null,
      hangup_reason: null,
      hangup_provider_code: null,
      ring_duration: null,
      post_dial_delay: null,
      to_number_carrier: null
    },
    transfer_call_data: null,
    batch_run_details: input.batchId ? { status: 'queued', created_at: at, updated_at: at, retried: 0 } : null,
    extracted_data: null,
    context_details: { recipient_data: input.userData, recipient_phone_number: input.to },
    extraction_webhook_status: null
  }
}
