/**
 * What the Activity view shows of a Bolna exchange (service-kit's capture.ts stores it): a call
 * as who was called by which agent with which variables, and each execution webhook as the call's
 * status with its transcript and recording as they fill in. Recording downloads (the page's audio
 * player) are not recorded.
 */
import type { Describer } from '@switchboard/service-kit/capture'

type Json = Record<string, unknown>
const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v)
const str = (v: unknown): string | null => typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null

/** A Bolna execution object as what a person wants of a call. */
export function callContent (e: Json): Json {
  const telephony = isObject(e.telephony_data) ? e.telephony_data : {}
  const transcript = str(e.transcript)
  return {
    kind: 'voice',
    execution_id: str(e.id),
    status: str(e.status),
    to: str(telephony.to_number),
    from: str(telephony.from_number),
    agent_id: str(e.agent_id),
    transcript_text: transcript,
    transcript: transcript === null
      ? []
      : transcript.split('\n').filter(Boolean).map(line => {
        const m = /^([\w ]{1,20}):\s?(.*)$/.exec(line)
        return m ? { role: m[1]!.trim().toLowerCase(), text: m[2]! } : { role: 'unknown', text: line }
      }),
    recording_url: str(telephony.recording_url),
    duration_seconds: typeof e.conversation_duration === 'number' ? e.conversation_duration : null,
    hangup_reason: str(telephony.hangup_reason),
    error_message: str(e.error_message)
  }
}

export const describeBolna: Describer = (x) => {
  if (x.kind === 'webhook') {
    if (!isObject(x.requestBody)) return undefined
    const telephony = isObject(x.requestBody.telephony_data) ? x.requestBody.telephony_data : {}
    const to = str(telephony.to_number)
    return { event: str(x.requestBody.status) ?? undefined, summary: `Bolna execution: ${str(x.requestBody.status) ?? 'update'}`, contacts: to ? [to] : [], content: callContent(x.requestBody) }
  }
  if (x.method === 'GET' && /\/recordings\//.test(x.path)) return { skip: true }
  if (x.method === 'GET' && isObject(x.responseBody) && /\/executions?\//.test(x.path)) return { content: callContent(x.responseBody), providerId: str(x.responseBody.id) ?? undefined }
  if (x.method !== 'POST' || x.path !== '/call' || !isObject(x.requestBody)) return undefined
  const body = x.requestBody
  const response = isObject(x.responseBody) ? x.responseBody : {}
  const to = str(body.recipient_phone_number)
  return {
    providerId: str(response.execution_id) ?? undefined,
    contacts: to ? [to] : [],
    summary: `call to ${to ?? 'nobody'}`,
    content: {
      kind: 'voice',
      to,
      from: str(body.from_phone_number),
      agent_id: str(body.agent_id),
      variables: isObject(body.user_data) ? body.user_data : {},
      scheduled_at: str(body.scheduled_at),
      execution_id: str(response.execution_id)
    }
  }
}
