import t, { type Test } from 'tap'
import { startRecorder } from '@switchboard/service-kit/testing'
import { readRetryPolicy, retryDelayMs } from '../src/emulator/auto-retry.ts'
import { newExecution } from '../src/emulator/execution.ts'
import { AGENTS, auth, eventually, NUMBERS, startVoiceApp, uploadBatch } from './helper.ts'

/** A webhook receiver whose posts are read as execution objects. */
async function receiver (t: Test) {
  const { origin, received } = await startRecorder(t, (_request, res) => { res.end('ok') })
  const executions = (id: string) => received.map(p => JSON.parse(p.body)).filter(e => e.id === id)
  return { url: `${origin}/hook`, executions }
}

t.test('retry_config is read with Bolna\'s defaults, and only when enabled', async t => {
  t.equal(readRetryPolicy(undefined), undefined)
  t.equal(readRetryPolicy({ max_retries: 2 }), undefined, 'enabled defaults to false')
  t.same(readRetryPolicy({ enabled: true }), { maxRetries: 3, onStatuses: ['no-answer', 'busy', 'failed'], onVoicemail: false, intervalsMinutes: [30, 60, 120] })
  t.same(readRetryPolicy('{"enabled":true,"max_retries":2,"retry_intervals_minutes":[15,30]}'), { maxRetries: 2, onStatuses: ['no-answer', 'busy', 'failed'], onVoicemail: false, intervalsMinutes: [15, 30] }, 'a batch\'s JSON string, as the docs\' example')
  t.same(readRetryPolicy({ enabled: 'true', max_retries: '1', retry_on_voicemail: 1 }), { maxRetries: 1, onStatuses: ['no-answer', 'busy', 'failed'], onVoicemail: true, intervalsMinutes: [30, 60, 120] }, 'pydantic\'s lax booleans and integers')

  const policy = readRetryPolicy({ enabled: true, max_retries: 3, retry_on_statuses: ['busy'], retry_intervals_minutes: [5] })!
  const execution = newExecution({ id: 'e', agentId: 'a', to: '+919855550101', from: '+918035735900', userData: {}, scheduledAt: undefined, at: new Date().toISOString() })
  t.equal(retryDelayMs(policy, execution, 'busy', 'busy'), 5 * 60_000)
  t.equal(retryDelayMs(policy, execution, 'no-answer', 'no-answer'), undefined, 'a status the policy does not name is final')
  t.equal(retryDelayMs(policy, { ...execution, retry_count: 2 }, 'busy', 'busy'), 5 * 60_000, 'fewer intervals than retries: the last again')
  t.equal(retryDelayMs(policy, { ...execution, retry_count: 3 }, 'busy', 'busy'), undefined, 'no more than max_retries')
  t.equal(retryDelayMs(policy, execution, 'completed', 'voicemail'), undefined, 'voicemail only with retry_on_voicemail')
  t.equal(retryDelayMs({ ...policy, onVoicemail: true }, execution, 'completed', 'voicemail'), 5 * 60_000)
  t.equal(retryDelayMs({ ...policy, onVoicemail: true }, execution, 'completed', 'completed'), undefined, 'an answered call is done')
})

t.test('a busy call placed with auto-retry is scheduled again on the same execution, and placed at its interval on the test clock', async t => {
  const hook = await receiver(t)
  const { app, call } = await startVoiceApp(t, { env: { BOLNA_MOCK_WEBHOOK_URL: hook.url } })
  // The clock runs (a call's steps are on it too); moving its offset makes the minutes pass.
  const moveBy = (minutes: number) => app.runtime.setClock({ frozen_at: null, offset_ms: minutes * 60_000 }, 'test')
  t.teardown(() => moveBy(0))
  const body = { agent_id: AGENTS.reminder, recipient_phone_number: NUMBERS.busy, retry_config: { enabled: true, max_retries: 2, retry_on_statuses: ['busy'], retry_intervals_minutes: [30, 60] } }
  const placed = await call('POST', '/bolna/call', body, auth)
  t.match(placed, { status: 200, body: { status: 'queued' } })
  const id = placed.body.execution_id as string
  const execution = async () => (await call('GET', `/bolna/executions/${id}`, undefined, auth)).body
  // scheduled_at is on the clock (as POST /call's is); the execution's times, retry_history's
  // included, are real time (README: Test clock).
  const minutesAfterLastAttempt = (e: { scheduled_at: string, retry_history: Array<{ at: string }> }) =>
    (Date.parse(e.scheduled_at) - Date.parse(e.retry_history.at(-1)!.at)) / 60_000

  await eventually(async () => (await execution()).status === 'scheduled')
  const first = await execution()
  t.match(first, {
    retry_count: 1,
    retry_config: { enabled: true, max_retries: 2, retry_on_statuses: ['busy'], retry_intervals_minutes: [30, 60] },
    retry_history: [{ attempt: 1, status: 'busy' }]
  }, 'the docs\' retry fields')
  t.ok(Math.abs(minutesAfterLastAttempt(first) - 30) < 0.05, 'the next attempt 30 minutes after the busy one')
  await eventually(async () => hook.executions(id).length === 5)
  t.same(hook.executions(id).map(e => e.status), ['queued', 'initiated', 'ringing', 'busy', 'scheduled'], 'the ended attempt is posted, then its retry')

  await moveBy(29)
  t.equal((await execution()).status, 'scheduled', 'not before its interval')
  await moveBy(31)
  await eventually(async () => (await execution()).retry_count === 2)
  const second = await execution()
  // On the clock the second attempt ran at its scheduled_at (the clock runs due steps at their own
  // times), so its retry is 60 minutes (and the attempt's few steps) after the first's.
  const between = (Date.parse(second.scheduled_at) - Date.parse(first.scheduled_at)) / 60_000
  t.ok(between >= 60 && between < 61, `the second retry 60 minutes after the second attempt (${between.toFixed(3)})`)
  t.same(second.retry_history.map((h: { attempt: number, status: string }) => [h.attempt, h.status]), [[1, 'busy'], [2, 'busy']])

  await moveBy(92)
  await eventually(async () => hook.executions(id).length === 14)
  t.equal((await execution()).status, 'busy', 'after max_retries the last attempt\'s status stays')
  t.same(hook.executions(id).map(e => e.status), [
    'queued', 'initiated', 'ringing', 'busy', 'scheduled',
    'queued', 'initiated', 'ringing', 'busy', 'scheduled',
    'queued', 'initiated', 'ringing', 'busy'
  ], 'three attempts in all, every status posted once')
})

t.test('without retry_config (or with it disabled) a call ends as before, with no retry fields', async t => {
  const { call } = await startVoiceApp(t)
  for (const extra of [{}, { retry_config: { enabled: false } }]) {
    const id = (await call('POST', '/bolna/call', { agent_id: AGENTS.reminder, recipient_phone_number: NUMBERS.noAnswer, ...extra }, auth)).body.execution_id
    await eventually(async () => (await call('GET', `/bolna/executions/${id}`, undefined, auth)).body.status === 'no-answer')
    const e = (await call('GET', `/bolna/executions/${id}`, undefined, auth)).body
    t.notOk('retry_count' in e || 'retry_history' in e, `no retry fields (${JSON.stringify(extra)})`)
  }
})

t.test('a batch\'s retry_config retries its calls, and the batch is executed only once the last attempt ends', async t => {
  const { app, url, call } = await startVoiceApp(t)
  const moveBy = (minutes: number) => app.runtime.setClock({ frozen_at: null, offset_ms: minutes * 60_000 }, 'test')
  t.teardown(() => moveBy(0))
  // The busy contact alone: its ended attempt is then every call of the batch ended, but for its retry.
  const created = await uploadBatch(url, `contact_number\r\n${NUMBERS.busy}\r\n`, { agent_id: AGENTS.reminder, retry_config: '{"enabled":true,"max_retries":1,"retry_intervals_minutes":[15]}' })
  t.equal(created.status, 201)
  const id = created.body.batch_id as string
  t.equal((await call('POST', `/bolna/batches/${id}/schedule`, { scheduled_at: new Date(Date.now() + 200).toISOString() }, auth)).status, 200)
  const batch = async () => (await call('GET', `/bolna/batches/${id}`, undefined, auth)).body
  await eventually(async () => (await batch()).execution_status.scheduled === 1)
  t.equal((await batch()).status, 'queued', 'the busy contact waits for its retry: the batch is not executed')
  const [busy] = (await call('GET', `/bolna/batches/${id}/executions`, undefined, auth)).body
  t.match(busy, { retry_count: 1, batch_run_details: { retried: 1 }, retry_history: [{ attempt: 1, status: 'busy' }] })

  await moveBy(16)
  await eventually(async () => (await batch()).status === 'executed')
  t.same((await batch()).execution_status, { busy: 1 }, 'its one retry ended busy too, and then the batch ended')
})

t.test('retry intervals outside 0 to a year are refused as the other retry_config bounds are, on POST /call and on a batch', async t => {
  const { url, call } = await startVoiceApp(t)
  for (const [interval, type] of [[-5, 'greater_than_equal'], ['99999999999999999999', 'less_than_equal'], [525_601, 'less_than_equal']] as const) {
    const res = await call('POST', '/bolna/call', { agent_id: AGENTS.reminder, recipient_phone_number: NUMBERS.busy, retry_config: { enabled: true, retry_intervals_minutes: [30, interval] } }, auth)
    t.match(res, { status: 422, body: { detail: [{ type, loc: ['body', 'retry_config', 'retry_intervals_minutes', 1] }] } }, `POST /call, ${interval}`)
    const batch = await uploadBatch(url, `contact_number\r\n${NUMBERS.busy}\r\n`, { agent_id: AGENTS.reminder, retry_config: JSON.stringify({ enabled: true, retry_intervals_minutes: [interval] }) })
    t.match(batch, { status: 422, body: { detail: [{ type, loc: ['body', 'retry_config', 'retry_intervals_minutes', 0] }] } }, `a batch, ${interval}`)
  }
  const year = await call('POST', '/bolna/call', { agent_id: AGENTS.reminder, recipient_phone_number: NUMBERS.busy, retry_config: { enabled: true, retry_intervals_minutes: [525_600] } }, auth)
  t.equal(year.status, 200, 'a year is taken')
  const id = year.body.execution_id as string
  await eventually(async () => (await call('GET', `/bolna/executions/${id}`, undefined, auth)).body.status === 'scheduled')
  t.equal(Date.parse((await call('GET', `/bolna/executions/${id}`, undefined, auth)).body.scheduled_at) > Date.now() + 364 * 86_400_000, true, 'and scheduled a year on')
})
