import type { Execution } from './execution.ts'

/** One entry of `GET /executions/{execution_id}/log` (the spec's AgentExecutionLog). */
export interface ExecutionLogEntry {
  created_at: string
  type: 'request' | 'response'
  component: 'transcriber' | 'llm' | 'synthesizer'
  provider: string
  data: string
}

/**
 * An execution's raw log as Bolna's pipeline (transcriber → llm → synthesizer) would have written
 * it, made from what the call said: each caller turn is the transcriber's response; each agent
 * turn is the LLM asked (with what the caller last said, or the call's start for the welcome
 * message) and answering, then the synthesizer asked to speak the answer and answering with its
 * audio. The spec gives the entry's fields and their examples only, not a whole log: which entries
 * a real call writes, and what a synthesizer response's `data` holds, are the emulator's choice
 * (unverified). Providers follow the execution's usage_breakdown (the agents' defaults: deepgram,
 * openai, polly). Entries are spread over the conversation's seconds, from when it was answered.
 * A call not yet answered (or never: busy, no-answer, failed) has an empty log.
 */
export function executionLog (e: Execution): ExecutionLogEntry[] {
  const turns = e.transcript.split('\n').flatMap(line => {
    const m = /^(assistant|user): (.*)$/.exec(line)
    return m ? [[m[1]!, m[2]!] as const] : []
  })
  if (turns.length === 0) return []
  const llm = 'openai' // every model the emulator's agents use (usage_breakdown.llm_model) is OpenAI's
  const synthesizer = e.usage_breakdown.synthesizer_model || 'polly'
  const transcriber = e.usage_breakdown.transcriber_model || 'deepgram'
  const answered = Date.parse(e.created_at) + ((e.telephony_data.post_dial_delay ?? 0) + (e.telephony_data.ring_duration ?? 0)) * 1000
  const step = (e.conversation_duration * 1000) / Math.max(turns.length, 1)
  const at = (turn: number, offsetMs: number) => new Date(answered + turn * step + offsetMs).toISOString().replace(/\.\d{3}Z$/, 'Z')
  const log: ExecutionLogEntry[] = []
  let heard = '(call answered)'
  turns.forEach(([who, text], i) => {
    if (who === 'user') {
      log.push({ created_at: at(i, step * 0.9), type: 'response', component: 'transcriber', provider: transcriber, data: text })
      heard = text
      return
    }
    log.push(
      { created_at: at(i, 0), type: 'request', component: 'llm', provider: llm, data: heard },
      { created_at: at(i, 300), type: 'response', component: 'llm', provider: llm, data: text },
      { created_at: at(i, 320), type: 'request', component: 'synthesizer', provider: synthesizer, data: text },
      { created_at: at(i, 600), type: 'response', component: 'synthesizer', provider: synthesizer, data: `[audio: ${text.length} characters spoken]` }
    )
  })
  return log
}
