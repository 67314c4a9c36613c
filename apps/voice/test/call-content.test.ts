import t from 'tap'
import { seedAgents } from '../src/emulator/agents.ts'
import { CENTS_PER_MINUTE, callCost, callUsage } from '../src/emulator/call-cost.ts'
import { carrier, conversation, conversationSeconds, fillExecution, transcriptOf, type CallScript } from '../src/emulator/call-content.ts'
import { newExecution, PATHS, unluckyEnding, type Ending } from '../src/emulator/execution.ts'

const agent = [...seedAgents().values()][0]!
const script = (ending: Ending, userData: Record<string, unknown> = {}): CallScript =>
  ({ agent, userData, ending, recordingUrl: 'http://127.0.0.1/bolna/recordings/x.wav', turns: undefined })

t.test('cost: each component at its rate per minute, rounded to cents, and their sum', async t => {
  t.same(callCost(60), { breakdown: { ...CENTS_PER_MINUTE }, total: 7.7 })
  t.same(callCost(0), { breakdown: { llm: 0, network: 0, platform: 0, synthesizer: 0, transcriber: 0 }, total: 0 })
  const half = callCost(31)
  t.same(half.breakdown, { llm: 0.47, network: 1.24, platform: 1.03, synthesizer: 0.93, transcriber: 0.31 })
  t.equal(half.total, 3.98, 'the total adds the rounded components')
})

t.test('usage: the assistant\'s characters are synthesised, the transcript read, the words written', async t => {
  const turns: Array<[string, string]> = [['assistant', 'Hello there'], ['user', 'Hi'], ['assistant', 'Bye now']]
  const usage = callUsage(turns, 'x'.repeat(100), 12.5)
  t.equal(usage.synthesizer_characters, 18)
  t.equal(usage.transcriber_duration, 12.5)
  t.same(usage.llm_model, { 'gpt-4o-mini': { input: 480, output: 5 } })
  t.equal(usage.llm_tokens, 485)
})

t.test('content: the agent\'s conversation with the call\'s variables; a voicemail\'s own exchange', async t => {
  const turns = conversation(script('completed', { name: 'Priya' }))
  t.equal(turns.length, agent.conversation.length)
  t.match(turns[0]![1], /Priya/, 'variables from the call')
  t.notMatch(turns.map(([, text]) => text).join(' '), /\{[a-z_]+\}/, 'none left unfilled (the agent\'s defaults fill the rest)')
  const voicemail = conversation(script('voicemail'))
  t.same(voicemail.map(([who]) => who), ['assistant', 'user', 'assistant'])
  t.match(voicemail[1]![1], /^\[voicemail\]/)
  t.equal(transcriptOf([['assistant', 'Hi'], ['user', 'Hello']]), 'assistant: Hi\nuser: Hello\n')
  t.equal(carrier('+919855550100'), 'Reliance Jio Infocomm Ltd (RJIL)')
  t.equal(carrier('+4915112345678'), 'Unknown')
})

t.test('duration: about 2.6 words a second plus a pause per turn, varied by the draw', async t => {
  const turns: Array<[string, string]> = [['assistant', 'one two three four five six seven eight nine ten eleven twelve thirteen'], ['user', 'yes']]
  // 14 words / 2.6 + 2 × 0.8 = 6.98 s, times 0.9 to 1.3.
  t.equal(conversationSeconds(turns, 0), 6.3)
  t.equal(conversationSeconds(turns, 0.25), 7)
  t.equal(conversationSeconds(turns, 0.999), 9.1)
})

t.test('a call walked through its path: each status fills what Bolna knows by then', async t => {
  const draws = [0.5, 0.5, 0.5, 0.5, 0.5]
  const random = () => draws.shift() ?? 0.5
  const call = script('completed', { name: 'Priya' })
  const e = newExecution({ id: 'x', agentId: agent.id, to: '+919855550100', from: '+918035735900', userData: call.userData, scheduledAt: undefined, at: '2026-01-01T00:00:00.000Z' })
  t.equal(e.status, 'queued')
  for (const status of PATHS.completed) fillExecution(e, status, call, random)
  t.equal(e.telephony_data.post_dial_delay, 2)
  t.equal(e.telephony_data.ring_duration, 8)
  t.equal(e.transcript, transcriptOf(call.turns!), 'the transcript of the turns, computed once and kept on the call')
  t.equal(e.telephony_data.duration, String(Math.ceil(e.conversation_duration)))
  t.same(e.cost_breakdown, callCost(e.conversation_duration).breakdown)
  t.equal(e.total_cost, callCost(e.conversation_duration).total)
  t.equal(e.telephony_data.recording_url, call.recordingUrl)
  t.same(e.extracted_data, agent.extracted)
  t.equal(e.extraction_webhook_status, true)
  t.equal(e.telephony_data.hangup_provider_code, 4000)

  const busy = newExecution({ id: 'y', agentId: agent.id, to: '+15555550100', from: '+1', userData: {}, batchId: 'b1', scheduledAt: new Date('2030-01-01T00:00:00Z'), at: '2026-01-01T00:00:00.000Z' })
  t.equal(busy.status, 'scheduled')
  t.equal(busy.scheduled_at, '2030-01-01T00:00:00.000Z')
  t.same(busy.batch_run_details, { status: 'queued', created_at: '2026-01-01T00:00:00.000Z', updated_at: '2026-01-01T00:00:00.000Z', retried: 0 })
  for (const status of PATHS.busy) fillExecution(busy, status, script('busy'), () => 0)
  t.same([busy.telephony_data.hangup_reason, busy.telephony_data.hangup_provider_code, busy.telephony_data.to_number_carrier], ['Busy Line', 3010, 'Verizon Wireless'])
  t.equal(busy.telephony_data.recording_url, null, 'an unanswered call has no recording')

  t.same([0, 0.49, 0.5, 0.79, 0.8, 0.99].map(unluckyEnding), ['no-answer', 'no-answer', 'busy', 'busy', 'failed', 'failed'])
})
