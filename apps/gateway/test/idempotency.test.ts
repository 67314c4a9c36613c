/**
 * Idempotency keys end to end: real gateway and email service on free ports, one test database,
 * the SendGrid emulator counting what it received. Concurrent duplicates send once, a replay
 * survives a restart of both servers, another body is a 422, a retry after a gateway timeout does
 * not send again, keys are per token, and every route that sends, creates or pays documents the
 * header in the OpenAPI document.
 */
import t, { type Test } from 'tap'
import { buildApp as buildEmail } from '@switchboard/email/app'
import { loadEmailEnv } from '@switchboard/email/config'
import { selfBaseUrl } from '@switchboard/service-kit/service-app'
import { LATENCY_HEADER } from '@switchboard/service-kit/simulation'
import { createTestInfrastructure, eventually, internalHeaders, jsonCaller, type TestInfrastructure } from '@switchboard/service-kit/testing'
import { buildApp } from '../src/app.ts'
import { loadGatewayEnv } from '../src/config.ts'
import { ADMIN_TOKEN, API_TOKEN, api } from './helper.ts'

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }
const email = { to_email: 'deliver@example.com', subject: 'Hello', content: 'Hi there' }
const key = (k: string) => ({ 'idempotency-key': k })

// One database for the file (an embedded one takes seconds to create); every test uses its own keys
// and its own servers, which count what the emulator received from their start.
const infra = await createTestInfrastructure(t)

/** Gateway and email service on `infra`'s database; started again on the same database by calling it again. */
async function startServers (t: Test, infra: TestInfrastructure, gatewayEnv: Record<string, string> = {}) {
  const base = { SWITCHBOARD_DATA_DIR: infra.dataDir, LOG_LEVEL: 'silent' }
  const emailApp = await buildEmail({ env: loadEmailEnv({ ...base, EMAIL_PORT: '0' }), shared: infra, logger: false })
  await emailApp.listen({ port: 0, host: '127.0.0.1' })
  const env = loadGatewayEnv({ ...base, GATEWAY_PORT: '0', API_TOKEN, ADMIN_TOKEN, EMAIL_SERVICE_URL: selfBaseUrl(emailApp), ...gatewayEnv })
  const gateway = await buildApp({ env, tokens: { apiToken: API_TOKEN, adminToken: ADMIN_TOKEN, internalToken: infra.tokens.internalToken }, logger: false, services: ['email'], shared: infra })
  await gateway.listen({ port: 0, host: '127.0.0.1' })
  const close = async () => { await gateway.close(); await emailApp.close() }
  t.teardown(close)
  // Straight to the service, as the gateway calls it: with the internal credential.
  const service = jsonCaller(selfBaseUrl(emailApp), internalHeaders(infra.tokens))
  /** What the SendGrid emulator counted today (its own counter, not our log). */
  const emulatorCount = async () => {
    const today = new Date().toISOString().slice(0, 10)
    const res = await service('GET', `/sendgrid/v3/stats?start_date=${today}`, undefined, { authorization: 'Bearer SG.x.y' })
    return Number(res.body[0]?.stats[0]?.metrics.requests ?? 0)
  }
  // The emulator's stats live in the database (README: Emulator state), so they outlive a restart
  // and add up over this file's tests: each server pair counts from what was there when it started.
  const baseline = await emulatorCount()
  /** What the SendGrid emulator received since these servers started. */
  const emulatorReceived = async () => await emulatorCount() - baseline
  return { call: jsonCaller(selfBaseUrl(gateway)), service, emulatorReceived, close }
}

t.test('through the gateway: concurrent duplicates reach the emulator once; the others get a 409 or the replay', async t => {
  const { call, emulatorReceived } = await startServers(t, infra)
  const slow = { ...api, ...key('dup-gw'), [LATENCY_HEADER]: '300' }
  const answers = await Promise.all(Array.from({ length: 8 }, () => call('POST', '/api/automation/trigger/email', email, slow)))
  const firsts = answers.filter(r => r.status === 202 && r.headers['idempotent-replayed'] === undefined)
  t.equal(firsts.length, 1, 'one request ran')
  for (const r of answers) {
    if (r.status === 409) t.match(r.body, { code: 'GATEWAY_IDEMPOTENCY_KEY_IN_USE', message: /has not answered yet. It may still be running/ })
    else t.same([r.status, r.body.id], [202, firsts[0]!.body.id], 'or the first answer')
  }
  t.ok(answers.some(r => r.status === 409), 'the duplicates that came while it ran were told so')
  const replay = await call('POST', '/api/automation/trigger/email', email, slow)
  t.same([replay.status, replay.body, replay.headers['idempotent-replayed']], [202, firsts[0]!.body, 'true'])
  t.equal(await emulatorReceived(), 1, 'the emulator received one email')
})

t.test('a replay survives a restart of the gateway and the service (same database)', async t => {
  const before = await startServers(t, infra)
  const first = await before.call('POST', '/api/automation/trigger/email', email, { ...api, ...key('restart-gw') })
  t.equal(first.status, 202)
  t.equal(await before.emulatorReceived(), 1)
  await before.close()

  const after = await startServers(t, infra)
  const replay = await after.call('POST', '/api/automation/trigger/email', email, { ...api, ...key('restart-gw') })
  t.same([replay.status, replay.body, replay.headers['idempotent-replayed'], replay.headers['content-type']], [202, first.body, 'true', first.headers['content-type']])
  t.equal(await after.emulatorReceived(), 0, 'the new emulator received nothing')
})

t.test('a reset forgets the keys with the rows: the same key sends again instead of replaying what the reset cleared', async t => {
  const { call } = await startServers(t, infra)
  const first = await call('POST', '/api/automation/trigger/email', email, { ...api, ...key('reset-gw') })
  t.equal(first.status, 202)
  const reset = await call('POST', '/api/admin/reset', undefined, admin)
  t.equal(reset.status, 200)
  t.ok(Number(reset.body.cleared.idempotency_keys) >= 1, 'the keys are among what was cleared')
  const again = await call('POST', '/api/automation/trigger/email', email, { ...api, ...key('reset-gw') })
  t.equal(again.status, 202)
  t.equal(again.headers['idempotent-replayed'], undefined, 'not a replay')
  t.not(again.body.id, first.body.id, 'a new send')
  t.equal((await call('GET', `/api/automation/email/${again.body.id}`, undefined, api)).status, 200, 'whose row exists')
})

t.test('the same key with another body is a 422 at the gateway and at the service; a bad key a 400 naming the header', async t => {
  const { call, service, emulatorReceived } = await startServers(t, infra)
  t.equal((await call('POST', '/api/automation/trigger/email', email, { ...api, ...key('k1') })).status, 202)
  const other = await call('POST', '/api/automation/trigger/email', { ...email, subject: 'Other' }, { ...api, ...key('k1') })
  t.same([other.status, other.body.code], [422, 'GATEWAY_IDEMPOTENCY_KEY_REUSED'])
  t.match(other.body.message, /Idempotency-Key "k1" was already used .* different request/)

  const direct = email
  const first = await service('POST', '/emails', direct, key('svc-1'))
  t.equal(first.status, 202)
  const again = await service('POST', '/emails', direct, key('svc-1'))
  t.same([again.status, again.body, again.headers['idempotent-replayed']], [202, first.body, 'true'], 'the service replays on its own')
  const conflict = await service('POST', '/emails', { ...direct, subject: 'Other' }, key('svc-1'))
  t.same([conflict.status, conflict.body.code], [422, 'EMAIL_IDEMPOTENCY_KEY_REUSED'])

  const bad = await call('POST', '/api/automation/trigger/email', email, { ...api, ...key('x'.repeat(256)) })
  t.same([bad.status, bad.body.code], [400, 'GATEWAY_INVALID_REQUEST'])
  t.match(bad.body.message, /headers\/idempotency-key/)
  t.equal(await emulatorReceived(), 2, 'one email through the gateway, one direct')
})

t.test('keys are per token, and a caller\'s key at the gateway is not the same key at the service', async t => {
  const { call, service, emulatorReceived } = await startServers(t, infra)
  const byApi = await call('POST', '/api/automation/trigger/email', email, { ...api, ...key('shared') })
  const byAdmin = await call('POST', '/api/automation/trigger/email', email, { ...admin, ...key('shared') })
  t.not(byApi.body.id, byAdmin.body.id, 'two tokens, two emails')
  const direct = await service('POST', '/emails', email, key('shared'))
  t.same([direct.status, direct.headers['idempotent-replayed']], [202, undefined], 'the service never saw the caller\'s own key')
  t.equal(await emulatorReceived(), 3)
})

t.test('a retry after a gateway timeout does not send again: the service still holds the first request', async t => {
  const { call, emulatorReceived } = await startServers(t, infra, { UPSTREAM_TIMEOUT_MS: '300' })
  // undici checks header timeouts on a one-second tick: the service must outlast that.
  const slow = { ...api, ...key('timeout-1'), [LATENCY_HEADER]: '2500' }
  const first = await call('POST', '/api/automation/trigger/email', email, slow)
  t.same([first.status, first.body.code], [504, 'GATEWAY_UPSTREAM_TIMEOUT'])
  const during = await call('POST', '/api/automation/trigger/email', email, slow)
  t.same([during.status, during.body.code], [409, 'EMAIL_IDEMPOTENCY_KEY_IN_USE'], 'the gateway kept no 504, the service says it is still running')
  const done = await eventually(async () => {
    const r = await call('POST', '/api/automation/trigger/email', email, slow)
    return r.status === 202 ? r : undefined
  })
  t.equal(done.headers['idempotent-replayed'], 'true', 'the service\'s answer to the first request')
  t.equal(await emulatorReceived(), 1, 'sent once in all')
})

t.test('the OpenAPI document lists the Idempotency-Key header, with its semantics, on every route that sends, creates or pays', async t => {
  const env = loadGatewayEnv({ SWITCHBOARD_DATA_DIR: infra.dataDir, LOG_LEVEL: 'silent', GATEWAY_PORT: '0', API_TOKEN, ADMIN_TOKEN })
  const gateway = await buildApp({ env, tokens: { apiToken: API_TOKEN, adminToken: ADMIN_TOKEN }, logger: false, shared: infra })
  t.teardown(() => gateway.close())
  const doc = (await gateway.inject({ url: '/docs/json' })).json() as { paths: Record<string, Record<string, { parameters?: Array<{ in: string, name: string, description?: string, schema?: { maxLength?: number } }> }>> }
  const keyed = (path: string, method = 'post') => doc.paths[path]?.[method]?.parameters?.find(p => p.in === 'header' && p.name === 'idempotency-key')
  const routes = [
    '/api/automation/trigger/email', '/api/automation/trigger/email/batch',
    '/api/automation/trigger/whatsapp', '/api/automation/trigger/whatsapp/bulk', '/api/automation/whatsapp/campaigns',
    '/api/automation/trigger/call', '/api/automation/trigger/call/bulk', '/api/automation/call/campaigns',
    '/api/zoom/meetings',
    '/api/admin/payment-links', '/api/admin/payment-links/{id}/resend', '/api/admin/payment-links/{id}/simulate'
  ]
  for (const path of routes) {
    const p = keyed(path)
    t.ok(p, `${path} documents the header`)
    t.match(p, { schema: { maxLength: 255 }, description: /replays that answer .*Idempotent-Replayed: true.* 422.* 409/ }, `${path}: with its semantics`)
  }
  t.notOk(keyed('/api/automation/email/templates/validate'), 'a route that only checks takes no key')
})
