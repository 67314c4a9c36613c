/** The pure parts of the voice service: Bolna's execution as a call_logs patch, a campaign's view, the refresh coalescing. */
import t from 'tap'
import type { JobProgress } from '@switchboard/service-kit/job-runner'
import { bolnaTimestamp, CALL_ID_VAR, CAMPAIGN_ID_VAR, executionPatch, idsOf, toCallLog } from '../src/service/call-log.ts'
import { campaignView, contactOf, liveCallCount, noProgress, type Progress } from '../src/service/campaign-view.ts'
import { coalescing } from '../src/service/coalesce.ts'
import { eventually } from './helper.ts'

const ID = '0b8e4f8e-6c1e-4c55-9d3c-2f8f0a0f6a11'

t.test('an execution as a call_logs patch: what it knows, zeros only once final, failures with their status', async t => {
  const live = executionPatch({ id: 'ex1', status: 'in-progress', conversation_duration: 0, total_cost: 0, telephony_data: { duration: '0', from_number: '+918035735900' } })
  t.match(live, { status: 'in-progress', execution_id: 'ex1', from_number: '+918035735900' })
  t.notOk('duration_seconds' in live || 'cost' in live, 'a zero while the call goes on is not yet a fact')
  const done = executionPatch({ id: 'ex1', status: 'completed', conversation_duration: null, total_cost: 0, telephony_data: { duration: '42', recording_url: 'http://r/x.wav' }, transcript: 'assistant: Hi\n', answered_by_voice_mail: false })
  t.match(done, { duration_seconds: 42, cost: 0, recording_url: 'http://r/x.wav', transcript: 'assistant: Hi\n', answered_by_voice_mail: false })
  const failed = executionPatch({ id: 'ex2', status: 'failed', error_message: 'unreachable', telephony_data: null })
  t.match(failed, { error: 'unreachable', error_code: 'failed' })
  t.equal(bolnaTimestamp('2026-05-19T18:30:00.123+05:30'), '2026-05-19T13:00:00+00:00')
  t.same(toCallLog({ id: 'x', duration_seconds: '12.5', cost: null, latency_ms: '' }), { id: 'x', duration_seconds: 12.5, cost: null, latency_ms: null })
})

t.test('the ids a call carries in user_data count only when they are ids', async t => {
  t.same(idsOf({ [CALL_ID_VAR]: ID, [CAMPAIGN_ID_VAR]: ID.toUpperCase() }), { callId: ID, campaignId: ID.toUpperCase() })
  t.same(idsOf({ [CALL_ID_VAR]: 'not-an-id', [CAMPAIGN_ID_VAR]: 42 }), { callId: undefined, campaignId: undefined })
  t.same(idsOf({}), { callId: undefined, campaignId: undefined })
})

const row = { id: ID, name: 'Reminders', mode: 'mock', script_id: 'reminder', agent_id: null, status: 'running', total: 3, error: null, created_at: 'a', updated_at: 'b', completed_at: null }
const job = (status: JobProgress['status']): JobProgress =>
  ({ id: ID, kind: 'voice.campaign', status, total: 3, pending: 0, in_flight: 0, sent: 2, failed: 1, unknown: 0, stopped: 0, error: null, created_at: 'a', updated_at: 'b', completed_at: null })
const progress = (p: Partial<Progress>): Progress => ({ ...noProgress(), ...p })

t.test('a campaign reads running (or stopping) while calls it placed are still live, then its job\'s status', async t => {
  const p = progress({ placed: 3, initiated: 2, in_progress: 1, by_status: { completed: 1, ringing: 1, failed: 1 } })
  t.equal(campaignView(row, p, job('completed'), 1).status, 'running')
  t.equal(campaignView(row, p, job('completed_with_errors'), 1).status, 'running')
  t.equal(campaignView(row, p, job('stopped'), 1).status, 'stopping')
  t.equal(campaignView(row, p, job('completed_with_errors'), 0).status, 'completed_with_errors')
  t.equal(campaignView(row, p, job('running'), 1).status, 'running')
  const view = campaignView(row, p, job('completed'), 0)
  t.same(view.contacts, { pending: 0, in_flight: 0, sent: 2, failed: 1, unknown: 0, stopped: 0 }, 'contacts from the job')
  t.match(view, { placed: 3, initiated: 2, in_progress: 1, by_status: p.by_status, agent_id: null, total: 3 })
})

t.test('a campaign from before jobs: counted from its calls, completed once every call has ended', async t => {
  const going = campaignView(row, progress({ placed: 2, initiated: 1 }), null, 0)
  t.equal(going.status, 'running')
  t.same(going.contacts, { pending: 1, in_flight: 0, sent: 1, failed: 1, unknown: 0, stopped: 0 })
  t.equal(campaignView(row, progress({ placed: 3, initiated: 3, in_progress: 1 }), null, 1).status, 'running')
  t.equal(campaignView(row, progress({ placed: 3, initiated: 3 }), null, 0).status, 'completed')
  t.equal(campaignView({ ...row, status: 'stopped' }, progress({ placed: 3 }), null, 0).status, 'stopped')
})

t.test('live calls are those in progress less those never placed; contacts become job items', async t => {
  t.equal(liveCallCount(progress({ in_progress: 5 }), 2), 3)
  t.equal(liveCallCount(progress({ in_progress: 1 }), 4), 0)
  t.same(contactOf('+919855550100'), { to_number: '+919855550100', user_data: {} })
  t.same(contactOf({ to_number: '+919855550100', name: 'Priya', user_data: { date: 'Monday' } }), { to_number: '+919855550100', user_data: { name: 'Priya', date: 'Monday' } })
  t.same(contactOf({ to_number: '+919855550100', user_data: { name: 'from data' } }), { to_number: '+919855550100', user_data: { name: 'from data' } })
  t.not(noProgress(), noProgress(), 'each campaign gets its own counters')
})

t.test('coalescing: one run per key at a time; asks meanwhile become one more run; keys apart', async t => {
  const runs: string[] = []
  const gates: Array<() => void> = []
  const work: Array<Promise<unknown>> = []
  const stopping = new AbortController()
  const ask = coalescing(async key => {
    runs.push(key)
    await new Promise<void>(resolve => gates.push(resolve))
  }, { gapMs: 1, signal: stopping.signal, track: p => work.push(p) })
  ask('a')
  ask('a')
  ask('b')
  t.same(runs, ['a', 'b'], 'both keys run at once; the second ask of a waits')
  ask('a')
  gates.shift()!() // a's first run ends: the two asks since become one run
  await eventually(async () => runs.length === 3)
  t.same(runs, ['a', 'b', 'a'])
  gates.shift()!()
  gates.shift()!()
  await Promise.all(work)
  t.equal(runs.length, 3, 'no run was asked for after those')
  ask('a')
  t.equal(runs.length, 4, 'a key whose runs ended starts afresh')
  stopping.abort()
  ask('a')
  gates.shift()!()
  await Promise.all(work)
  t.equal(runs.length, 4, 'after the abort, the ask that came during a run starts no other')
})
