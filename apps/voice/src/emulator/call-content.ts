import { randomUUID } from 'node:crypto'
import type { CallStatus } from '@switchboard/schemas/voice'
import { fillVariables, type AgentState } from './agents.ts'
import { callCost, callUsage } from './call-cost.ts'
import type { Ending, Execution } from './execution.ts'

/** The spoken turns of an answered call: who, and what they said. */
export type Turns = Array<[string, string]>

/** What a call's content is made from. `turns` holds its conversation once computed (see turnsOf). */
export interface CallScript {
  agent: AgentState
  userData: Record<string, unknown>
  ending: Ending
  recordingUrl: string
  turns: Turns | undefined
}

/** Plausible carriers by country code; only a display value (unverified). */
export function carrier (to: string): string {
  if (to.startsWith('+91')) return 'Reliance Jio Infocomm Ltd (RJIL)'
  if (to.startsWith('+1')) return 'Verizon Wireless'
  if (to.startsWith('+44')) return 'Vodafone UK'
  return 'Unknown'
}

/** The agent's conversation with the call's variables filled in; a voicemail's short exchange. */
export function conversation (call: Pick<CallScript, 'agent' | 'userData' | 'ending'>): Turns {
  const fill = (text: string) => fillVariables(text, call.userData, call.agent.defaults)
  if (call.ending === 'voicemail') {
    return [
      ['assistant', fill(call.agent.welcomeMessage)],
      ['user', '[voicemail] The person you are calling is not available. Please leave a message after the tone.'],
      ['assistant', fill('Hi {name}, sorry we missed you. We will call you back later. Thank you!')]
    ]
  }
  return call.agent.conversation.map(([who, text]) => [who, fill(text)])
}

/** The call's turns, computed once (kept on the call). */
export function turnsOf (call: CallScript): Turns {
  call.turns ??= conversation(call)
  return call.turns
}

/** The transcript as Bolna writes it: one "speaker: text" line per turn. */
export const transcriptOf = (turns: Turns): string => turns.map(([who, text]) => `${who}: ${text}`).join('\n') + '\n'

/**
 * How long the conversation took, in seconds to a tenth: speech at about 2.6 words a second, a
 * pause between turns, some variation per call (`r`, a draw in [0, 1)).
 */
export function conversationSeconds (turns: Turns, r: number): number {
  const words = turns.reduce((n, [, text]) => n + text.split(/\s+/).length, 0)
  return Math.round((words / 2.6 + turns.length * 0.8) * (0.9 + r * 0.4) * 10) / 10
}

/**
 * What Bolna knows about the call once it reaches `status`, written into its execution object.
 * `random` is drawn in a fixed order per status, so a seeded simulator repeats itself.
 */
export function fillExecution (e: Execution, status: CallStatus, call: CallScript, random: () => number): void {
  const t = e.telephony_data
  const r = random
  switch (status) {
    case 'initiated':
      t.provider_call_id = randomUUID()
      t.post_dial_delay = 1 + Math.floor(r() * 3)
      t.to_number_carrier = carrier(t.to_number)
      break
    case 'in-progress':
      t.ring_duration = 3 + Math.floor(r() * 10)
      e.answered_by_voice_mail = call.ending === 'voicemail'
      break
    case 'call-disconnected': {
      const turns = turnsOf(call)
      e.transcript = transcriptOf(turns)
      e.conversation_duration = conversationSeconds(turns, r())
      t.duration = String(Math.ceil(e.conversation_duration))
      t.hangup_by = call.ending === 'voicemail' ? 'Assistant' : 'Callee'
      t.hangup_reason = 'Normal Hangup'
      t.hangup_provider_code = 4000
      break
    }
    case 'completed': {
      // Post-processing done: recording, costs, usage and extraction arrive together.
      const cost = callCost(e.conversation_duration)
      e.cost_breakdown = cost.breakdown
      e.total_cost = cost.total
      e.usage_breakdown = callUsage(turnsOf(call), e.transcript, e.conversation_duration)
      t.recording_url = call.recordingUrl
      e.extracted_data = call.ending === 'voicemail' || call.agent.extracted === null ? null : structuredClone(call.agent.extracted)
      e.extraction_webhook_status = e.extracted_data !== null
      break
    }
    case 'busy':
      t.ring_duration = 2 + Math.floor(r() * 4)
      t.hangup_by = 'Callee'
      t.hangup_reason = 'Busy Line' // Plivo's wording and code (unverified)
      t.hangup_provider_code = 3010
      break
    case 'no-answer':
      t.ring_duration = 30
      t.hangup_by = 'Carrier'
      t.hangup_reason = 'No Answer' // (unverified)
      t.hangup_provider_code = 3020
      break
    case 'failed':
      e.error_message = 'Call failed: the destination could not be reached (simulated carrier failure)'
      t.hangup_by = 'Carrier'
      t.hangup_reason = 'Unreachable Destination' // (unverified)
      t.hangup_provider_code = 2000
      break
    default:
      break
  }
}
