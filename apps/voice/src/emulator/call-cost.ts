import type { Execution } from './execution.ts'

/**
 * What a finished call cost and used, from its length and its conversation (Bolna reports both
 * once post-processing is done). Cents per minute of conversation, per component: the shape of
 * Bolna's cost_breakdown; the rates are ours, chosen to land near Bolna's published per-minute price.
 */
export const CENTS_PER_MINUTE: Readonly<Execution['cost_breakdown']> = { llm: 0.9, network: 2.4, platform: 2.0, synthesizer: 1.8, transcriber: 0.6 }

const round2 = (n: number) => Math.round(n * 100) / 100

/** The cost of `seconds` of conversation, per component and in total (cents, two decimals). */
export function callCost (seconds: number): { breakdown: Execution['cost_breakdown'], total: number } {
  const minutes = seconds / 60
  const b = { llm: 0, network: 0, platform: 0, synthesizer: 0, transcriber: 0 }
  for (const k of Object.keys(CENTS_PER_MINUTE) as Array<keyof typeof CENTS_PER_MINUTE>) b[k] = round2(CENTS_PER_MINUTE[k] * minutes)
  return { breakdown: b, total: round2(b.llm + b.network + b.platform + b.synthesizer + b.transcriber) }
}

/**
 * The usage: the assistant's turns are synthesised (characters), the whole call transcribed
 * (seconds), and the model reads a prompt plus the transcript (about 1.3 tokens a character) and
 * writes the assistant's words (about 4 characters a token).
 */
export function callUsage (turns: ReadonlyArray<readonly [string, string]>, transcript: string, seconds: number): Execution['usage_breakdown'] {
  const spoken = turns.filter(([who]) => who === 'assistant').reduce((n, [, text]) => n + text.length, 0)
  const input = 350 + Math.round(transcript.length * 1.3)
  const output = Math.round(spoken / 4)
  return { synthesizer_characters: spoken, synthesizer_model: 'polly', transcriber_duration: seconds, transcriber_model: 'deepgram', llm_tokens: input + output, llm_model: { 'gpt-4o-mini': { input, output } } }
}
