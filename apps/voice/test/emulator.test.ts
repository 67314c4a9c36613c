import t, { type Test } from 'tap'
import { createHmac } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { startRecorder } from '@switchboard/service-kit/testing'
import { AGENTS, auth, eventually, http, NUMBERS, parseWav, startVoiceApp, uploadBatch } from './helper.ts'

const call = (to: string, extra: Record<string, unknown> = {}) => ({ agent_id: AGENTS.reminder, recipient_phone_number: to, ...extra })
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

/** A webhook receiver that records every post (headers and raw body) and answers 'ok'. */
async function receiver (t: Test) {
  const { origin, received } = await startRecorder(t, (_request, res) => { res.end('ok') })
  return { posts: received, url: `${origin}/hook` }
}

t.test('a refused key is 403 {"detail": …} (the live API\'s answer), for a missing and a malformed key', async t => {
  const { call: req } = await startVoiceApp(t)
  const none = await req('POST', '/bolna/call', call(NUMBERS.completed))
  t.equal(none.status, 403)
  t.same(none.body, { detail: 'Not authenticated' })
  const bad = await req('POST', '/bolna/call', call(NUMBERS.completed), { authorization: 'Bearer sk-not-a-bolna-key' })
  t.equal(bad.status, 403)
  // The official CLI's recorded body for an invalid key.
  t.equal(bad.text, '{"detail":"Unrecognized access token"}')
  const agents = await req('GET', '/bolna/v2/agent/all', undefined, { authorization: 'Bearer nope' })
  t.equal(agents.status, 403, 'every API route checks the key')
})

t.test('POST /call answers {"message":"done","status":"queued","execution_id": uuid}', async t => {
  const { call: req } = await startVoiceApp(t)
  const res = await req('POST', '/bolna/call', call(NUMBERS.completed, { from_phone_number: '+19876543007', user_data: { name: 'Priya' } }), auth)
  t.equal(res.status, 200)
  t.same(Object.keys(res.body), ['message', 'status', 'execution_id'])
  t.match(res.body, { message: 'done', status: 'queued', execution_id: UUID })
  const exec = await req('GET', `/bolna/executions/${res.body.execution_id}`, undefined, auth)
  t.equal(exec.status, 200)
  t.match(exec.body, {
    id: res.body.execution_id,
    agent_id: AGENTS.reminder,
    batch_id: null,
    telephony_data: { to_number: NUMBERS.completed, from_number: '+19876543007', call_type: 'outbound', provider: 'plivo', hosted_telephony: true },
    context_details: { recipient_data: { name: 'Priya' }, recipient_phone_number: NUMBERS.completed },
    transfer_call_data: null
  })
  t.ok(['queued', 'initiated', 'ringing', 'in-progress', 'call-disconnected', 'completed'].includes(exec.body.status))
  const legacy = await req('GET', `/bolna/agent/${AGENTS.reminder}/execution/${res.body.execution_id}`, undefined, auth)
  t.equal(legacy.body.id, res.body.execution_id, 'the legacy path answers the same object')
})

t.test('the reference\'s examples, byte for byte and in its key order (providers.md §4)', async t => {
  const { url, call: req } = await startVoiceApp(t)
  const placed = await req('POST', '/bolna/call', call(NUMBERS.hold), auth)
  t.equal(placed.status, 200)
  const id = placed.body.execution_id
  t.match(id, UUID)
  t.equal(placed.text, `{"message":"done","status":"queued","execution_id":"${id}"}`)
  const stopped = await req('POST', `/bolna/call/${id}/stop`, undefined, auth)
  t.equal(stopped.text, `{"message":"done","status":"stopped","execution_id":"${id}"}`)

  // GET /v2/agent/{id}/executions: {page_number, page_size, total, has_more, data}.
  const page = await req('GET', `/bolna/v2/agent/${AGENTS.reminder}/executions`, undefined, auth)
  t.same(Object.keys(page.body), ['page_number', 'page_size', 'total', 'has_more', 'data'])
  // GET /user/me: {id, name, email, wallet, concurrency: {max, current}}.
  const me = await req('GET', '/bolna/user/me', undefined, auth)
  t.same(Object.keys(me.body), ['id', 'name', 'email', 'wallet', 'concurrency'])
  t.same(Object.keys(me.body.concurrency), ['max', 'current'])

  // Batches: {"batch_id": 32 hex, "state": "created"} (201, as the docs say), then the
  // {"message":"success","state":…} answers and the documented 404.
  const created = await uploadBatch(url, 'contact_number\n+919855550100\n')
  t.equal(created.status, 201)
  t.match(created.body.batch_id, /^[0-9a-f]{32}$/)
  t.equal(JSON.stringify(created.body), `{"batch_id":"${created.body.batch_id}","state":"created"}`)
  const batch = created.body.batch_id
  const scheduled = await req('POST', `/bolna/batches/${batch}/schedule`, { scheduled_at: new Date(Date.now() + 3_600_000).toISOString().replace('Z', '+00:00') }, auth)
  t.equal(scheduled.text, '{"message":"success","state":"scheduled"}')
  t.equal((await req('POST', `/bolna/batches/${batch}/stop`, undefined, auth)).text, '{"message":"success","state":"stopped"}')
  const again = await req('POST', `/bolna/batches/${batch}/stop`, undefined, auth)
  t.equal(again.status, 404)
  t.equal(again.text, '{"message":"Batch is not queued or running"}')
  t.equal((await req('DELETE', `/bolna/batches/${batch}`, undefined, auth)).text, '{"message":"success","state":"deleted"}')
})

t.test('validation: FastAPI 422 detail lists for malformed bodies, the spec\'s Error for bad values', async t => {
  const { call: req } = await startVoiceApp(t)
  const missing = await req('POST', '/bolna/call', {}, auth)
  t.equal(missing.status, 422)
  t.same(missing.body.detail.map((d: { loc: string[], type: string }) => [d.loc.join('.'), d.type]), [['body.agent_id', 'missing'], ['body.recipient_phone_number', 'missing']])
  t.match(missing.body.detail[0], { msg: 'Field required' })
  const badUuid = await req('POST', '/bolna/call', call(NUMBERS.completed, { agent_id: 'agent-1' }), auth)
  t.equal(badUuid.status, 422)
  t.match(badUuid.body.detail, [{ type: 'uuid_parsing', loc: ['body', 'agent_id'], input: 'agent-1' }])
  const badUserData = await req('POST', '/bolna/call', call(NUMBERS.completed, { user_data: 'x' }), auth)
  t.match(badUserData.body.detail, [{ type: 'dict_type', loc: ['body', 'user_data'] }])
  const notJson = await req('POST', '/bolna/call', '{"agent_id":', { ...auth, 'content-type': 'application/json' })
  t.equal(notJson.status, 422)
  t.match(notJson.body.detail, [{ type: 'json_invalid' }])

  const notE164 = await req('POST', '/bolna/call', call('9876543210'), auth)
  t.equal(notE164.status, 400)
  t.match(notE164.body, { error: 400, message: /E\.164/ })
  const unknownAgent = await req('POST', '/bolna/call', call(NUMBERS.completed, { agent_id: '00000000-0000-4000-8000-000000000000' }), auth)
  t.equal(unknownAgent.status, 404)
  t.same(unknownAgent.body, { error: 404, message: 'Agent not found' })
  const unknownExecution = await req('GET', '/bolna/executions/00000000-0000-4000-8000-000000000000', undefined, auth)
  t.same([unknownExecution.status, unknownExecution.body], [404, { error: 404, message: 'Execution not found' }])
  const nowhere = await req('GET', '/bolna/nowhere', undefined, auth)
  t.same([nowhere.status, nowhere.body], [404, { detail: 'Not Found' }])
})

t.test('retry_config is checked as the spec types it: max_retries 1 to 3, FastAPI\'s 422 otherwise', async t => {
  const { call: req } = await startVoiceApp(t)
  const place = (retry: unknown) => req('POST', '/bolna/call', call(NUMBERS.completed, { retry_config: retry }), auth)
  const tooMany = await place({ enabled: true, max_retries: 10 })
  t.equal(tooMany.status, 422)
  t.same(tooMany.body, { detail: [{ type: 'less_than_equal', loc: ['body', 'retry_config', 'max_retries'], msg: 'Input should be less than or equal to 3', input: 10, ctx: { le: 3 } }] })
  t.match((await place({ max_retries: 0 })).body.detail, [{ type: 'greater_than_equal', loc: ['body', 'retry_config', 'max_retries'], ctx: { ge: 1 } }])
  t.match((await place({ max_retries: 1.5 })).body.detail, [{ type: 'int_from_float' }])
  t.match((await place({ max_retries: 'three' })).body.detail, [{ type: 'int_parsing' }])
  t.match((await place({ retry_on_statuses: ['busy', 'voicemail'], retry_intervals_minutes: [30, 'soon'] })).body.detail, [
    { type: 'enum', loc: ['body', 'retry_config', 'retry_on_statuses', 1], input: 'voicemail' },
    { type: 'int_parsing', loc: ['body', 'retry_config', 'retry_intervals_minutes', 1] }
  ])
  t.match((await place('yes')).body.detail, [{ type: 'model_attributes_type', loc: ['body', 'retry_config'] }])
  for (const n of [1, 3]) {
    const ok = await place({ enabled: true, max_retries: n, retry_on_statuses: ['no-answer', 'busy'], retry_on_voicemail: false, retry_intervals_minutes: [30, 60] })
    t.equal(ok.status, 200, `max_retries ${n} is taken`)
  }
})

t.test('a key is bn- and at least six more characters (the README\'s rule)', async t => {
  const { call: req } = await startVoiceApp(t)
  t.equal((await req('GET', '/bolna/v2/agent/all', undefined, { authorization: 'Bearer bn-abc' })).status, 403, 'bn-abc is too short')
  t.equal((await req('GET', '/bolna/v2/agent/all', undefined, { authorization: 'Bearer bn-anything-123' })).status, 200)
  t.equal((await req('GET', '/bolna/v2/agent/all', undefined, { authorization: 'Bearer bn-abc_12' })).status, 200, 'six: enough')
})

t.test('a call lives: queued → initiated → ringing → in-progress → call-disconnected → completed, posted to the agent\'s webhook', async t => {
  const hook = await receiver(t)
  const { call: req, dataDir } = await startVoiceApp(t, { env: { VOICE_CALL_STEP_MS: '20-30' } })
  const patch = await req('PATCH', `/bolna/v2/agent/${AGENTS.reminder}`, { agent_config: { webhook_url: hook.url } }, auth)
  t.same(patch.body, { message: 'success', state: 'updated' })
  const agent = await req('GET', `/bolna/v2/agent/${AGENTS.reminder}`, undefined, auth)
  t.equal(agent.body.webhook_url, hook.url)
  t.equal(agent.body.agent_config.webhook_url, hook.url)

  const res = await req('POST', '/bolna/call', call(NUMBERS.completed, { user_data: { name: 'Priya', clinic: 'Sunrise Dental' } }), auth)
  const id = res.body.execution_id
  await eventually(async () => hook.posts.some(p => JSON.parse(p.body).status === 'completed'))
  // Posts may overtake each other on the wire (Bolna's may too); their updated_at tells the order.
  const posts = hook.posts.map(p => ({ ...p, exec: JSON.parse(p.body) })).filter(p => p.exec.id === id).sort((a, b) => a.exec.updated_at.localeCompare(b.exec.updated_at))
  t.same(posts.map(p => p.exec.status), ['queued', 'initiated', 'ringing', 'in-progress', 'call-disconnected', 'completed'], 'one post per status, its first (queued) included')

  // Each post is the execution object, signed with the emulator's own scheme.
  const secret = readFileSync(join(dataDir, 'bolna-emulator-webhook-secret'), 'utf8').trim()
  for (const p of posts) {
    t.equal(p.headers['content-type'], 'application/json')
    const ts = String(p.headers['x-switchboard-timestamp'])
    t.equal(p.headers['x-switchboard-signature'], createHmac('sha256', secret).update(`${ts}.${p.body}`).digest('hex'))
  }
  const done = posts.at(-1)!.exec
  t.match(done, {
    id,
    agent_id: AGENTS.reminder,
    status: 'completed',
    answered_by_voice_mail: false,
    error_message: null,
    extracted_data: { appointment_confirmed: true },
    telephony_data: { hangup_reason: 'Normal Hangup', hangup_provider_code: 4000, recording_url: `${'http://127.0.0.1'}` }
  })
  t.match(done.transcript, /^assistant: Hello Priya, this is Asha calling from Sunrise Dental about your appointment on Monday at 10:30 AM\.\nuser: /, 'variables substituted, defaults for the rest')
  t.ok(done.conversation_duration > 5, `a conversation of ${done.conversation_duration} s`)
  t.equal(done.telephony_data.duration, String(Math.ceil(done.conversation_duration)), 'telephony duration: whole seconds as a string')
  const b = done.cost_breakdown
  t.ok(done.total_cost > 0)
  t.equal(done.total_cost, Math.round((b.llm + b.network + b.platform + b.synthesizer + b.transcriber) * 100) / 100, 'total_cost (cents) is the breakdown\'s sum')
  t.match(done.usage_breakdown, { synthesizer_model: 'polly', transcriber_model: 'deepgram', llm_model: { 'gpt-4o-mini': { input: Number, output: Number } } })
  const ringing = posts.find(p => p.exec.status === 'ringing')!.exec
  t.equal(ringing.transcript, '', 'no transcript before the call is over')
  t.equal(ringing.telephony_data.recording_url, null)

  // The recording URL is served, a valid WAV, with no Authorization header (a presigned link).
  const wav = await http(done.telephony_data.recording_url, 'GET')
  t.equal(wav.status, 200)
  t.equal(wav.headers['content-type'], 'audio/wav')
  const h = parseWav(wav.raw)
  t.same([h.riff, h.wave, h.fmt, h.data, h.format, h.channels, h.sampleRate, h.bitsPerSample], ['RIFF', 'WAVE', 'fmt ', 'data', 1, 1, 8000, 16])
  t.equal(h.riffSize, wav.raw.length - 8)
  t.equal(h.dataSize, wav.raw.length - 44)
  const seconds = h.dataSize / h.byteRate
  t.ok(seconds >= 1 && seconds <= 2, `${seconds} s of audio`)
  t.ok(wav.raw.subarray(44).some(b => b !== 0), 'not silence')
  const missing = await http(done.telephony_data.recording_url.replace(id, '00000000-0000-4000-8000-000000000000'), 'GET')
  t.equal(missing.status, 404)
  t.match(missing.text, /<Code>NoSuchKey<\/Code>/)
})

t.test('a post the receiver refused is retried signed at its own time, so a receiver checking its age takes it', async t => {
  let refused = false
  const { origin, received } = await startRecorder(t, (_request, res) => {
    // The first post of the call is refused once; everything else is taken.
    res.statusCode = refused ? 200 : 503
    refused = true
    res.end()
  })
  const { call: req, dataDir } = await startVoiceApp(t, { env: { VOICE_CALL_STEP_MS: '20-30' } })
  await req('PATCH', `/bolna/v2/agent/${AGENTS.reminder}`, { agent_config: { webhook_url: `${origin}/hook` } }, auth)
  await req('POST', '/bolna/call', call(NUMBERS.completed), auth)
  const first = await eventually(async () => received[0])
  // The outbox's first backoff is a second: the retry is the second post with the first one's body.
  const retry = await eventually(async () => received.slice(1).find(p => p.body === first.body), 10_000)
  const secret = readFileSync(join(dataDir, 'bolna-emulator-webhook-secret'), 'utf8').trim()
  const ts = (p: typeof first) => String(p.headers['x-switchboard-timestamp'])
  t.ok(Number(ts(retry)) > Number(ts(first)), `the retry carries its own, later timestamp (${ts(first)} → ${ts(retry)})`)
  t.equal(retry.headers['x-switchboard-signature'], createHmac('sha256', secret).update(`${ts(retry)}.${retry.body}`).digest('hex'), 'signed over it')
})

t.test('GET /executions/{id}/log: the spec\'s AgentExecutionLogList, made from the call\'s conversation; empty for a call never answered', async t => {
  const { call: req } = await startVoiceApp(t, { env: { VOICE_CALL_STEP_MS: '20-30' } })
  const place = async (to: string) => (await req('POST', '/bolna/call', call(to, { user_data: { name: 'Priya', clinic: 'Sunrise Dental' } }), auth)).body.execution_id as string
  const answered = await place(NUMBERS.completed)
  const busy = await place(NUMBERS.busy)
  const done = await eventually(async () => { const e = (await req('GET', `/bolna/executions/${answered}`, undefined, auth)).body; return e.status === 'completed' && e })
  await eventually(async () => (await req('GET', `/bolna/executions/${busy}`, undefined, auth)).body.status === 'busy')

  const log = await req('GET', `/bolna/executions/${answered}/log`, undefined, auth)
  t.equal(log.status, 200)
  t.equal(log.body.status, 'success')
  const entries = log.body.data as Array<{ created_at: string, type: string, component: string, provider: string, data: string }>
  for (const e of entries) {
    t.match(e, { created_at: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, type: /^(request|response)$/, component: /^(transcriber|llm|synthesizer)$/, provider: String, data: String })
  }
  t.same(entries.map(e => e.created_at), entries.map(e => e.created_at).sort(), 'in the order they happened')
  // Every line of the transcript is in the log: what the caller said as the transcriber heard it,
  // what the agent said as the LLM answered it (and the synthesizer spoke it).
  const lines = (done.transcript as string).trim().split('\n').map(l => /^(assistant|user): (.*)$/.exec(l)!)
  t.ok(lines.length > 2)
  for (const [, who, text = ''] of lines) {
    const found = who === 'user'
      ? entries.some(e => e.component === 'transcriber' && e.type === 'response' && e.data === text)
      : entries.some(e => e.component === 'llm' && e.type === 'response' && e.data === text) && entries.some(e => e.component === 'synthesizer' && e.type === 'request' && e.data === text)
    t.ok(found, `${who}: ${text.slice(0, 40)}…`)
  }
  t.match(entries.find(e => e.component === 'llm'), { provider: 'openai' })

  t.same((await req('GET', `/bolna/executions/${busy}/log`, undefined, auth)).body, { status: 'success', data: [] }, 'a busy line: nothing said, nothing logged')
  t.equal((await req('GET', '/bolna/executions/6f1c2b1e-8d4a-4b8e-9a57-0f6f3c2d1e00/log', undefined, auth)).status, 404)
})

t.test('magic numbers force every ending, whatever the success rate', async t => {
  const { call: req } = await startVoiceApp(t, { simulation: { successRate: 0 } })
  const endings: Array<[string, string, Record<string, unknown>]> = [
    [NUMBERS.completed, 'completed', { answered_by_voice_mail: false }],
    [NUMBERS.busy, 'busy', { total_cost: 0, telephony_data: { hangup_reason: 'Busy Line' } }],
    [NUMBERS.noAnswer, 'no-answer', { telephony_data: { ring_duration: 30 } }],
    [NUMBERS.failed, 'failed', { error_message: /simulated carrier failure/ }],
    [NUMBERS.voicemail, 'completed', { answered_by_voice_mail: true, extracted_data: null, transcript: /\[voicemail\]/ }]
  ]
  const ids: string[] = []
  for (const [to] of endings) ids.push((await req('POST', '/bolna/call', call(to), auth)).body.execution_id)
  for (const [i, [to, status, shape]] of endings.entries()) {
    const exec = await eventually(async () => {
      const r = await req('GET', `/bolna/executions/${ids[i]}`, undefined, auth)
      return ['completed', 'busy', 'no-answer', 'failed'].includes(r.body.status) ? r.body : undefined
    })
    t.equal(exec.status, status, to)
    t.match(exec, shape, to)
  }
  const reject = await req('POST', '/bolna/call', call(NUMBERS.reject), auth)
  t.same([reject.status, reject.body.error], [400, 400])
  const error = await req('POST', '/bolna/call', call(NUMBERS.error), auth)
  t.same([error.status, error.body], [500, { error: 500, message: 'Internal Server Error' }])
})

t.test('the success rate is per call: a call that loses the draw is accepted, then ends busy, no-answer or failed', async t => {
  const { call: req } = await startVoiceApp(t, { simulation: { successRate: 0, seed: 3 } })
  const ids: string[] = []
  for (let i = 0; i < 12; i++) {
    const res = await req('POST', '/bolna/call', call(`+9198765432${String(i).padStart(2, '0')}`), auth)
    t.equal(res.status, 200)
    ids.push(res.body.execution_id)
  }
  const endings = await eventually(async () => {
    const all = await Promise.all(ids.map(async id => (await req('GET', `/bolna/executions/${id}`, undefined, auth)).body.status))
    return all.every(s => ['busy', 'no-answer', 'failed'].includes(s)) ? all : undefined
  })
  t.ok(new Set(endings).size >= 2, `several endings: ${[...new Set(endings)].join(', ')}`)
})

t.test('forced outcomes use Bolna\'s envelopes: 429 with Retry-After, 503, 500', async t => {
  const { call: req } = await startVoiceApp(t)
  const limited = await req('POST', '/bolna/call', call('+919876543210'), { ...auth, 'x-switchboard-outcome': 'rate_limited' })
  t.equal(limited.status, 429)
  t.equal(limited.headers['retry-after'], '1')
  t.same(limited.body, { error: 429, message: 'Rate limit exceeded: 500 per 1 minute' })
  const outage = await req('POST', '/bolna/call', call('+919876543210'), { ...auth, 'x-switchboard-outcome': 'outage' })
  t.same([outage.status, outage.body], [503, { error: 503, message: 'Service Unavailable' }])
  const failure = await req('GET', '/bolna/v2/agent/all', undefined, { ...auth, 'x-switchboard-outcome': 'failure' })
  t.same([failure.status, failure.headers['x-switchboard-simulated']], [500, 'failure'])
  const slow = Date.now()
  await req('GET', '/bolna/user/me', undefined, { ...auth, 'x-switchboard-latency-ms': '150' })
  t.ok(Date.now() - slow >= 140, 'the latency header is honoured')
})

t.test('stop: only queued or scheduled calls, as Bolna says', async t => {
  const hook = await receiver(t)
  const { call: req } = await startVoiceApp(t, { env: { VOICE_CALL_STEP_MS: '40-60', BOLNA_MOCK_WEBHOOK_URL: hook.url } })
  const held = (await req('POST', '/bolna/call', call(NUMBERS.hold), auth)).body.execution_id
  const stopped = await req('POST', `/bolna/call/${held}/stop`, undefined, auth)
  t.same(stopped.body, { message: 'done', status: 'stopped', execution_id: held })
  t.equal((await req('GET', `/bolna/executions/${held}`, undefined, auth)).body.status, 'stopped')
  await eventually(async () => hook.posts.some(p => JSON.parse(p.body).id === held && JSON.parse(p.body).status === 'stopped'))

  const live = (await req('POST', '/bolna/call', call(NUMBERS.completed), auth)).body.execution_id
  await eventually(async () => (await req('GET', `/bolna/executions/${live}`, undefined, auth)).body.status === 'ringing')
  const refused = await req('POST', `/bolna/call/${live}/stop`, undefined, auth)
  t.equal(refused.status, 400)
  t.match(refused.body, { error: 400, message: /Only queued or scheduled calls can be stopped/ })

  // Scheduled: a numeric offset is required; "Z" is reported to fail on the real API.
  const later = new Date(Date.now() + 3_600_000).toISOString().slice(0, 19)
  const zulu = await req('POST', '/bolna/call', call(NUMBERS.completed, { scheduled_at: `${later}Z` }), auth)
  t.equal(zulu.status, 500)
  const scheduled = await req('POST', '/bolna/call', call(NUMBERS.completed, { scheduled_at: `${later}+00:00` }), auth)
  t.match(scheduled.body, { status: 'queued' })
  t.match((await req('GET', `/bolna/executions/${scheduled.body.execution_id}`, undefined, auth)).body, { status: 'scheduled', scheduled_at: /^\d{4}-/ })
  const agentStop = await req('POST', `/bolna/v2/agent/${AGENTS.reminder}/stop`, undefined, auth)
  t.same(agentStop.body, { stopped_executions: [scheduled.body.execution_id] })
})

t.test('agents: list, get, patch; executions list per agent, paginated', async t => {
  const { call: req } = await startVoiceApp(t)
  const all = await req('GET', '/bolna/v2/agent/all', undefined, auth)
  t.equal(all.status, 200)
  t.ok(Array.isArray(all.body), 'a bare array, as Bolna answers')
  t.same(all.body.map((a: { id: string }) => a.id), Object.values(AGENTS))
  for (const a of all.body) {
    t.match(a, { agent_name: String, agent_status: 'processed', agent_welcome_message: String, agent_prompts: { task_1: { system_prompt: String } }, webhook_url: /\/webhooks\/bolna$/ })
  }
  const patched = await req('PATCH', `/bolna/v2/agent/${AGENTS.survey}`, { agent_config: { agent_name: 'NPS Survey', webhook_url: null }, agent_prompts: { task_1: { system_prompt: 'Ask for a score.' } } }, auth)
  t.equal(patched.status, 200)
  const survey = await req('GET', `/bolna/v2/agent/${AGENTS.survey}`, undefined, auth)
  t.match(survey.body, { agent_name: 'NPS Survey', webhook_url: null, agent_prompts: { task_1: { system_prompt: 'Ask for a score.' } } })
  const badUrl = await req('PATCH', `/bolna/v2/agent/${AGENTS.survey}`, { agent_config: { webhook_url: 'not a url' } }, auth)
  t.equal(badUrl.status, 422)

  for (let i = 0; i < 3; i++) await req('POST', '/bolna/call', call(NUMBERS.completed), auth)
  const page = await req('GET', `/bolna/v2/agent/${AGENTS.reminder}/executions?page_number=1&page_size=2`, undefined, auth)
  t.match(page.body, { page_number: 1, page_size: 2, total: 3, has_more: true })
  t.equal(page.body.data.length, 2)
  const tooBig = await req('GET', `/bolna/v2/agent/${AGENTS.reminder}/executions?page_size=51`, undefined, auth)
  t.equal(tooBig.status, 422)
  // The spec's filters (specs/bolna/openapi.yml): the emulator's calls are outbound, over Plivo.
  const list = async (query: string) => req('GET', `/bolna/v2/agent/${AGENTS.reminder}/executions?${query}`, undefined, auth)
  const totals = async (...queries: string[]) => Promise.all(queries.map(async query => (await list(query)).body.total))
  t.same(await totals('call_type=outbound', 'call_type=inbound', 'provider=plivo', 'provider=twilio', 'provider=web-call'), [3, 0, 3, 0, 0])
  t.same(await totals('answered_by_voice_mail=false', 'answered_by_voice_mail=true'), [3, 0])
  // The legacy path: the same executions, a bare array, newest first.
  const legacy = await req('GET', `/bolna/agent/${AGENTS.reminder}/executions`, undefined, auth)
  t.same([legacy.status, legacy.body.map((e: { id: string }) => e.id)], [200, (await list('page_size=50')).body.data.map((e: { id: string }) => e.id)])
  t.equal((await req('GET', `/bolna/agent/${AGENTS.survey}/executions`, undefined, auth)).body.length, 0)
  const badType = await list('call_type=sip')
  t.same([badType.status, badType.body.detail[0]], [422, { type: 'enum', loc: ['query', 'call_type'], msg: "Input should be 'inbound' or 'outbound'", input: 'sip', ctx: { expected: "'inbound' or 'outbound'" } }])
  t.equal((await list('status=done')).status, 422)
  t.equal((await list('from=yesterday')).status, 422)
  // from/to are instants: an offset, or no milliseconds, means what it says (not a string order).
  const first = Math.min(...(await list('page_size=50')).body.data.map((e: { created_at: string }) => Date.parse(e.created_at)))
  const inIndia = (ms: number) => new Date(ms + 5.5 * 3600_000).toISOString().slice(0, 19) + '+05:30'
  t.same(await totals(`from=${encodeURIComponent(inIndia(first - 3600_000))}`, `to=${encodeURIComponent(inIndia(first - 3600_000))}`), [3, 0])
  t.same(await totals(`from=${new Date(first - 1000).toISOString().slice(0, 19)}Z`, `to=${new Date(first - 1000).toISOString().slice(0, 19)}`), [3, 0])
  const me = await req('GET', '/bolna/user/me', undefined, auth)
  t.match(me.body, { wallet: Number, concurrency: { max: Number, current: Number } })
})

t.test('agents created through POST /v2/agent: kept as given, called, silent without a webhook_url, deleted', async t => {
  const hook = await receiver(t)
  // The seeded agents post to this receiver by default; an agent created without a webhook_url
  // must post nowhere, as on Bolna.
  const { call: req } = await startVoiceApp(t, { env: { BOLNA_MOCK_WEBHOOK_URL: hook.url } })
  const tasks = [{ task_type: 'conversation', tools_config: { llm_agent: { agent_type: 'simple_llm_agent' } } }]
  const created = await req('POST', '/bolna/v2/agent', { agent_config: { agent_name: 'Bench agent', agent_welcome_message: 'Hi {name}, quick call.', tasks }, agent_prompts: { task_1: { system_prompt: 'Be brief.' } } }, auth)
  t.equal(created.status, 200)
  t.match(created.body, { agent_id: UUID, status: 'created' })
  const id = created.body.agent_id
  const agent = await req('GET', `/bolna/v2/agent/${id}`, undefined, auth)
  t.match(agent.body, { id, agent_name: 'Bench agent', agent_welcome_message: 'Hi {name}, quick call.', webhook_url: null, tasks, agent_prompts: { task_1: { system_prompt: 'Be brief.' } }, agent_config: { webhook_url: null } })
  t.ok((await req('GET', '/bolna/v2/agent/all', undefined, auth)).body.some((a: { id: string }) => a.id === id), 'listed with the others')

  const silent = await req('POST', '/bolna/call', { agent_id: id, recipient_phone_number: NUMBERS.completed, user_data: { name: 'Priya' } }, auth)
  t.equal(silent.status, 200)
  const seeded = await req('POST', '/bolna/call', call(NUMBERS.completed), auth)
  await eventually(async () => (await req('GET', `/bolna/executions/${silent.body.execution_id}`, undefined, auth)).body.status === 'completed' &&
    hook.posts.some(p => JSON.parse(p.body).id === seeded.body.execution_id && JSON.parse(p.body).status === 'completed'))
  const done = (await req('GET', `/bolna/executions/${silent.body.execution_id}`, undefined, auth)).body
  t.match(done, { agent_id: id, status: 'completed', extracted_data: null, extraction_webhook_status: false })
  t.match(done.transcript, /^assistant: Hi Priya, quick call\.\nuser: /)
  t.notOk(hook.posts.some(p => JSON.parse(p.body).id === silent.body.execution_id), 'no webhook for an agent without a webhook_url')

  const hooked = await req('POST', '/bolna/v2/agent', { agent_config: { agent_name: 'Hooked', tasks, webhook_url: hook.url }, agent_prompts: { task_1: { system_prompt: 'x' } } }, auth)
  const viaHook = await req('POST', '/bolna/call', { agent_id: hooked.body.agent_id, recipient_phone_number: NUMBERS.busy }, auth)
  await eventually(async () => hook.posts.some(p => JSON.parse(p.body).id === viaHook.body.execution_id && JSON.parse(p.body).status === 'busy'))

  const missing = await req('POST', '/bolna/v2/agent', { agent_config: { agent_welcome_message: 'Hi', webhook_url: 'not a url' } }, auth)
  t.equal(missing.status, 422)
  t.same(missing.body.detail.map((d: { type: string, loc: unknown[] }) => [d.type, d.loc.join('.')]), [
    ['missing', 'body.agent_config.agent_name'], ['url_parsing', 'body.agent_config.webhook_url'], ['missing', 'body.agent_config.tasks'], ['missing', 'body.agent_prompts']
  ])
  t.equal((await req('POST', '/bolna/v2/agent', { agent_config: { agent_name: 'x', tasks: 'all' }, agent_prompts: {} }, auth)).status, 422)

  // PUT replaces the agent (the spec's AgentUpdateStatus answer); what the new body leaves out is gone.
  const createdAt = agent.body.created_at
  t.type(createdAt, 'string')
  const put = await req('PUT', `/bolna/v2/agent/${id}`, { agent_config: { agent_name: 'Renamed agent', tasks, webhook_url: hook.url }, agent_prompts: { task_1: { system_prompt: 'Be kind.' } } }, auth)
  t.same([put.status, put.body], [200, { agent_id: id, status: 'updated' }])
  const replaced = (await req('GET', `/bolna/v2/agent/${id}`, undefined, auth)).body
  t.match(replaced, { id, agent_name: 'Renamed agent', agent_welcome_message: '', webhook_url: hook.url, agent_prompts: { task_1: { system_prompt: 'Be kind.' } }, created_at: createdAt })
  const badPut = await req('PUT', `/bolna/v2/agent/${id}`, { agent_config: { agent_welcome_message: 'Hi' } }, auth)
  t.same([badPut.status, badPut.body.detail.map((d: { loc: unknown[] }) => d.loc.join('.'))], [422, ['body.agent_config.agent_name', 'body.agent_config.tasks', 'body.agent_prompts']], 'validated as a new agent is')
  t.equal((await req('PUT', '/bolna/v2/agent/6f1c2b1e-8d4a-4b8e-9a57-0f6f3c2d1e00', { agent_config: { agent_name: 'x', tasks }, agent_prompts: {} }, auth)).status, 404)

  t.same((await req('DELETE', `/bolna/v2/agent/${id}`, undefined, auth)).body, { message: 'success', state: 'deleted' })
  t.equal((await req('GET', `/bolna/v2/agent/${id}`, undefined, auth)).status, 404)
  t.equal((await req('POST', '/bolna/call', { agent_id: id, recipient_phone_number: NUMBERS.completed }, auth)).status, 404)
  t.equal((await req('GET', `/bolna/executions/${silent.body.execution_id}`, undefined, auth)).status, 200, 'its calls are still there')
})

t.test('POST /admin/reset forgets calls and restores the seeded agents', async t => {
  const { call: req } = await startVoiceApp(t)
  const id = (await req('POST', '/bolna/call', call(NUMBERS.completed), auth)).body.execution_id
  await req('PATCH', `/bolna/v2/agent/${AGENTS.reminder}`, { agent_config: { agent_name: 'Renamed' } }, auth)
  t.equal((await req('POST', '/admin/reset')).status, 200)
  t.equal((await req('GET', `/bolna/executions/${id}`, undefined, auth)).status, 404)
  t.equal((await req('GET', `/bolna/v2/agent/${AGENTS.reminder}`, undefined, auth)).body.agent_name, 'Appointment Reminder')
})

t.test('batches: a CSV of contacts uploaded, scheduled, called, counted; stopped and deleted', async t => {
  const { url, call: req } = await startVoiceApp(t)
  const upload = (csv: string, fields?: Record<string, string>) => uploadBatch(url, csv, fields)
  const created = await upload('contact_number,name,date\r\n+919855550100,Priya,Friday\r\n+919855550101,"Ravi, Jr.",Monday\r\nnot-a-number,X,Y\r\n')
  t.equal(created.status, 201)
  t.match(created.body, { batch_id: /^[0-9a-f]{32}$/, state: 'created' })
  const id = created.body.batch_id
  t.match((await req('GET', `/bolna/batches/${id}`, undefined, auth)).body, { batch_id: id, status: 'created', valid_contacts: 2, total_contacts: 3, file_name: 'contacts.csv', from_phone_numbers: ['+19876543007'], scheduled_at: null, humanized_created_at: 'just now' })

  const at = new Date(Date.now() + 100).toISOString().slice(0, 23) + '+00:00'
  const scheduled = await req('POST', `/bolna/batches/${id}/schedule`, { scheduled_at: at }, auth)
  t.same(scheduled.body, { message: 'success', state: 'scheduled' })
  const done = await eventually(async () => {
    const b = (await req('GET', `/bolna/batches/${id}`, undefined, auth)).body
    return b.status === 'executed' ? b : undefined
  })
  t.same(done.execution_status, { completed: 1, busy: 1 })
  const executions = (await req('GET', `/bolna/batches/${id}/executions`, undefined, auth)).body
  t.equal(executions.length, 2)
  const ravi = executions.find((e: { telephony_data: { to_number: string } }) => e.telephony_data.to_number === NUMBERS.busy)
  t.match(ravi, { batch_id: id, status: 'busy', context_details: { recipient_data: { name: 'Ravi, Jr.', date: 'Monday' } }, batch_run_details: { status: 'busy', retried: 0 }, telephony_data: { from_number: '+19876543007' } })
  t.equal((await req('GET', `/bolna/batches/${AGENTS.reminder}/all`, undefined, auth)).body[0].batch_id, id)

  const later = (await upload('contact_number\n+919855550100\n')).body.batch_id
  await req('POST', `/bolna/batches/${later}/schedule`, { scheduled_at: new Date(Date.now() + 3_600_000).toISOString() }, auth)
  t.same((await req('POST', `/bolna/batches/${later}/stop`, undefined, auth)).body, { message: 'success', state: 'stopped' })
  const again = await req('POST', `/bolna/batches/${later}/stop`, undefined, auth)
  t.same([again.status, again.body], [404, { message: 'Batch is not queued or running' }], 'the documented answer')
  t.same((await req('DELETE', `/bolna/batches/${later}`, undefined, auth)).body, { message: 'success', state: 'deleted' })
  t.equal((await req('GET', `/bolna/batches/${later}`, undefined, auth)).status, 404)

  // Node's own fetch and FormData (chunked, its own boundary) upload the same way.
  const form = new FormData()
  form.append('agent_id', AGENTS.survey)
  form.append('file', new Blob(['contact_number,service\n+919855550104,delivery\n'], { type: 'text/csv' }), 'survey.csv')
  const viaFetch = await fetch(`${url}/bolna/batches`, { method: 'POST', headers: auth, body: form })
  t.equal(viaFetch.status, 201)
  const fetched = (await req('GET', `/bolna/batches/${(await viaFetch.json() as { batch_id: string }).batch_id}`, undefined, auth)).body
  t.match(fetched, { file_name: 'survey.csv', valid_contacts: 1, from_phone_numbers: [] })

  const noColumn = await upload('phone\n+919855550100\n')
  t.same([noColumn.status, noColumn.body.error], [400, 400])
  t.match(noColumn.body.message, /contact_number/)
  const noAgent = await upload('contact_number\n+919855550100\n', {})
  t.equal(noAgent.status, 422)
  t.match(noAgent.body.detail, [{ type: 'missing', loc: ['body', 'agent_id'] }])
})
