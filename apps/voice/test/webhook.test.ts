import t from 'tap'
import { createHmac } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { buildApp } from '../src/app.ts'
import { loadVoiceEnv } from '../src/config.ts'
import { addressMatcher, normalizeIp, sourceAddress } from '../src/routes/bolna-webhook.ts'
import { requestJson } from '@switchboard/service-kit/testing'
import { NUMBERS, startVoiceApp, type VoiceTestApp } from './helper.ts'

/** A call that stays queued (the hold number): nothing but our posts moves it. */
async function heldCall (app: VoiceTestApp) {
  const res = await app.call('POST', '/calls', { to_number: NUMBERS.hold, script_id: 'appointment_reminder' })
  await app.activityLog.flush()
  return { id: res.body.id as string, executionId: res.body.execution_id as string }
}
const statusOf = async (app: VoiceTestApp, id: string) => {
  await app.activityLog.flush()
  return (await app.activityLog.select('call_logs', { where: { id } }))[0]?.status
}
const signed = (secret: string, body: string, timestamp = String(Math.floor(Date.now() / 1000))) => ({
  'content-type': 'application/json',
  'x-switchboard-timestamp': timestamp,
  'x-switchboard-signature': createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')
})
/** buildApp checks these before it opens anything, so no database is needed to see it refuse. */
const build = (vars: Record<string, string>) => buildApp({ env: loadVoiceEnv({ LOG_LEVEL: 'silent', ...vars }), logger: false })
const secretOf = (app: VoiceTestApp) => readFileSync(join(app.dataDir, 'bolna-emulator-webhook-secret'), 'utf8').trim()

t.test('forged webhooks are refused with 401 and change nothing', async t => {
  const app = await startVoiceApp(t)
  const { id, executionId } = await heldCall(app)
  const body = JSON.stringify({ id: executionId, status: 'completed', conversation_duration: 99, total_cost: 1 })

  const unsigned = await app.call('POST', '/webhooks/bolna', body, { 'content-type': 'application/json' })
  t.equal(unsigned.status, 401)
  t.same(Object.keys(unsigned.body).sort(), ['code', 'error', 'message', 'requestId', 'statusCode'])
  t.match(unsigned.body, { code: 'VOICE_WEBHOOK_UNAUTHORIZED', message: 'Unauthorized' })

  const wrongSecret = await app.call('POST', '/webhooks/bolna', body, signed('not-the-secret', body))
  t.equal(wrongSecret.status, 401)
  const headers = signed(secretOf(app), body)
  const tampered = await app.call('POST', '/webhooks/bolna', body.replace('99', '999'), headers)
  t.equal(tampered.status, 401)
  const stale = await app.call('POST', '/webhooks/bolna', body, signed(secretOf(app), body, '1600000000'))
  t.equal(stale.status, 401)
  const halfSigned = await app.call('POST', '/webhooks/bolna', body, { 'content-type': 'application/json', 'x-switchboard-signature': headers['x-switchboard-signature'] })
  t.equal(halfSigned.status, 401)
  // Claiming Bolna's address from a peer that is not a trusted proxy gets nowhere either.
  const spoof = await startVoiceApp(t, { env: { VOICE_TRUSTED_PROXIES: '' } })
  const spoofed = await spoof.call('POST', '/webhooks/bolna', body, { 'content-type': 'application/json', 'x-forwarded-for': '13.203.39.153' })
  t.equal(spoofed.status, 401)

  t.equal(await statusOf(app, id), 'queued', 'the row did not move')
})

t.test('a correctly signed post is applied once; duplicates and older statuses change nothing', async t => {
  const app = await startVoiceApp(t)
  const { id, executionId } = await heldCall(app)
  const post = async (exec: Record<string, unknown>) => {
    const body = JSON.stringify(exec)
    return app.call('POST', '/webhooks/bolna', body, signed(secretOf(app), body))
  }
  const ringing = await post({ id: executionId, status: 'ringing' })
  t.same([ringing.status, ringing.body], [200, { received: true, duplicate: false }])
  t.equal(await statusOf(app, id), 'ringing')
  t.same((await post({ id: executionId, status: 'ringing' })).body, { received: true, duplicate: true }, 'deduplicated on (execution id, status)')

  const completed = await post({ id: executionId, status: 'completed', conversation_duration: 42.5, total_cost: 5.43, transcript: 'assistant: hi\n', answered_by_voice_mail: false, telephony_data: { recording_url: 'https://example.com/r.wav', from_number: '+918035735900' } })
  t.equal(completed.status, 200)
  const late = await post({ id: executionId, status: 'in-progress' })
  t.same(late.body, { received: true, duplicate: false })
  await app.activityLog.flush()
  const [row] = await app.activityLog.select('call_logs', { where: { id } })
  t.match(row, { status: 'completed', duration_seconds: '42.50', cost: '5.4300', recording_url: 'https://example.com/r.wav', from_number: '+918035735900', transcript: 'assistant: hi\n' })
  const failedAfter = await post({ id: executionId, status: 'failed', error_message: 'late' })
  t.equal(failedAfter.status, 200)
  t.equal(await statusOf(app, id), 'completed', 'a final status never changes')

  const bad = '{"status":"completed"}'
  const invalid = await app.call('POST', '/webhooks/bolna', bad, signed(secretOf(app), bad))
  t.same([invalid.status, invalid.body.code], [400, 'VOICE_WEBHOOK_INVALID_BODY'])
})

t.test('the real Bolna: unsigned posts from an allowed address, seen directly or through a trusted proxy', async t => {
  // Through a trusted proxy (loopback, as the gateway): the forwarded address is Bolna's.
  const viaProxy = await startVoiceApp(t, { env: { BOLNA_WEBHOOK_ALLOWED_IPS: '203.0.113.9' } })
  const a = await heldCall(viaProxy)
  const exec = (executionId: string, status: string) => JSON.stringify({ id: executionId, status })
  const ok = await viaProxy.call('POST', '/webhooks/bolna', exec(a.executionId, 'initiated'), { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.9' })
  t.same([ok.status, ok.body.duplicate], [200, false])
  t.equal(await statusOf(viaProxy, a.id), 'initiated', 'matched by execution id (no context_details in this post)')
  // The proxy appends what it saw: an address put first by the sender proves nothing.
  const prepended = await viaProxy.call('POST', '/webhooks/bolna', exec(a.executionId, 'ringing'), { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.9, 198.51.100.7' })
  t.equal(prepended.status, 401)
  const notAllowed = await viaProxy.call('POST', '/webhooks/bolna', exec(a.executionId, 'ringing'), { 'content-type': 'application/json', 'x-forwarded-for': '198.51.100.7' })
  t.equal(notAllowed.status, 401)
  // Another process on the gateway's machine (loopback, but without the internal credential the
  // gateway sends) cannot claim Bolna's address.
  const localProcess = await requestJson(`${viaProxy.url}/webhooks/bolna`, 'POST', exec(a.executionId, 'ringing'), { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.9' })
  t.equal(localProcess.status, 401)
  t.equal(await statusOf(viaProxy, a.id), 'initiated', 'the spoofed post changed nothing')

  // No proxy trusted: only the peer's own address counts.
  const direct = await startVoiceApp(t, { env: { BOLNA_WEBHOOK_ALLOWED_IPS: '127.0.0.1', VOICE_TRUSTED_PROXIES: '' } })
  const b = await heldCall(direct)
  const res = await direct.call('POST', '/webhooks/bolna', exec(b.executionId, 'initiated'), { 'content-type': 'application/json', 'x-forwarded-for': '198.51.100.7' })
  t.equal(res.status, 200)
  t.equal(await statusOf(direct, b.id), 'initiated')
})

t.test('source address, address lists and status order, unit by unit', async t => {
  const trusted = addressMatcher(['127.0.0.1', '::1'])
  t.equal(normalizeIp('::ffff:13.203.39.153'), '13.203.39.153')
  t.equal(normalizeIp('[::1]'), '::1')
  t.equal(sourceAddress('::ffff:127.0.0.1', '13.203.39.153', trusted), '13.203.39.153')
  t.equal(sourceAddress('10.0.0.5', '13.203.39.153', trusted), '10.0.0.5', 'an untrusted peer\'s header is ignored')
  t.equal(sourceAddress('127.0.0.1', '13.203.39.153, 127.0.0.1', trusted), '13.203.39.153', 'trusted hops are skipped from the right')
  t.equal(sourceAddress('127.0.0.1', ['1.1.1.1', '2.2.2.2'], trusted), '2.2.2.2')
  t.equal(sourceAddress('127.0.0.1', undefined, trusted), '127.0.0.1')
  const ranges = addressMatcher(['13.203.39.153', '172.16.0.0/12', 'fd00::/8'])
  t.same(['13.203.39.153', '::ffff:13.203.39.153', '172.20.3.4', 'fd12::1', '13.203.39.154', '192.168.1.1', 'not-an-ip'].map(ranges), [true, true, true, true, false, false, false])
  t.throws(() => addressMatcher(['gateway']), /not an IP address or a CIDR range/)
  await t.rejects(build({ VOICE_TRUSTED_PROXIES: '127.0.0.1,gateway' }), { name: 'ConfigError', message: /VOICE_TRUSTED_PROXIES must list IP addresses or CIDR ranges .* got "gateway"/ })
  await t.rejects(build({ BOLNA_WEBHOOK_ALLOWED_IPS: '13.203.39.153/40' }), { name: 'ConfigError', message: /BOLNA_WEBHOOK_ALLOWED_IPS/ })
  await t.rejects(build({ VOICE_CALL_STEP_MS: 'fast' }), { name: 'ConfigError', message: /VOICE_CALL_STEP_MS must look like/ })
  await t.rejects(build({ BOLNA_SCRIPTS: 'reminder=agent-1' }), { name: 'ConfigError', message: /BOLNA_SCRIPTS must look like/ })
})

t.test('posts of many calls arriving together, out of order and repeated: every row ends at its highest status, never moved back', async t => {
  const app = await startVoiceApp(t)
  const calls = await Promise.all(Array.from({ length: 6 }, () => heldCall(app)))
  const secret = secretOf(app)
  const exec = (c: { id: string, executionId: string }, status: string, extra: Record<string, unknown> = {}) =>
    ({ id: c.executionId, status, context_details: { recipient_data: { switchboard_call_id: c.id } }, ...extra })
  const posts: Array<Record<string, unknown>> = []
  calls.forEach((c, i) => {
    const last = i % 3 === 0 ? 'completed' : i % 3 === 1 ? 'in-progress' : 'busy'
    const path = last === 'completed' ? ['initiated', 'ringing', 'in-progress', 'call-disconnected', 'completed'] : last === 'busy' ? ['initiated', 'ringing', 'busy'] : ['initiated', 'ringing', 'in-progress']
    for (const status of path) {
      const extra = status === 'completed' ? { conversation_duration: 30 + i, total_cost: 2.5, transcript: `assistant: call ${i}\n` } : status === 'in-progress' ? { answered_by_voice_mail: false } : {}
      posts.push(exec(c, status, extra))
    }
    posts.push(exec(c, 'ringing')) // a repeat, after the rest
  })
  // Highest status first for half of them: the lower ones that follow must change nothing.
  const order = posts.map((p, i) => ({ p, k: i % 2 === 0 ? -i : i })).sort((a, b) => a.k - b.k).map(x => x.p)
  const replies = await Promise.all(order.map(async p => {
    const body = JSON.stringify(p)
    return app.call('POST', '/webhooks/bolna', body, signed(secret, body))
  }))
  t.ok(replies.every(r => r.status === 200), 'every post answered 200')
  t.equal(replies.filter(r => r.body.duplicate).length, calls.length, 'exactly the repeats are duplicates')
  await app.activityLog.flush()
  for (const [i, c] of calls.entries()) {
    const [row] = await app.activityLog.select('call_logs', { where: { id: c.id } })
    const last = i % 3 === 0 ? 'completed' : i % 3 === 1 ? 'in-progress' : 'busy'
    t.equal(row?.status, last, `call ${i} ended ${last}`)
    t.equal(row?.execution_id, c.executionId)
    if (last === 'completed') t.match(row, { duration_seconds: `${30 + i}.00`, cost: '2.5000', transcript: `assistant: call ${i}\n` })
  }
})

t.test('an emulator post whose user_data has no row id is a call placed on the emulator directly: no row is touched', async t => {
  const app = await startVoiceApp(t)
  const { id, executionId } = await heldCall(app)
  // The emulator hands user_data back whole, so a call placed through the service always has the
  // row id there; this one (an execution of the same id, crafted) is not the service's.
  const body = JSON.stringify({ id: executionId, status: 'ringing', context_details: { recipient_data: {}, recipient_phone_number: NUMBERS.hold } })
  const res = await app.call('POST', '/webhooks/bolna', body, signed(secretOf(app), body))
  t.same([res.status, res.body], [200, { received: true, duplicate: false }])
  t.equal(await statusOf(app, id), 'queued')
  // Without the echo at all (and from Bolna itself), the execution id still finds the row.
  const bare = JSON.stringify({ id: executionId, status: 'in-progress' })
  t.equal((await app.call('POST', '/webhooks/bolna', bare, signed(secretOf(app), bare))).status, 200)
  t.equal(await statusOf(app, id), 'in-progress')
})
