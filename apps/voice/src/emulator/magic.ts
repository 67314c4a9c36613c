/**
 * Magic recipient numbers: a number ending in one of these seven digits forces the call's outcome
 * whatever the success rate, like Twilio's test numbers. 555-0100…0199 is the range reserved for
 * fiction in North America, so no real subscriber is dialled by mistake in live mode either.
 * Any country code and area code work: +12125550101, +919855550101, … Documented in the README.
 */
export type CallFate = 'completed' | 'busy' | 'no-answer' | 'failed' | 'voicemail' | 'hold' | 'reject' | 'error'

export const MAGIC_SUFFIXES: Record<string, { fate: CallFate, outcome: string }> = {
  5550100: { fate: 'completed', outcome: 'answered, always (completed)' },
  5550101: { fate: 'busy', outcome: 'rings, then busy' },
  5550102: { fate: 'no-answer', outcome: 'rings out: no-answer' },
  5550103: { fate: 'failed', outcome: 'the carrier fails the call: failed, with an error_message' },
  5550104: { fate: 'voicemail', outcome: 'voicemail picks up: completed with answered_by_voice_mail true' },
  5550105: { fate: 'hold', outcome: 'stays queued for 60 s (time to stop it), then answered' },
  5550106: { fate: 'reject', outcome: 'POST /call is refused: 400 invalid recipient number' },
  5550107: { fate: 'error', outcome: 'POST /call fails like an outage: 500' }
}

export function magicFate (phone: string): CallFate | undefined {
  const digits = phone.replace(/\D/g, '')
  return MAGIC_SUFFIXES[digits.slice(-7)]?.fate
}

/** How long a 'hold' call waits in the queue before it goes ahead. */
export const HOLD_MS = 60_000
