/**
 * Bulk calls and campaigns are jobs: a bulk that outlasts BULK_WAIT_MS is answered 202 with its
 * batch id and followed at its progress route; campaigns (and bulk batches) stop and retry on
 * request; the POSTs that create them take an Idempotency-Key.
 */
import t from 'tap'
import { LATENCY_HEADER } from '@switchboard/service-kit/simulation'
import { eventually, NUMBERS, startVoiceApp } from './helper.ts'

const FINAL = ['completed', 'completed_with_errors', 'stopped', 'failed']
const numbers = (n: number, prefix = '98770') => Array.from({ length: n }, (_v, i) => `+91${prefix}${String(i).padStart(5, '0')}`)
const sum = (c: { sent: number, failed: number, unknown: number, stopped: number }) => c.sent + c.failed + c.unknown + c.stopped

t.test('make_bulk_calls past BULK_WAIT_MS: 202 with the batch id, then its progress to the end', async t => {
  // (The 200 within the bound: voice-api.test.ts, make_bulk_calls.)
  const { call, activityLog } = await startVoiceApp(t, { env: { VOICE_BULK_CONCURRENCY: '2', BULK_WAIT_MS: '300' } })
  // 20 calls at 2 at a time, each held 100 ms by Bolna: at least 1 s, past the 300 ms bound.
  const contacts = numbers(20)
  const slow = await call('POST', '/calls/bulk', { contacts, script_id: 'appointment_reminder' }, { [LATENCY_HEADER]: '100' })
  t.equal(slow.status, 202, 'answered 202 while the calls go on', { body: slow.body })
  const id = slow.body.batch_id
  t.match(slow.body, { batch_id: String, status: 'running', total: 20, progress_url: `/api/automation/call/bulk/${id}` })
  t.ok(slow.body.contacts.pending + slow.body.contacts.in_flight > 0, 'some calls were still to place')

  const seen: number[] = []
  const done = await eventually(async () => {
    const p = await call('GET', `/calls/bulk/${id}`)
    t.equal(p.status, 200)
    seen.push(p.body.progress)
    return FINAL.includes(p.body.status) ? p.body : undefined
  }, 30_000)
  t.match(done, { status: 'completed', total: 20, progress: 1, contacts: { sent: 20, failed: 0, unknown: 0, stopped: 0, pending: 0, in_flight: 0 } })
  await activityLog.flush()
  const rows = await activityLog.select('call_logs', { where: { campaign_id: id } })
  t.equal(rows.length, 20, 'one call row per contact')
  t.same(new Set(rows.map(r => r.to_number)).size, 20, 'each contact called once')
  // The batch is also a campaign: its calls are followed to their end.
  const campaign = await eventually(async () => {
    const r = await call('GET', `/campaigns/${id}`)
    return r.body.status === 'completed' ? r.body : undefined
  }, 30_000)
  t.match(campaign, { total: 20, placed: 20, initiated: 20, in_progress: 0, contacts: { sent: 20 } })

  const missing = await call('GET', '/calls/bulk/6f1c2b1e-8d4a-4b8e-9a57-0f6f3c2d1e00')
  t.same([missing.status, missing.body.code], [404, 'VOICE_BATCH_NOT_FOUND'])
  const created = await call('POST', '/campaigns', { name: 'Not a batch', contacts: [NUMBERS.completed], script_id: 'appointment_reminder' })
  t.equal((await call('GET', `/calls/bulk/${created.body.id}`)).body.code, 'VOICE_BATCH_NOT_FOUND', 'a campaign is not a bulk batch')
  t.equal((await call('GET', '/calls/bulk/not-a-uuid')).status, 400)
  const nothingToRetry = await call('POST', `/calls/bulk/${id}/retry`)
  t.same([nothingToRetry.status, nothingToRetry.body.status, nothingToRetry.body.contacts.sent], [202, 'completed', 20], 'a retry with nothing unknown or failed changes nothing')
  t.equal((await call('POST', `/calls/bulk/${created.body.id}/retry`)).body.code, 'VOICE_BATCH_NOT_FOUND', 'nor is a campaign retried as a bulk batch')
})

t.test('stop and retry on request: contacts not yet called become stopped; retry calls the failed ones again', async t => {
  const { call, activityLog } = await startVoiceApp(t, { simulation: { latencyMs: { min: 40, max: 40 } }, env: { VOICE_BULK_CONCURRENCY: '1' } })
  const contacts = [NUMBERS.reject, ...numbers(120, '98771')]
  const created = await call('POST', '/campaigns', { name: 'Stop me', contacts, script_id: 'appointment_reminder' })
  const id = created.body.id
  await eventually(async () => (await call('GET', `/campaigns/${id}`)).body.contacts.sent >= 3, 30_000)
  const stopping = await call('POST', `/campaigns/${id}/stop`)
  t.equal(stopping.status, 200)
  t.ok(['stopping', 'stopped'].includes(stopping.body.status), `answered ${stopping.body.status}`)
  const stopped = await eventually(async () => {
    const p = (await call('GET', `/campaigns/${id}`)).body
    return p.status === 'stopped' ? p : undefined
  }, 15_000)
  const c = stopped.contacts
  t.ok(c.stopped > 20, `${c.stopped} contacts stopped`)
  t.equal(sum(c), contacts.length, `sent ${c.sent} + failed ${c.failed} + unknown ${c.unknown} + stopped ${c.stopped} = ${contacts.length} contacts`)
  t.match(c, { failed: 1, pending: 0, in_flight: 0 }, 'the refused number failed')
  t.equal(stopped.in_progress, 0, 'stopped once the calls placed had ended')
  await activityLog.flush()
  t.equal(await activityLog.count('call_logs', { campaign_id: id }), c.sent + c.failed, 'the stopped contacts were never called')
  t.match((await activityLog.select('call_campaigns', { where: { id } }))[0], { status: 'stopped', completed_at: String }, 'the campaign row says so')

  const retried = await call('POST', `/campaigns/${id}/retry`)
  t.equal(retried.status, 202)
  t.equal(retried.body.status, 'running')
  const again = await eventually(async () => {
    const p = (await call('GET', `/campaigns/${id}`)).body
    return p.status !== 'running' ? p : undefined
  }, 15_000)
  t.match(again, { status: 'stopped', contacts: { failed: 1, stopped: c.stopped, sent: c.sent, pending: 0 } }, 'retried, refused again; stopped contacts stay stopped')
  t.equal(again.placed, c.sent + c.failed, 'the calls count each contact\'s latest attempt: the refused one once, not once per attempt')
  await activityLog.flush()
  t.equal(await activityLog.count('call_logs', { campaign_id: id, to_number: NUMBERS.reject }), 2, 'the failed contact was called again (a new row)')

  const other = '6f1c2b1e-8d4a-4b8e-9a57-0f6f3c2d1e00'
  t.same([(await call('POST', `/campaigns/${other}/retry`)).status, (await call('POST', `/campaigns/${other}/stop`)).body.code], [404, 'VOICE_CAMPAIGN_NOT_FOUND'])
  t.equal((await call('POST', '/campaigns/not-a-uuid/stop')).status, 400)
})

t.test('stop and retry on a finished campaign change nothing', async t => {
  const { call } = await startVoiceApp(t)
  const created = await call('POST', '/campaigns', { name: 'Done', contacts: [NUMBERS.completed, NUMBERS.busy], script_id: 'appointment_reminder' })
  const done = await eventually(async () => {
    const p = (await call('GET', `/campaigns/${created.body.id}`)).body
    return p.status === 'completed' ? p : undefined
  }, 15_000)
  const stop = await call('POST', `/campaigns/${created.body.id}/stop`)
  t.same([stop.status, stop.body.status, stop.body.contacts], [200, 'completed', done.contacts])
  const retry = await call('POST', `/campaigns/${created.body.id}/retry`)
  t.same([retry.status, retry.body.status, retry.body.contacts], [202, 'completed', done.contacts], 'nothing to retry')
})

t.test('Idempotency-Key on bulk calls, campaigns and retries: a replay places nothing, another body is a 422', async t => {
  const { call, activityLog } = await startVoiceApp(t, { env: { BULK_WAIT_MS: '0' } })
  const key = (k: string) => ({ 'idempotency-key': k })
  const bulk = { contacts: numbers(3, '98772'), script_id: 'appointment_reminder' }
  const first = await call('POST', '/calls/bulk', bulk, key('bulk-1'))
  t.ok([200, 202].includes(first.status), `answered ${first.status}`)
  const replay = await call('POST', '/calls/bulk', bulk, key('bulk-1'))
  t.same([replay.status, replay.body, replay.headers['idempotent-replayed']], [first.status, first.body, 'true'])
  const conflict = await call('POST', '/calls/bulk', { ...bulk, contacts: numbers(2, '98772') }, key('bulk-1'))
  t.same([conflict.status, conflict.body.code], [422, 'VOICE_IDEMPOTENCY_KEY_REUSED'])

  const campaign = { name: 'Keyed', contacts: numbers(3, '98773'), script_id: 'appointment_reminder' }
  const created = await call('POST', '/campaigns', campaign, key('campaign-1'))
  const again = await call('POST', '/campaigns', campaign, key('campaign-1'))
  t.same([again.status, again.body.id, again.headers['idempotent-replayed']], [202, created.body.id, 'true'])
  t.equal((await call('POST', '/campaigns', { ...campaign, name: 'Other' }, key('campaign-1'))).body.code, 'VOICE_IDEMPOTENCY_KEY_REUSED')

  await eventually(async () => {
    const [a, b] = await Promise.all([call('GET', `/campaigns/${first.body.batch_id}`), call('GET', `/campaigns/${created.body.id}`)])
    return FINAL.includes(a.body.status) && FINAL.includes(b.body.status)
  }, 15_000)
  const retried = await call('POST', `/campaigns/${created.body.id}/retry`, undefined, key('retry-1'))
  t.equal((await call('POST', `/campaigns/${created.body.id}/retry`, undefined, key('retry-1'))).headers['idempotent-replayed'], 'true')
  t.equal(retried.status, 202)
  await activityLog.flush()
  t.equal(await activityLog.count('call_campaigns'), 2, 'one batch and one campaign')
  t.equal(await activityLog.count('call_logs'), 6, 'each contact called once')
})
