/**
 * What the gateway does with input it must refuse (README, "Using the API" and "Errors"): bodies
 * are JSON with real types, never coerced; a query parameter no route knows is named, never
 * ignored; a union's refusal lists the allowed values once; JSON routes answer 415 to any other
 * content type; malformed HTTP framing gets the one error shape too.
 */
import tap, { type Test } from 'tap'
import { selfBaseUrl } from '@switchboard/service-kit/service-app'
import { SERVICE_NAMES } from '@switchboard/service-kit/services'
import { createTestInfrastructure, internalHeaders, jsonCaller, rawExchange, REFUSING_URL } from '@switchboard/service-kit/testing'
import { buildApp } from '../src/app.ts'
import { loadGatewayEnv, serviceUrlVariable } from '../src/config.ts'
import { ADMIN_TOKEN, API_TOKEN, api, startStack } from './helper.ts'

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }
const LINK = '0b8e1c9e-2f4a-4d6b-9c3e-7a1f5d2e8b40'

/** The gateway with every service's routes, none of them reachable: what passes validation is a 503. */
async function startGateway (t: Test) {
  const infra = await createTestInfrastructure(t)
  const urls = Object.fromEntries(SERVICE_NAMES.map(name => [serviceUrlVariable(name), REFUSING_URL]))
  const env = loadGatewayEnv({ GATEWAY_PORT: '0', SWITCHBOARD_DATA_DIR: infra.dataDir, LOG_LEVEL: 'silent', API_TOKEN, ADMIN_TOKEN, ...urls })
  const gateway = await buildApp({ env, tokens: { apiToken: API_TOKEN, adminToken: ADMIN_TOKEN }, logger: false, shared: infra })
  infra.closeWithInfrastructure(gateway)
  await gateway.listen({ port: 0, host: '127.0.0.1' })
  return { ...infra, gateway, url: selfBaseUrl(gateway), call: jsonCaller(selfBaseUrl(gateway)) }
}

// One of each for the whole file: every case here is a refusal that changes nothing (the endpoint
// test's own endpoint aside), and a stack per case was most of the file's time.
const gateway = await startGateway(tap)
const stack = await startStack(tap)

tap.test('bodies are not type-coerced, on the automation and admin routes alike: the field is named, nothing is done', async t => {
  const { call } = gateway
  const refused: Array<[string, string, Record<string, unknown>, Record<string, string>, RegExp]> = [
    ['POST', '/api/admin/payment-links', { amount: '11.11', purpose: 12345 }, admin, /^body\/purpose must be string$/],
    ['POST', '/api/admin/payment-links', { amount: '11.11', purpose: 'Order', send_email: 'true' }, admin, /^body\/send_email must be boolean$/],
    ['POST', `/api/admin/payment-links/${LINK}/simulate`, { success_rate: '1' }, admin, /^body\/success_rate must be number$/],
    ['POST', '/api/admin/whatsapp/inbound', { from: 9876543210, text: 123 }, admin, /^body\/(from|text) must be string$/],
    ['POST', '/api/automation/trigger/email', { to_email: 'deliver@example.com', subject: 123, content: true }, api, /^body\/(subject|content) must be string$/],
    ['POST', '/api/automation/trigger/whatsapp', { to_number: 9876543210, template_name: 'welcome_message', params: [42] }, api, /^body\/(to_number|params\/0) must be string$/],
    ['POST', '/api/automation/trigger/whatsapp', { to_number: '+919876543210', template_name: 'welcome_message', params: [42] }, api, /^body\/params\/0 must be string$/],
    ['POST', '/api/zoom/meetings', { topic: 1234, duration: '30' }, api, /^body\/(topic must be string|duration must be integer)$/],
    ['POST', '/api/zoom/meetings', { topic: 'Sync', duration: '30' }, api, /^body\/duration must be integer$/],
    ['POST', '/api/admin/settings/mock-mode', { mock_mode: null }, admin, /^body\/mock_mode must be boolean$/]
  ]
  for (const [method, path, body, headers, message] of refused) {
    const res = await call(method, path, body, headers)
    t.equal(res.status, 400, `${path} ${JSON.stringify(body)}`)
    t.match(res.body, { code: 'GATEWAY_INVALID_REQUEST', message, details: [{ field: /^body\// }] })
  }
  // The same requests with real types pass validation (and find their service down).
  for (const [method, path, body, headers] of [
    ['POST', '/api/admin/payment-links', { amount: '11.11', purpose: '12345', send_email: true }, admin],
    ['POST', '/api/admin/payment-links', { amount: 1499, purpose: 'The README\'s own example' }, admin],
    ['POST', '/api/automation/trigger/email', { to_email: 'deliver@example.com', subject: '123', content: 'true' }, api],
    ['POST', '/api/zoom/meetings', { topic: '1234', duration: 30 }, api]
  ] as const) {
    t.equal((await call(method, path, body, headers)).body.code, 'GATEWAY_UPSTREAM_UNAVAILABLE', `${path} ${JSON.stringify(body)} is valid`)
  }
})

tap.test('an endpoint is not switched off by null, "false" or 0: only by false', async t => {
  const { call } = gateway
  const created = await call('POST', '/api/admin/endpoints', { url: 'http://127.0.0.1:9/events' }, admin)
  t.equal(created.status, 201)
  const path = `/api/admin/endpoints/${created.body.id}`
  for (const enabled of [null, 'false', 0, '']) {
    const res = await call('PATCH', path, { enabled }, admin)
    t.equal(res.status, 400, JSON.stringify(enabled))
    t.match(res.body, { code: 'GATEWAY_INVALID_REQUEST', message: 'body/enabled must be boolean', details: [{ field: 'body/enabled' }] })
  }
  t.equal((await call('GET', path, undefined, admin)).body.enabled, true, 'still enabled')
  t.equal((await call('PATCH', path, { enabled: false }, admin)).body.enabled, false)
})

tap.test('a union of literals is refused in one message naming the field and the values it takes', async t => {
  const { call } = gateway
  const cases: Array<[string, string, unknown, string, string]> = [
    ['GET', '/api/admin/payment-links?status=weird', undefined, 'querystring/status', 'must be one of: pending, paid, failed'],
    ['POST', '/api/admin/reset?settings=bogus', undefined, 'querystring/settings', 'must be one of: keep, defaults'],
    ['GET', '/api/admin/journal?service=nope', undefined, 'querystring/service', 'must be one of: email, whatsapp, payments, voice, zoom'],
    ['GET', '/api/admin/messages/fax?to=x', undefined, 'params/channel', 'must be one of: email, whatsapp, payments, voice'],
    ['POST', '/api/automation/trigger/email', { to_email: 'a@example.com', subject: 's', content: 'c', content_type: 'text/markdown' }, 'body/content_type', 'must be one of: text/plain, text/html']
  ]
  for (const [method, path, body, field, message] of cases) {
    const res = await call(method, path, body, method === 'POST' && path.startsWith('/api/automation') ? api : admin)
    t.equal(res.status, 400, path)
    t.same([res.body.code, res.body.message, res.body.details], ['GATEWAY_INVALID_REQUEST', `${field} ${message}`, [{ field, message }]], path)
  }
  const types = await call('POST', '/api/admin/endpoints', { url: 'http://127.0.0.1:9/events', types: ['nope.type'] }, admin)
  t.equal(types.status, 400)
  t.match(types.body.message, /^body\/types\/0 must be one of: email\.delivered, email\.bounced, .*, recording\.completed$/)
  t.equal(types.body.details.length, 1, 'one detail, not one per event type')
  t.ok(types.body.message.length < 600, `a readable message (${types.body.message.length} characters)`)
})

tap.test('every API route refuses a query parameter it does not know, naming it', async t => {
  const { call } = gateway
  const routes: Array<[string, string, Record<string, string>]> = [
    ['GET', '/api/automation/whatsapp/inbound?limit=1&', api],
    ['GET', '/api/automation/email/stats?', api],
    ['GET', '/api/automation/whatsapp/stats?', api],
    ['GET', '/api/automation/call/stats?', api],
    ['GET', '/api/automation/whatsapp/templates?', api],
    ['GET', '/api/automation/call/scripts?', api],
    ['GET', '/api/automation/call/logs?', api],
    ['GET', '/api/zoom/meetings?', api],
    ['POST', '/api/zoom/meetings?', api],
    ['GET', '/api/admin/settings/mock-mode?', admin],
    ['GET', '/api/admin/settings/changes?limit=5&', admin],
    ['GET', '/api/admin/endpoints?', admin],
    ['GET', '/api/admin/payment-stats?', admin],
    ['GET', '/api/admin/payment-links?', admin],
    ['GET', '/api/admin/journal?', admin],
    ['GET', '/api/admin/activity?', admin],
    ['GET', '/api/admin/events?', admin],
    ['POST', '/api/admin/clock/freeze?', admin]
  ]
  for (const [method, path, headers] of routes) {
    const res = await call(method, `${path}contacts=%2B919876543210`, method === 'POST' && path.startsWith('/api/zoom') ? { topic: 'x' } : undefined, headers)
    t.equal(res.status, 400, `${method} ${path}`)
    t.match(res.body, { code: 'GATEWAY_INVALID_REQUEST', message: 'querystring must NOT have additional properties: \'contacts\' is not a known field', details: [{ field: 'querystring/contacts' }] }, path)
  }
  t.equal((await call('GET', '/api/admin/settings/changes?limit=5', undefined, admin)).status, 200, 'known parameters are still taken')
  t.equal((await call('GET', '/api/admin/endpoints', undefined, admin)).status, 200)
})

tap.test('a JSON body sent as text/plain is a 415 like any other type, naming the type to send', async t => {
  const { gatewayUrl } = stack
  for (const type of ['text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', undefined]) {
    const res = await fetch(`${gatewayUrl}/api/automation/trigger/email`, {
      method: 'POST',
      headers: { ...api, ...(type ? { 'content-type': type } : {}) },
      body: JSON.stringify({ to_email: 'deliver@example.com', subject: 'Hi', content: 'Hi' })
    })
    // fetch sends a string body as text/plain when no type is given: the case people hit with curl -d too.
    t.equal(res.status, 415, String(type))
    t.match(await res.json(), { code: 'GATEWAY_UNSUPPORTED_MEDIA_TYPE', message: /send Content-Type: application\/json\.$/, requestId: String })
  }
})

tap.test('a service\'s own API takes real types too; its emulator keeps its provider\'s ways', async t => {
  const { emailUrl } = stack
  const email = jsonCaller(emailUrl)
  const res = await email('POST', '/emails', { to_email: 'deliver@example.com', subject: 123, content: 'Hi' }, internalHeaders())
  t.equal(res.status, 400)
  t.match(res.body, { code: 'EMAIL_INVALID_REQUEST', message: 'body/subject must be string', details: [{ field: 'body/subject' }] })
  t.equal((await email('POST', '/emails', { to_email: 'deliver@example.com', subject: '123', content: 'Hi' }, internalHeaders())).status, 202)
  // SendGrid's envelope, not ours, for the emulator's own refusal.
  const sendgrid = await email('POST', '/sendgrid/v3/mail/send', {}, { authorization: 'Bearer SG.a.b' })
  t.equal(sendgrid.status, 400)
  t.ok(Array.isArray(sendgrid.body.errors), 'SendGrid\'s errors array')
})

tap.test('malformed HTTP framing is answered in the one error shape, at the gateway and at a service', async t => {
  const { gatewayUrl, emailUrl } = stack
  for (const [url, prefix] of [[gatewayUrl, 'GATEWAY'], [emailUrl, 'EMAIL']] as const) {
    for (const length of ['abc', '-1', '5\r\nContent-Length: 6']) {
      const answer = await rawExchange(url, `POST /api/automation/trigger/email HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n{"a":1}`)
      t.match(answer, /^HTTP\/1\.1 400 Bad Request\r\n/, `${prefix} Content-Length: ${length}`)
      const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))
      t.match(body, { statusCode: 400, code: `${prefix}_BAD_REQUEST`, error: 'Bad Request', message: /Content-Length/, requestId: String })
      t.match(answer, new RegExp(`\r\nx-request-id: ${body.requestId}\r\n`))
    }
  }
})
