import t from 'tap'
import type { Test } from 'tap'
import { selfBaseUrl } from '@switchboard/service-kit/service-app'
import { createTestInfrastructure, eventually, jsonCaller, requestJson as http } from '@switchboard/service-kit/testing'
import { buildApp as buildVoice } from '@switchboard/voice/app'
import { loadVoiceEnv } from '@switchboard/voice/config'
import { buildApp } from '../src/app.ts'
import { loadGatewayEnv } from '../src/config.ts'
import { ADMIN_TOKEN, API_TOKEN, api } from './helper.ts'

const REMINDER_AGENT = '3f9a6c1e-7b2d-4e8a-9c41-5d2b8e6f0a11'
const bolnaKey = { authorization: 'Bearer bn-gateway-test-key' }
const dial = (to: string) => ({ to_number: to, script_id: 'appointment_reminder', user_data: { name: 'Priya' } })

/** The gateway in front of a real voice service, both on free ports, one test database. */
async function startVoiceStack (t: Test, voiceEnv: Record<string, string> = {}, gatewayEnv: Record<string, string> = {}) {
  const infra = await createTestInfrastructure(t)
  const base = { SWITCHBOARD_DATA_DIR: infra.dataDir, LOG_LEVEL: 'silent' }
  const voice = await buildVoice({ env: loadVoiceEnv({ ...base, VOICE_PORT: '0', VOICE_CALL_STEP_MS: '5-15', ...voiceEnv }), shared: infra, logger: false })
  infra.closeWithInfrastructure(voice)
  await voice.listen({ port: 0, host: '127.0.0.1' })
  const voiceUrl = selfBaseUrl(voice)
  const env = loadGatewayEnv({ ...base, GATEWAY_PORT: '0', API_TOKEN, ADMIN_TOKEN, VOICE_SERVICE_URL: voiceUrl, ...gatewayEnv })
  const gateway = await buildApp({ env, tokens: { apiToken: API_TOKEN, adminToken: ADMIN_TOKEN }, logger: false, services: ['voice'], shared: infra })
  infra.closeWithInfrastructure(gateway)
  await gateway.listen({ port: 0, host: '127.0.0.1' })
  const gatewayUrl = selfBaseUrl(gateway)
  return { ...infra, voiceUrl, gatewayUrl, call: jsonCaller(gatewayUrl) }
}

t.test('voice routes need the API token; the gateway validates with the shared schemas and forwards nothing bad', async t => {
  const { call, activityLog } = await startVoiceStack(t)
  for (const [method, path] of [['POST', '/api/automation/trigger/call'], ['GET', '/api/automation/call/logs'], ['GET', '/api/automation/call/stats'], ['GET', '/api/automation/call/scripts']] as const) {
    const res = await call(method, path, method === 'POST' ? dial('+919855550100') : undefined)
    t.same([res.status, res.body.code], [401, 'GATEWAY_UNAUTHORIZED'], path)
  }
  const bad = await call('POST', '/api/automation/trigger/call', { to_number: '98765', script_id: 'appointment_reminder' }, api)
  t.same([bad.status, bad.body.code], [400, 'GATEWAY_INVALID_REQUEST'])
  t.match(bad.body.message, /to_number/)
  const badQuery = await call('GET', '/api/automation/call/logs?limit=5000', undefined, api)
  t.same([badQuery.status, badQuery.body.code], [400, 'GATEWAY_INVALID_REQUEST'])
  const badId = await call('GET', '/api/automation/call/status/not-a-uuid', undefined, api)
  t.equal(badId.status, 400)
  await activityLog.flush()
  t.equal(await activityLog.count('call_logs'), 0)
})

t.test('every voice route through the gateway: call, status, logs, stats, scripts, stop, bulk, campaign', async t => {
  const { call, activityLog } = await startVoiceStack(t)
  const made = await call('POST', '/api/automation/trigger/call', dial('+919855550100'), { ...api, 'x-request-id': 'trace-voice' })
  t.equal(made.status, 202)
  t.match(made.body, { success: true, mode: 'mock', status: 'queued', agent_id: REMINDER_AGENT })
  const done = await eventually(async () => {
    const r = await call('GET', `/api/automation/call/status/${made.body.id}`, undefined, api)
    return r.body.status === 'completed' && r.body.recording_url ? r.body : undefined
  })
  t.match(done, { request_id: 'trace-voice', transcript: /Hello Priya/, duration_seconds: Number, cost: Number })

  const logs = await call('GET', '/api/automation/call/logs?limit=1&status=completed', undefined, api)
  t.same([logs.status, logs.body.count, logs.body.calls[0].id], [200, 1, made.body.id], 'the query string reaches the service')
  const stats = await call('GET', '/api/automation/call/stats', undefined, api)
  t.match(stats.body, { total: 1, completed: 1, answer_rate: 1 })
  const scripts = await call('GET', '/api/automation/call/scripts', undefined, api)
  t.equal(scripts.body.scripts.length, 4)

  const held = await call('POST', '/api/automation/trigger/call', dial('+919855550105'), api)
  const stopped = await call('POST', `/api/automation/call/${held.body.id}/stop`, undefined, api)
  t.same([stopped.status, stopped.body.status], [200, 'stopped'])
  const again = await call('POST', `/api/automation/call/${held.body.id}/stop`, undefined, api)
  t.same([again.status, again.body.code], [409, 'VOICE_CALL_NOT_STOPPABLE'])

  const bulk = await call('POST', '/api/automation/trigger/call/bulk', { contacts: ['+919855550100', { to_number: '+919855550101', name: 'Ravi' }], script_id: 'appointment_reminder' }, api)
  t.match(bulk.body, { total: 2, initiated: 2, failed: 0 })
  const campaign = await call('POST', '/api/automation/call/campaigns', { name: 'Gateway campaign', contacts: ['+919855550100', '+919855550102'], script_id: 'feedback_survey' }, api)
  t.same([campaign.status, campaign.body.status], [202, 'running'])
  const finished = await eventually(async () => {
    const r = await call('GET', `/api/automation/call/campaigns/${campaign.body.id}`, undefined, api)
    return r.body.status === 'completed' ? r.body : undefined
  })
  t.match(finished, { total: 2, completed: 1, failed: 1, by_status: { completed: 1, 'no-answer': 1 } })
  await activityLog.flush()
  t.equal(await activityLog.count('call_logs'), 6)
})

t.test('Bolna webhooks through the gateway: the emulator\'s signature survives, a forged post or a spoofed address does not', async t => {
  const { call, voiceUrl, gatewayUrl, activityLog } = await startVoiceStack(t)
  // Point the agent's webhook at the gateway's public route, as a deployment would.
  const patched = await http(`${voiceUrl}/bolna/v2/agent/${REMINDER_AGENT}`, 'PATCH', { agent_config: { webhook_url: `${gatewayUrl}/api/webhooks/voice/bolna` } }, bolnaKey)
  t.equal(patched.status, 200)
  const made = await call('POST', '/api/automation/trigger/call', dial('+919855550101'), api)
  const row = await eventually(async () => {
    await activityLog.flush()
    return (await activityLog.select('call_logs', { where: { id: made.body.id, status: 'busy' } }))[0]
  })
  t.ok(row, 'the status arrived through the gateway')

  const held = await call('POST', '/api/automation/trigger/call', dial('+919855550105'), api)
  const forged = JSON.stringify({ id: held.body.execution_id, status: 'completed' })
  const unsigned = await call('POST', '/api/webhooks/voice/bolna', forged, { 'content-type': 'application/json' })
  t.same([unsigned.status, unsigned.body.code], [401, 'VOICE_WEBHOOK_UNAUTHORIZED'])
  // The gateway replaces X-Forwarded-For with the address it saw: claiming Bolna's gets nowhere.
  const spoofed = await call('POST', '/api/webhooks/voice/bolna', forged, { 'content-type': 'application/json', 'x-forwarded-for': '13.203.39.153' })
  t.equal(spoofed.status, 401)
  await activityLog.flush()
  t.equal((await activityLog.select('call_logs', { where: { id: held.body.id } }))[0]?.status, 'queued', 'nothing changed')
})

t.test('the real Bolna through the gateway: its address is what the gateway saw, and an allowed one is accepted', async t => {
  // The test client stands in for Bolna at 127.0.0.1 (allowed here instead of 13.203.39.153).
  const { call, activityLog } = await startVoiceStack(t, { BOLNA_WEBHOOK_ALLOWED_IPS: '127.0.0.1' })
  const held = await call('POST', '/api/automation/trigger/call', dial('+919855550105'), api)
  const post = await call('POST', '/api/webhooks/voice/bolna', JSON.stringify({ id: held.body.execution_id, status: 'ringing' }), { 'content-type': 'application/json', 'x-forwarded-for': '198.51.100.7' })
  t.same([post.status, post.body], [200, { received: true, duplicate: false }])
  await activityLog.flush()
  t.equal((await activityLog.select('call_logs', { where: { id: held.body.id } }))[0]?.status, 'ringing')
})

t.test('behind a reverse proxy named in GATEWAY_TRUSTED_PROXIES, Bolna\'s address is the one the proxy saw', async t => {
  // The test client stands in for a proxy on this machine that forwards Bolna's post from 13.203.39.153.
  const { call, activityLog } = await startVoiceStack(t, {}, { GATEWAY_TRUSTED_PROXIES: '127.0.0.1,::1' })
  const held = await call('POST', '/api/automation/trigger/call', dial('+919855550105'), api)
  t.equal(held.status, 202, JSON.stringify(held.body))
  const ringing = JSON.stringify({ id: held.body.execution_id, status: 'ringing' })
  const post = await call('POST', '/api/webhooks/voice/bolna', ringing, { 'content-type': 'application/json', 'x-forwarded-for': '198.51.100.7, 13.203.39.153' })
  t.same([post.status, post.body], [200, { received: true, duplicate: false }], 'the rightmost untrusted hop is Bolna\'s documented address')
  await activityLog.flush()
  t.equal((await activityLog.select('call_logs', { where: { id: held.body.id } }))[0]?.status, 'ringing')
  const claimed = await call('POST', '/api/webhooks/voice/bolna', JSON.stringify({ id: held.body.execution_id, status: 'in-progress' }), { 'content-type': 'application/json', 'x-forwarded-for': '13.203.39.153, 198.51.100.7' })
  t.equal(claimed.status, 401, 'an address the client put further left is not believed')

  // Without the setting, the same header from the same peer is ignored: the gateway's own peer is the source.
  const direct = await startVoiceStack(t)
  const other = await direct.call('POST', '/api/automation/trigger/call', dial('+919855550105'), api)
  const refused = await direct.call('POST', '/api/webhooks/voice/bolna', JSON.stringify({ id: other.body.execution_id, status: 'ringing' }), { 'content-type': 'application/json', 'x-forwarded-for': '13.203.39.153' })
  t.equal(refused.status, 401)
})

t.test('the OpenAPI document lists the voice routes', async t => {
  const { call } = await startVoiceStack(t)
  const doc = await call('GET', '/docs/json')
  for (const path of ['/api/automation/trigger/call', '/api/automation/trigger/call/bulk', '/api/automation/call/bulk/{id}', '/api/automation/call/campaigns', '/api/automation/call/campaigns/{id}', '/api/automation/call/campaigns/{id}/stop', '/api/automation/call/campaigns/{id}/retry', '/api/automation/call/status/{id}', '/api/automation/call/{id}/stop', '/api/automation/call/logs', '/api/automation/call/stats', '/api/automation/call/scripts', '/api/webhooks/voice/bolna']) {
    t.ok(doc.body.paths[path], path)
  }
})

t.test('voice bulk and campaigns through the gateway: 202 with the batch id past BULK_WAIT_MS and its progress route, stop and retry, idempotency keys', async t => {
  const { call, activityLog, runtime } = await startVoiceStack(t, { BULK_WAIT_MS: '0', VOICE_BULK_CONCURRENCY: '1' })
  // 50 ms a call, one at a time: the campaign below takes seconds, the stop comes long before its end.
  await runtime.update('voice', { simulation: { latencyMs: { min: 50, max: 50 } } }, 'test')
  const key = (k: string) => ({ ...api, 'idempotency-key': k })
  const bulk = { contacts: ['+919855550100', '+919855550101', '+919876500001'], script_id: 'appointment_reminder' }
  const first = await call('POST', '/api/automation/trigger/call/bulk', bulk, { ...key('gw-bulk-1'), 'x-switchboard-latency-ms': '50' })
  t.equal(first.status, 202, 'BULK_WAIT_MS=0 and 50 ms a call: answered with the batch', { body: first.body })
  t.match(first.body, { batch_id: String, total: 3, progress_url: `/api/automation/call/bulk/${first.body.batch_id}` })
  const replay = await call('POST', '/api/automation/trigger/call/bulk', bulk, { ...key('gw-bulk-1'), 'x-switchboard-latency-ms': '50' })
  t.same([replay.status, replay.body, replay.headers['idempotent-replayed']], [202, first.body, 'true'], 'the same key replays, places nothing')
  const reused = await call('POST', '/api/automation/trigger/call/bulk', { ...bulk, contacts: ['+919855550100'] }, key('gw-bulk-1'))
  t.same([reused.status, reused.body.code], [422, 'GATEWAY_IDEMPOTENCY_KEY_REUSED'])
  const done = await eventually(async () => {
    const p = await call('GET', first.body.progress_url, undefined, api)
    return p.body.status === 'completed' ? p.body : undefined
  }, 15_000)
  t.match(done, { total: 3, progress: 1, contacts: { sent: 3, pending: 0 } })
  t.same((await call('GET', '/api/automation/call/bulk/6f1c2b1e-8d4a-4b8e-9a57-0f6f3c2d1e00', undefined, api)).body.code, 'VOICE_BATCH_NOT_FOUND')

  const contacts = ['+919855550106', ...Array.from({ length: 80 }, (_v, i) => `+9198765${String(i).padStart(5, '0')}`)]
  const campaignBody = { name: 'Stop through the gateway', contacts, script_id: 'appointment_reminder' }
  const created = await call('POST', '/api/automation/call/campaigns', campaignBody, key('gw-campaign-1'))
  t.equal(created.status, 202)
  const again = await call('POST', '/api/automation/call/campaigns', campaignBody, key('gw-campaign-1'))
  t.same([again.body.id, again.headers['idempotent-replayed']], [created.body.id, 'true'])
  const id = created.body.id
  const stop = await call('POST', `/api/automation/call/campaigns/${id}/stop`, undefined, api)
  t.equal(stop.status, 200)
  const stopped = await eventually(async () => {
    const p = (await call('GET', `/api/automation/call/campaigns/${id}`, undefined, api)).body
    return p.status === 'stopped' ? p : undefined
  }, 15_000)
  const c = stopped.contacts
  t.equal(c.sent + c.failed + c.unknown + c.stopped, contacts.length, 'sent + failed + unknown + stopped = contacts')
  t.ok(c.stopped > 0, `${c.stopped} stopped`)
  const retry = await call('POST', `/api/automation/call/campaigns/${id}/retry`, undefined, api)
  t.equal(retry.status, 202)
  const missing = await call('POST', '/api/automation/call/campaigns/6f1c2b1e-8d4a-4b8e-9a57-0f6f3c2d1e00/retry', undefined, api)
  t.same([missing.status, missing.body.code], [404, 'VOICE_CAMPAIGN_NOT_FOUND'])
  t.equal((await call('POST', `/api/automation/call/campaigns/${id}/stop`)).status, 401, 'the API token is needed')
  await activityLog.flush()
  t.equal(await activityLog.count('call_campaigns'), 2, 'one batch and one campaign: the replays created nothing')
})
