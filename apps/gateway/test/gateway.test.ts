import t from 'tap'
import { REFUSING_URL } from '@switchboard/service-kit/testing'
import { ADMIN_TOKEN, API_TOKEN, api, startStack } from './helper.ts'

const email = { to_email: 'deliver@example.com', subject: 'Hi', content: '<p>Hi</p>' }

t.test('automation routes need the API token; a 401 says which token and where to find it, never a token', async t => {
  const { call } = await startStack(t)
  const variants: Array<Record<string, string>> = [{}, { authorization: 'Bearer wrong-token-wrong-token' }, { authorization: 'Basic abc' }]
  for (const headers of variants) {
    const res = await call('POST', '/api/automation/trigger/email', email, headers)
    t.equal(res.status, 401)
    t.equal(res.body.code, 'GATEWAY_UNAUTHORIZED')
    t.match(res.body.message, /needs the API token/)
    t.match(res.body.message, /start banner \("API token"\)/)
    t.match(res.body.message, /API_TOKEN/)
    t.notMatch(res.text, API_TOKEN, 'the token itself is never in the answer')
    t.notMatch(res.text, ADMIN_TOKEN)
  }
  t.match((await call('POST', '/api/automation/trigger/email', email, {})).body.message, /^No `Authorization: Bearer <token>` header was sent/)
  t.match((await call('POST', '/api/automation/trigger/email', email, { authorization: `Token ${API_TOKEN}` })).body.message, /^The Authorization header sent is not of the form `Bearer <token>`/)
  const admin = await call('POST', '/api/automation/trigger/email', email, { authorization: `Bearer ${ADMIN_TOKEN}` })
  t.equal(admin.status, 202, 'the admin token also opens automation routes')
  const lower = await call('POST', '/api/automation/trigger/email', email, { authorization: `bearer ${API_TOKEN}` })
  t.equal(lower.status, 202, 'the scheme is case-insensitive (RFC 7235): "bearer" works as "Bearer"')
  const apiOnAdmin = await call('GET', '/api/admin/anything', undefined, api)
  t.equal(apiOnAdmin.status, 401, 'the API token does not open admin routes')
  t.match(apiOnAdmin.body.message, /^The bearer token sent is not accepted here\. Admin routes \(\/api\/admin\/\*\) need the admin token\. .*"Admin token".*ADMIN_TOKEN/)
})

t.test('send through the gateway: real HTTP to the service, request id carried into the log', async t => {
  const { call, activityLog } = await startStack(t)
  const res = await call('POST', '/api/automation/trigger/email', email, { ...api, 'x-request-id': 'trace-42' })
  t.equal(res.status, 202)
  t.equal(res.headers['x-request-id'], 'trace-42')
  t.match(res.body, { success: true, mode: 'mock' })
  await activityLog.flush()
  const [row] = await activityLog.select('email_logs', { where: { id: res.body.id } })
  t.equal(row?.request_id, 'trace-42')

  const batch = await call('POST', '/api/automation/trigger/email/batch', { email_list: [email, { ...email, to_email: 'x@example.com' }] }, api)
  t.match(batch.body, { total: 2, accepted: 2 })
  const stats = await call('GET', '/api/automation/email/stats', undefined, api)
  t.equal(stats.status, 200)
  t.equal(stats.body.total, 3)
  const one = await call('GET', `/api/automation/email/${res.body.id}`, undefined, api)
  t.equal(one.body.id, res.body.id)
})

t.test('the gateway rejects bad input itself, naming the field, and forwards nothing', async t => {
  const { call, activityLog } = await startStack(t)
  const res = await call('POST', '/api/automation/trigger/email', { ...email, to_email: 42 }, api)
  t.equal(res.status, 400)
  t.equal(res.body.code, 'GATEWAY_INVALID_REQUEST')
  t.match(res.body.message, /to_email/)
  const notFound = await call('GET', '/api/automation/email/not-a-uuid', undefined, api)
  t.equal(notFound.status, 400)
  await activityLog.flush()
  t.equal(await activityLog.count('email_logs'), 0)
})

t.test('a service that is down is a 503 at once, not a hang', async t => {
  const { call } = await startStack(t, { emailUrl: REFUSING_URL })
  const res = await call('POST', '/api/automation/trigger/email', email, api)
  t.equal(res.status, 503)
  t.equal(res.body.code, 'GATEWAY_UPSTREAM_UNAVAILABLE')
  t.match(res.body.message, /email service .* is not reachable/)
  // A hang would last the 30 s upstream timeout; a refused connection answers in milliseconds.
  t.ok(res.ms < 10_000, `answered in ${res.ms} ms, not after the upstream timeout`)
  const ready = await call('GET', '/ready')
  t.equal(ready.status, 503)
  t.match(ready.body.checks.email, { ok: false })
})

t.test('a slow service is a 504 after the upstream timeout', async t => {
  const { call } = await startStack(t, { gatewayEnv: { UPSTREAM_TIMEOUT_MS: '300' } })
  const res = await call('POST', '/api/automation/trigger/email', email, { ...api, 'x-switchboard-latency-ms': '20000' })
  t.equal(res.status, 504)
  t.equal(res.body.code, 'GATEWAY_UPSTREAM_TIMEOUT')
  // undici checks header timeouts on a one-second tick, so 300 ms becomes about one second.
  t.ok(res.ms < 15_000, `answered in ${res.ms} ms, not after the service's 20 s`)
})

t.test('health, readiness and the OpenAPI document', async t => {
  const { call } = await startStack(t)
  t.same((await call('GET', '/health')).body, { status: 'ok' })
  const ready = await call('GET', '/ready')
  t.equal(ready.status, 200)
  t.match(ready.body, { status: 'ready', checks: { email: { ok: true, message: 'mock mode' } } })
  const doc = await call('GET', '/docs/json')
  t.equal(doc.status, 200)
  for (const path of ['/api/automation/trigger/email', '/api/automation/trigger/email/batch', '/api/automation/email/batch/{id}', '/api/automation/email/stats', '/api/webhooks/email/sendgrid']) t.ok(doc.body.paths[path], path)
  // The 202 rule is in the contract: a bulk that outlasts BULK_WAIT_MS answers with its batch id.
  t.ok(doc.body.paths['/api/automation/trigger/email/batch'].post.responses['202'], 'the bulk route documents its 202')
})

t.test('SendGrid events reach the service through the gateway with their signature intact', async t => {
  const { call, emailUrl, gatewayUrl, activityLog } = await startStack(t)
  const { request } = await import('undici')
  // Point the emulator's Event Webhook at the gateway's public webhook route.
  const patch = await request(`${emailUrl}/sendgrid/v3/user/webhooks/event/settings`, { method: 'PATCH', headers: { authorization: 'Bearer SG.a.b', 'content-type': 'application/json' }, body: JSON.stringify({ url: `${gatewayUrl}/api/webhooks/email/sendgrid` }) })
  t.equal(patch.statusCode, 200)
  await patch.body.dump()
  const res = await call('POST', '/api/automation/trigger/email', { ...email, to_email: 'bounce@example.com' }, api)
  const until = Date.now() + 5000
  let status
  while (Date.now() < until && status !== 'bounced') {
    await activityLog.flush()
    status = (await activityLog.select('email_logs', { where: { id: res.body.id } }))[0]?.status
    await new Promise(resolve => setTimeout(resolve, 25))
  }
  t.equal(status, 'bounced')
  const forged = await call('POST', '/api/webhooks/email/sendgrid', '[]', { 'content-type': 'application/json' })
  t.equal(forged.status, 401)
})
