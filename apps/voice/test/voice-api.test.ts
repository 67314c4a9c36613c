import t from 'tap'
import { AGENTS, auth, eventually, http, NUMBERS, parseWav, startVoiceApp } from './helper.ts'

const RANK: Record<string, number> = { scheduled: 0, queued: 1, initiated: 2, ringing: 3, 'in-progress': 4, 'call-disconnected': 5 }
const rank = (s: string) => RANK[s] ?? 6
const dial = (to: string, extra: Record<string, unknown> = {}) => ({ to_number: to, script_id: 'appointment_reminder', ...extra })

t.test('make_call: followed from queued to completed through webhooks into call_logs', async t => {
  const { call, activityLog } = await startVoiceApp(t, { env: { VOICE_CALL_STEP_MS: '60-80' } })
  const res = await call('POST', '/calls', dial(NUMBERS.completed, { user_data: { name: 'Priya', date: 'Friday' } }), { 'x-request-id': 'req-voice-1' })
  t.equal(res.status, 202)
  t.match(res.body, { success: true, status: 'queued', mode: 'mock', to_number: NUMBERS.completed, script_id: 'appointment_reminder', agent_id: AGENTS.reminder, execution_id: String, latency_ms: Number })

  // Watch the row as the webhooks move it: it only ever moves forwards.
  const seen: string[] = []
  const row = await eventually(async () => {
    const [r] = await activityLog.select('call_logs', { where: { id: res.body.id } })
    if (r && seen.at(-1) !== r.status) seen.push(String(r.status))
    return r?.status === 'completed' && r.recording_url ? r : undefined
  })
  t.ok(seen.length >= 3, `live progress seen in the log: ${seen.join(' → ')}`)
  t.same([...seen].sort((a, b) => rank(a) - rank(b)), seen, 'never backwards')
  t.match(row, { mode: 'mock', request_id: 'req-voice-1', execution_id: res.body.execution_id, agent_id: AGENTS.reminder, script_id: 'appointment_reminder', to_number: NUMBERS.completed, answered_by_voice_mail: false, error: null })
  t.ok(Number(row.duration_seconds) > 5, `duration ${row.duration_seconds} s`)
  t.ok(Number(row.cost) > 0, `cost ${row.cost} cents`)
  t.match(row.transcript, /Hello Priya, .* on Friday at 10:30 AM/)

  const wav = await http(String(row.recording_url), 'GET')
  t.equal(wav.status, 200)
  t.match(parseWav(wav.raw), { riff: 'RIFF', wave: 'WAVE', format: 1, sampleRate: 8000, bitsPerSample: 16, dataSize: wav.raw.length - 44 })

  const status = await call('GET', `/calls/${res.body.id}`)
  t.match(status.body, { id: res.body.id, status: 'completed', duration_seconds: Number(row.duration_seconds), cost: Number(row.cost), recording_url: row.recording_url })
  const byExecution = await call('GET', `/calls/${res.body.execution_id}`)
  t.equal(byExecution.body.id, res.body.id, 'Bolna\'s execution id finds the call too')
})

t.test('magic numbers: busy, no-answer, failed and voicemail end as Bolna reports them', async t => {
  const { call, activityLog } = await startVoiceApp(t)
  const ids: Record<string, string> = {}
  for (const [name, to] of Object.entries({ busy: NUMBERS.busy, noAnswer: NUMBERS.noAnswer, failed: NUMBERS.failed, voicemail: NUMBERS.voicemail })) {
    ids[name] = (await call('POST', '/calls', dial(to))).body.id
  }
  const final = async (id: string) => eventually(async () => {
    const [r] = await activityLog.select('call_logs', { where: { id } })
    return r && ['completed', 'busy', 'no-answer', 'failed'].includes(String(r.status)) && (r.status !== 'completed' || r.recording_url) ? r : undefined
  })
  t.match(await final(ids.busy!), { status: 'busy', cost: '0.0000', recording_url: null })
  t.match(await final(ids.noAnswer!), { status: 'no-answer', recording_url: null })
  t.match(await final(ids.failed!), { status: 'failed', error: /simulated carrier failure/, error_code: 'failed' })
  t.match(await final(ids.voicemail!), { status: 'completed', answered_by_voice_mail: true, transcript: /\[voicemail\]/ })
})

t.test('failures are logged as failed and answered in our envelope', async t => {
  const { call, activityLog } = await startVoiceApp(t)
  const failed = await call('POST', '/calls', dial('+919876543210'), { 'x-switchboard-outcome': 'failure' })
  t.equal(failed.status, 502)
  t.match(failed.body, { code: 'VOICE_PROVIDER_ERROR', message: /Bolna answered HTTP 500/, details: { id: String } })
  const [row] = await activityLog.select('call_logs', { where: { id: failed.body.details.id } })
  t.match(row, { status: 'failed', error_code: 'unavailable', execution_id: null, to_number: '+919876543210' })

  const rejected = await call('POST', '/calls', dial(NUMBERS.reject))
  t.equal(rejected.status, 422)
  t.match(rejected.body, { code: 'VOICE_PROVIDER_REJECTED', message: /Bolna rejected the request: Invalid recipient_phone_number/ })
  t.match((await activityLog.select('call_logs', { where: { id: rejected.body.details.id } }))[0], { status: 'failed', error_code: 'rejected' })

  const limited = await call('POST', '/calls', dial('+919876543210'), { 'x-switchboard-outcome': 'rate_limited' })
  t.same([limited.status, limited.body.code, limited.headers['retry-after']], [429, 'VOICE_PROVIDER_RATE_LIMITED', '1'])

  const unknownAgent = await call('POST', '/calls', dial('+919876543210', { agent_id: '00000000-0000-4000-8000-000000000000' }))
  t.same([unknownAgent.status, unknownAgent.body.code], [404, 'VOICE_PROVIDER_NOT_FOUND'])
  t.match(unknownAgent.body.message, /Agent not found/)
})

t.test('bad input is a 400 that names the field and writes no row; an unknown script is a 404 naming the scripts', async t => {
  const { call, activityLog } = await startVoiceApp(t)
  const cases: Array<[unknown, RegExp]> = [
    [{ script_id: 'appointment_reminder' }, /to_number/],
    [dial('98765 43210'), /to_number/],
    [{ to_number: '+919876543210' }, /script_id/],
    [dial('+919876543210', { agent_id: 'agent-7' }), /agent_id/],
    [dial('+919876543210', { user_data: 'Priya' }), /user_data/],
    [dial('+919876543210', { surprise: true }), /additional properties/]
  ]
  for (const [body, field] of cases) {
    const res = await call('POST', '/calls', body)
    t.equal(res.status, 400, JSON.stringify(body))
    t.equal(res.body.code, 'VOICE_INVALID_REQUEST')
    t.match(res.body.message, field)
  }
  const bulk = await call('POST', '/calls/bulk', { contacts: [{ to_number: 'x' }], script_id: 'appointment_reminder' })
  t.equal(bulk.status, 400)
  const campaign = await call('POST', '/campaigns', { contacts: ['+919876543210'], script_id: 'appointment_reminder' })
  t.match([campaign.status, campaign.body.message], [400, /name/])
  const logs = await call('GET', '/calls?limit=0')
  t.match([logs.status, logs.body.message], [400, /limit/])
  const badStatus = await call('GET', '/calls?status=answered')
  t.equal(badStatus.status, 400)
  const leapSecond = await call('POST', '/calls', dial('+919876543210', { scheduled_at: '2026-12-31T23:59:60Z' }))
  t.same([leapSecond.status, leapSecond.body.code], [400, 'VOICE_INVALID_REQUEST'])
  t.match(leapSecond.body.message, /scheduled_at/)
  const badJson = await call('POST', '/calls', '{"to_number":', { 'content-type': 'application/json' })
  t.same([badJson.status, badJson.body.code], [400, 'VOICE_INVALID_JSON'])

  const noScript = await call('POST', '/calls', dial('+919876543210', { script_id: 'cold_call' }))
  t.equal(noScript.status, 404)
  t.equal(noScript.body.code, 'VOICE_SCRIPT_NOT_FOUND')
  t.match(noScript.body.message, /No script "cold_call"\. Use one of: appointment_reminder, payment_reminder, lead_qualification, feedback_survey/)
  await activityLog.flush()
  t.equal(await activityLog.count('call_logs'), 0)
  t.equal(await activityLog.count('call_campaigns'), 0)
})

t.test('scripts: the agents, as scripts; aliases, agent ids and names all reach the right agent', async t => {
  const { call, activityLog } = await startVoiceApp(t, { env: { BOLNA_SCRIPTS: `collections=${AGENTS.payment}` } })
  const scripts = await call('GET', '/scripts')
  t.equal(scripts.status, 200)
  t.same(scripts.body.scripts.map((s: { script_id: string }) => s.script_id), ['appointment_reminder', 'collections', 'lead_qualification', 'feedback_survey'])
  t.match(scripts.body.scripts[1], { agent_id: AGENTS.payment, name: 'Payment Reminder', variables: ['name', 'company', 'amount', 'due_date'] })
  for (const [scriptId, agentId] of [['collections', AGENTS.payment], ['Lead Qualification', AGENTS.lead], [AGENTS.survey, AGENTS.survey]]) {
    const res = await call('POST', '/calls', dial(NUMBERS.completed, { script_id: scriptId }))
    t.equal(res.body.agent_id, agentId, scriptId!)
  }
  const override = await call('POST', '/calls', dial(NUMBERS.completed, { agent_id: AGENTS.lead }))
  t.match(override.body, { script_id: 'appointment_reminder', agent_id: AGENTS.lead })
  const [row] = await activityLog.select('call_logs', { where: { id: override.body.id } })
  t.match(row, { script_id: 'appointment_reminder', agent_id: AGENTS.lead })
})

t.test('stop: a queued call is stopped; an ended or unplaced call is a 409 that says why', async t => {
  const { call, activityLog, url } = await startVoiceApp(t)
  const held = await call('POST', '/calls', dial(NUMBERS.hold))
  const stopped = await call('POST', `/calls/${held.body.id}/stop`)
  t.equal(stopped.status, 200)
  t.same(stopped.body, { id: held.body.id, execution_id: held.body.execution_id, status: 'stopped', mode: 'mock' })
  await activityLog.flush()
  t.equal((await activityLog.select('call_logs', { where: { id: held.body.id } }))[0]?.status, 'stopped')
  const atBolna = await http(`${url}/bolna/executions/${held.body.execution_id}`, 'GET', undefined, auth)
  t.equal(atBolna.body.status, 'stopped', 'Bolna was asked to stop it')

  const scheduled = await call('POST', '/calls', dial(NUMBERS.completed, { scheduled_at: new Date(Date.now() + 3_600_000).toISOString() }))
  t.equal(scheduled.status, 202)
  t.equal((await call('GET', `/calls/${scheduled.body.id}`)).body.status, 'scheduled')
  t.equal((await call('POST', `/calls/${scheduled.body.id}/stop`)).status, 200)

  const done = await call('POST', '/calls', dial(NUMBERS.busy))
  await eventually(async () => (await activityLog.select('call_logs', { where: { id: done.body.id, status: 'busy' } }))[0])
  const late = await call('POST', `/calls/${done.body.id}/stop`)
  t.equal(late.status, 409)
  t.match(late.body, { code: 'VOICE_CALL_NOT_STOPPABLE', message: /already ended \(busy\)/ })

  const never = await call('POST', '/calls', dial(NUMBERS.reject))
  const nothing = await call('POST', `/calls/${never.body.details.id}/stop`)
  t.match([nothing.status, nothing.body.message], [409, /never placed/])
  const unknown = await call('POST', '/calls/00000000-0000-4000-8000-000000000000/stop')
  t.same([unknown.status, unknown.body.code], [404, 'VOICE_CALL_NOT_FOUND'])
})

t.test('a stop that Bolna refuses (the call already started) is a 409 with Bolna\'s reason', async t => {
  // Steps of 1.5 s: a loaded machine still finds the call started and not yet over.
  const { call, activityLog } = await startVoiceApp(t, { env: { VOICE_CALL_STEP_MS: '1500-1500' } })
  const res = await call('POST', '/calls', dial(NUMBERS.completed))
  // The call has started: the row is not final, so the service asks Bolna, which refuses.
  await eventually(async () => ['initiated', 'ringing'].includes(String((await activityLog.select('call_logs', { where: { id: res.body.id } }))[0]?.status)))
  const refused = await call('POST', `/calls/${res.body.id}/stop`)
  t.equal(refused.status, 409)
  t.match(refused.body.message, /Bolna refused to stop it: Call cannot be stopped: it is (initiated|ringing)/)
})

t.test('get_call_status asks Bolna while the call is live, so a missing webhook does not leave it behind', async t => {
  const { call, url, activityLog } = await startVoiceApp(t)
  // This agent posts nowhere: only polling can tell how its calls went.
  await http(`${url}/bolna/v2/agent/${AGENTS.survey}`, 'PATCH', { agent_config: { webhook_url: null } }, auth)
  const res = await call('POST', '/calls', dial(NUMBERS.completed, { script_id: 'feedback_survey' }))
  await new Promise(resolve => setTimeout(resolve, 300))
  await activityLog.flush()
  t.equal((await activityLog.select('call_logs', { where: { id: res.body.id } }))[0]?.status, 'queued', 'no webhook arrived')
  const status = await eventually(async () => {
    const r = await call('GET', `/calls/${res.body.id}`)
    return r.body.status === 'completed' ? r.body : undefined
  })
  t.match(status, { duration_seconds: Number, cost: Number, recording_url: /\.wav$/ })
  await activityLog.flush()
  t.equal((await activityLog.select('call_logs', { where: { id: res.body.id } }))[0]?.status, 'completed', 'and the log follows')
})

t.test('make_bulk_calls: concurrent, one row each, a refused number fails alone, the batch is followed like a campaign', async t => {
  // A bound far past what 20 calls take, so the full answer (200) does not depend on the machine's load (the 202: jobs.test.ts).
  const { call, activityLog, app } = await startVoiceApp(t, { simulation: { latencyMs: { min: 150, max: 150 } }, env: { VOICE_BULK_CONCURRENCY: '10', BULK_WAIT_MS: '240000' } })
  // How many calls the emulator is serving at once: the proof of concurrency, whatever the machine's speed.
  let inFlight = 0
  let mostAtOnce = 0
  app.server.on('request', (req, res) => {
    if (req.method !== 'POST' || req.url !== '/bolna/call') return
    mostAtOnce = Math.max(mostAtOnce, ++inFlight)
    res.on('close', () => { inFlight-- })
  })
  const contacts = [
    ...Array.from({ length: 18 }, (_v, i) => `+9198765432${String(i).padStart(2, '0')}`),
    { to_number: NUMBERS.reject, name: 'Nobody' },
    { to_number: NUMBERS.busy, name: 'Asha', user_data: { date: 'Tuesday' } }
  ]
  const res = await call('POST', '/calls/bulk', { contacts, script_id: 'appointment_reminder' })
  t.equal(res.status, 200)
  t.match(res.body, { mode: 'mock', total: 20, initiated: 19, failed: 1, agent_id: AGENTS.reminder })
  t.ok(mostAtOnce > 1, `concurrent, not sequential (${mostAtOnce} calls at the emulator at once)`)
  t.ok(mostAtOnce <= 10, `and no more at once than VOICE_BULK_CONCURRENCY (${mostAtOnce})`)
  t.match(res.body.calls.find((c: { to_number: string }) => c.to_number === NUMBERS.reject), { status: 'failed', execution_id: null, error: /Invalid recipient_phone_number/ })
  await activityLog.flush()
  t.equal(await activityLog.count('call_logs', { campaign_id: res.body.batch_id }), 20)
  const campaign = await eventually(async () => {
    const r = await call('GET', `/campaigns/${res.body.batch_id}`)
    return r.body.status === 'completed_with_errors' ? r.body : undefined
  })
  t.match(campaign, { total: 20, placed: 20, initiated: 19, completed: 18, failed: 2, in_progress: 0, by_status: { completed: 18, busy: 1, failed: 1 }, contacts: { sent: 19, failed: 1 } })
})

t.test('create_campaign: answers at once, runs in the background, its progress readable while it runs', async t => {
  const { call, activityLog } = await startVoiceApp(t, { simulation: { latencyMs: { min: 100, max: 100 } }, env: { VOICE_BULK_CONCURRENCY: '2', VOICE_CALL_STEP_MS: '20-40' } })
  const contacts = [...Array.from({ length: 10 }, (_v, i) => ({ to_number: `+9198765400${String(i).padStart(2, '0')}`, name: `Customer ${i}` })), NUMBERS.noAnswer, NUMBERS.reject]
  const created = await call('POST', '/campaigns', { name: 'November reminders', contacts, script_id: 'payment_reminder' })
  t.equal(created.status, 202)
  t.match(created.body, { id: String, name: 'November reminders', status: 'running', total: 12, placed: 0, mode: 'mock', script_id: 'payment_reminder', agent_id: AGENTS.payment })
  // 12 calls at 2 at a time, 100 ms each, take at least 600 ms to place: the reply did not wait.
  const first = await call('GET', `/campaigns/${created.body.id}`)
  t.ok(first.body.status === 'running' && first.body.placed < 12, `still placing calls after the reply (${first.body.placed} of 12)`)

  // Read it while it runs: progress only grows.
  const snapshots: Array<{ status: string, placed: number, completed: number }> = []
  const done = await eventually(async () => {
    const r = await call('GET', `/campaigns/${created.body.id}`)
    snapshots.push(r.body)
    return r.body.status === 'completed_with_errors' ? r.body : undefined
  }, 15_000)
  const running = snapshots.filter(s => s.status === 'running')
  t.ok(running.some(s => s.placed > 0 && s.placed < 12), `seen part-way: ${running.map(s => s.placed).join(',')}`)
  t.ok(snapshots.every((s, i) => i === 0 || (s.placed >= snapshots[i - 1]!.placed && s.completed >= snapshots[i - 1]!.completed)), 'progress never goes back')
  // Bolna refused one contact: every call placed and ended, with errors.
  t.match(done, { total: 12, placed: 12, initiated: 11, completed: 10, failed: 2, in_progress: 0, by_status: { completed: 10, 'no-answer': 1, failed: 1 }, contacts: { sent: 11, failed: 1, unknown: 0, stopped: 0, pending: 0, in_flight: 0 } })

  // The call_campaigns row itself follows: its status when the job ends, its counters at their next refresh.
  const row = await eventually(async () => (await activityLog.select('call_campaigns', { where: { id: created.body.id, status: 'completed_with_errors', completed: 10, failed: 2 } }))[0])
  t.match(row, { name: 'November reminders', total: 12, initiated: 11, completed: 10, failed: 2, completed_at: String })
  const logs = await call('GET', `/calls?campaign_id=${created.body.id}&limit=100`)
  t.equal(logs.body.count, 12)
  t.ok(logs.body.calls.every((c: { transcript: string | null, status: string }) => c.status !== 'completed' || /Ravi from Acme Services/.test(c.transcript ?? '')), 'each call spoke the campaign\'s script')
  const unknown = await call('GET', '/campaigns/00000000-0000-4000-8000-000000000000')
  t.same([unknown.status, unknown.body.code], [404, 'VOICE_CAMPAIGN_NOT_FOUND'])
})

t.test('a campaign whose webhooks never come still completes: it asks Bolna', async t => {
  const { call, url } = await startVoiceApp(t, { env: { VOICE_RECONCILE_MS: '100' } })
  await http(`${url}/bolna/v2/agent/${AGENTS.lead}`, 'PATCH', { agent_config: { webhook_url: null } }, auth)
  const created = await call('POST', '/campaigns', { name: 'Quiet agent', contacts: [NUMBERS.completed, NUMBERS.busy, NUMBERS.voicemail], script_id: 'lead_qualification' })
  const done = await eventually(async () => {
    const r = await call('GET', `/campaigns/${created.body.id}`)
    return r.body.status === 'completed' ? r.body : undefined
  })
  t.match(done, { completed: 2, failed: 1, by_status: { completed: 2, busy: 1 } })
})

t.test('a campaign call Bolna no longer knows (lost by a kill -9 of the emulator) ends as an error: the campaign does not stay running', async t => {
  // A second emulator stands in for api.bolna.ai; its reset forgets the call, as a crash can.
  const realBolna = await startVoiceApp(t)
  const { call, runtime, activityLog } = await startVoiceApp(t, { env: { BOLNA_API_KEY: 'bn-live-key-abcdef123456', BOLNA_BASE_URL: `${realBolna.url}/bolna`, VOICE_RECONCILE_MS: '100' } })
  await runtime.update('voice', { mode: 'live' }, 'test')
  const created = await call('POST', '/campaigns', { name: 'Lost call', contacts: [NUMBERS.hold], script_id: 'appointment_reminder' })
  t.equal(created.status, 202)
  const placed = await eventually(async () => (await activityLog.select('call_logs', { where: { campaign_id: created.body.id } })).find(r => typeof r.execution_id === 'string'))
  t.equal((await realBolna.call('POST', '/admin/reset')).status, 200)
  const done = await eventually(async () => {
    const r = await call('GET', `/campaigns/${created.body.id}`)
    return r.body.status === 'completed' ? r.body : undefined
  })
  t.match(done, { contacts: { sent: 1, pending: 0 }, in_progress: 0, by_status: { error: 1 } })
  t.match((await activityLog.select('call_logs', { where: { id: String(placed?.id) } }))[0], { status: 'error', error: /no execution/ })
})

t.test('get_call_logs(limit, status) and get_call_stats(): totals by status, answer rate, duration, cost', async t => {
  const { call, activityLog } = await startVoiceApp(t)
  const placed = []
  for (const to of [NUMBERS.completed, NUMBERS.completed, NUMBERS.voicemail, NUMBERS.busy, NUMBERS.noAnswer, NUMBERS.failed]) placed.push((await call('POST', '/calls', dial(to))).body.id)
  await call('POST', '/calls', dial(NUMBERS.reject))
  await eventually(async () => (await activityLog.count('call_logs', { status: { in: ['completed', 'busy', 'no-answer', 'failed'] } })) === 7 &&
    (await activityLog.count('call_logs', { status: 'completed', recording_url: null })) === 0)

  const stats = await call('GET', '/calls/stats')
  t.equal(stats.status, 200)
  t.match(stats.body, { total: 7, in_progress: 0, completed: 3, answered: 2, voicemail: 1, not_answered: 2, failed: 2, errors: 1, outcomes: { busy: 1, 'no-answer': 1, unreachable: 1, canceled: 0, stopped: 0 }, by_status: { completed: 3, busy: 1, 'no-answer': 1, failed: 2 }, by_mode: { mock: 7 }, last_24h: 7 })
  t.equal(stats.body.answer_rate, Math.round(2 / 6 * 10_000) / 10_000, 'answered ÷ dialled to an end (the refused call was never dialled)')
  const rows = await activityLog.select('call_logs', { where: { status: 'completed' } })
  const avg = rows.reduce((n, r) => n + Number(r.duration_seconds), 0) / rows.length
  t.ok(Math.abs(stats.body.avg_duration_seconds - avg) < 0.06, `average duration ${stats.body.avg_duration_seconds} s`)
  t.equal(stats.body.total_cost, Math.round(rows.reduce((n, r) => n + Number(r.cost), 0) * 100) / 100, 'total cost in cents')

  const logs = await call('GET', '/calls?limit=3')
  t.equal(logs.body.count, 3)
  const times = logs.body.calls.map((c: { created_at: string }) => c.created_at)
  t.same(times, [...times].sort().reverse(), 'newest first')
  const busy = await call('GET', '/calls?status=busy')
  t.same(busy.body.calls.map((c: { id: string }) => c.id), [placed[3]])
  t.type(busy.body.calls[0].duration_seconds, 'number', 'numbers come back as numbers')
})

t.test('the switch: live mode without a key is a clear 503 naming the variable, and writes nothing', async t => {
  const { call, runtime, activityLog } = await startVoiceApp(t)
  await runtime.update('voice', { mode: 'live' }, 'test')
  for (const [path, body] of [['/calls', dial(NUMBERS.completed)], ['/calls/bulk', { contacts: [NUMBERS.completed], script_id: 'x' }], ['/campaigns', { name: 'n', contacts: [NUMBERS.completed], script_id: 'x' }]] as const) {
    const res = await call('POST', path, body)
    t.equal(res.status, 503, path)
    t.equal(res.body.code, 'PROVIDER_NOT_CONFIGURED')
    t.match(res.body.message, /BOLNA_API_KEY/)
  }
  t.equal((await call('GET', '/scripts')).status, 503)
  const ready = await call('GET', '/ready')
  t.equal(ready.status, 503)
  t.match(ready.body.checks.provider, { ok: false, message: /BOLNA_API_KEY/ })
  await activityLog.flush()
  t.equal(await activityLog.count('call_logs'), 0)
})

t.test('the switch: live mode talks to the configured Bolna with the real key, same code path', async t => {
  // A second emulator stands in for api.bolna.ai.
  const realBolna = await startVoiceApp(t)
  const { call, runtime, activityLog } = await startVoiceApp(t, { env: { BOLNA_API_KEY: 'bn-live-key-abcdef123456', BOLNA_BASE_URL: `${realBolna.url}/bolna` } })
  await runtime.update('voice', { mode: 'live' }, 'test')
  const res = await call('POST', '/calls', dial(NUMBERS.completed))
  t.equal(res.status, 202)
  t.equal(res.body.mode, 'live')
  const atBolna = await http(`${realBolna.url}/bolna/executions/${res.body.execution_id}`, 'GET', undefined, auth)
  t.equal(atBolna.status, 200, 'the "real" Bolna received the call')
  t.match(atBolna.body.context_details.recipient_data, { switchboard_call_id: res.body.id })
  // Its webhooks go to its own receiver; here the status follows by asking Bolna.
  const status = await eventually(async () => {
    const r = await call('GET', `/calls/${res.body.id}`)
    return r.body.status === 'completed' ? r.body : undefined
  })
  t.equal(status.mode, 'live')
  await activityLog.flush()
  t.match((await activityLog.select('call_logs', { where: { id: res.body.id } }))[0], { mode: 'live', status: 'completed' })
  t.equal((await call('GET', '/scripts')).body.mode, 'live')
})

t.test('the fallback: live Bolna down, the call goes to the emulator and the row says so', async t => {
  const { call, runtime, activityLog } = await startVoiceApp(t, { env: { BOLNA_API_KEY: 'bn-live-key-abcdef123456', BOLNA_BASE_URL: 'http://127.0.0.1:9/bolna', VOICE_RECONCILE_MS: '100' } })
  await runtime.update('voice', { mode: 'live', fallback: true }, 'test')
  const res = await call('POST', '/calls', dial(NUMBERS.completed, { agent_id: AGENTS.reminder }))
  t.equal(res.status, 202)
  t.equal(res.body.mode, 'mock')
  const row = await eventually(async () => (await activityLog.select('call_logs', { where: { id: res.body.id, status: 'completed' } }))[0])
  t.match(row, { mode: 'mock', fallback: true })
})

t.test('a script_id that names an Object.prototype key is an unknown script, not a crash (found by the fuzzer)', async t => {
  const { call, activityLog } = await startVoiceApp(t, { env: { BOLNA_SCRIPTS: `collections=${AGENTS.payment}` } })
  for (const scriptId of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
    const res = await call('POST', '/calls', dial(NUMBERS.completed, { script_id: scriptId }))
    t.equal(res.status, 404, scriptId)
    t.equal(res.body.code, 'VOICE_SCRIPT_NOT_FOUND', scriptId)
  }
  await activityLog.flush()
  t.equal(await activityLog.count('call_logs'), 0, 'no row for a refused call')
})

t.test('a campaign or bulk with an unknown script is refused before any call row is written', async t => {
  const { call, activityLog } = await startVoiceApp(t)
  const campaign = await call('POST', '/campaigns', { name: 'x', contacts: [NUMBERS.completed], script_id: 'constructor' })
  t.equal(campaign.status, 404)
  const bulk = await call('POST', '/calls/bulk', { contacts: [NUMBERS.completed], script_id: '__proto__' })
  t.equal(bulk.status, 404)
  await activityLog.flush()
  t.equal(await activityLog.count('call_logs'), 0)
  t.equal(await activityLog.count('call_campaigns'), 0)
})
