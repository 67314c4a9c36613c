import t from 'tap'
import type { Test } from 'tap'
import { buildApp as buildWhatsApp } from '@switchboard/whatsapp/app'
import { loadWhatsAppEnv } from '@switchboard/whatsapp/config'
import { selfBaseUrl } from '@switchboard/service-kit/service-app'
import { createTestInfrastructure, eventually as eventuallyWithin, jsonCaller, REFUSING_URL } from '@switchboard/service-kit/testing'
import { buildApp } from '../src/app.ts'
import { loadGatewayEnv } from '../src/config.ts'
import { ADMIN_TOKEN, API_TOKEN, api } from './helper.ts'

const TOKEN = 'gateway-test-aisensy-url-token-0123456789'
const message = { to_number: '+91 90000 00004', template_name: 'order_confirmation', params: ['Asha', '#A-1042'], contact_name: 'Asha Rao' }

/** The gateway in front of a real WhatsApp service, both on free ports, sharing a test database. */
async function startWhatsAppStack (t: Test, opts: { whatsappUrl?: string, whatsappEnv?: Record<string, string> } = {}) {
  const infra = await createTestInfrastructure(t)
  const base = { SWITCHBOARD_DATA_DIR: infra.dataDir, LOG_LEVEL: 'silent' }
  const whatsapp = await buildWhatsApp({ env: loadWhatsAppEnv({ ...base, WHATSAPP_PORT: '0', AISENSY_WEBHOOK_TOKEN: TOKEN, AISENSY_STATUS_GAP_MS: '20-80', ...opts.whatsappEnv }), shared: infra, logger: false })
  infra.closeWithInfrastructure(whatsapp)
  await whatsapp.listen({ port: 0, host: '127.0.0.1' })
  const env = loadGatewayEnv({ ...base, GATEWAY_PORT: '0', API_TOKEN, ADMIN_TOKEN, WHATSAPP_SERVICE_URL: opts.whatsappUrl ?? selfBaseUrl(whatsapp) })
  const gateway = await buildApp({ env, tokens: { apiToken: API_TOKEN, adminToken: ADMIN_TOKEN }, logger: false, services: ['whatsapp'], shared: infra })
  infra.closeWithInfrastructure(gateway)
  await gateway.listen({ port: 0, host: '127.0.0.1' })
  const url = selfBaseUrl(gateway)
  return { ...infra, call: jsonCaller(url) }
}

/** The shared poll, with more time: a message walks through several statuses here. */
const eventually = <T>(check: () => Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> => eventuallyWithin(check, timeoutMs)

t.test('WhatsApp automation routes need the API token; the webhook route needs its URL token instead', async t => {
  const { call } = await startWhatsAppStack(t)
  for (const [method, path, body] of [
    ['POST', '/api/automation/trigger/whatsapp', message],
    ['POST', '/api/automation/trigger/whatsapp/bulk', { template_name: 'welcome_message', contacts: [{ to_number: '9876543210' }] }],
    ['POST', '/api/automation/whatsapp/campaigns', { name: 'c', template_name: 'welcome_message', contacts: [{ to_number: '9876543210' }] }],
    ['GET', '/api/automation/whatsapp/stats'],
    ['GET', '/api/automation/whatsapp/templates'],
    ['GET', '/api/automation/whatsapp/campaigns/6f1c2b1e-8d4a-4b8e-9a57-0f6f3c2d1e00'],
    ['GET', '/api/automation/whatsapp/inbound']
  ] as const) {
    const res = await call(method, path, body)
    t.same([res.status, res.body.code], [401, 'GATEWAY_UNAUTHORIZED'], path)
  }
  const wrongToken = await call('POST', '/api/webhooks/whatsapp/aisensy/not-the-token', '{"topic":"message.status.updated","data":{"message":{"id":"x","status":"read"}}}', { 'content-type': 'application/json' })
  t.equal(wrongToken.status, 401)
  t.equal(wrongToken.body.code, 'WHATSAPP_WEBHOOK_UNAUTHORIZED', 'no bearer token asked; the service refused the wrong URL token')
  const inbound = await call('POST', '/api/admin/whatsapp/inbound', { from: '+919876543210', text: 'hi' }, api)
  t.equal(inbound.status, 401, 'the emulator control needs the admin token, not the API token')
})

t.test('send, bulk, stats, templates and one message through the gateway; the request id reaches both tables', async t => {
  const { call, activityLog } = await startWhatsAppStack(t)
  const res = await call('POST', '/api/automation/trigger/whatsapp', message, { ...api, 'x-request-id': 'trace-wa-7' })
  t.equal(res.status, 202)
  t.equal(res.headers['x-request-id'], 'trace-wa-7')
  t.match(res.body, { success: true, status: 'submitted', mode: 'mock', to_number: '+919000000004' })
  await activityLog.flush()
  t.equal((await activityLog.select('whatsapp_logs', { where: { id: res.body.id } }))[0]?.request_id, 'trace-wa-7')
  t.equal((await activityLog.select('crm_messages', { where: { source_id: res.body.id } }))[0]?.request_id, 'trace-wa-7')
  await eventually(async () => (await call('GET', `/api/automation/whatsapp/messages/${res.body.id}`, undefined, api)).body.status === 'read')

  const bulk = await call('POST', '/api/automation/trigger/whatsapp/bulk', { template_name: 'welcome_message', contacts: [{ to_number: '9876543210', name: 'Ravi' }, { to_number: '+919000000001' }] }, api)
  t.equal(bulk.status, 200)
  t.match(bulk.body, { total: 2, accepted: 1, failed: 1, results: [{ status: 'submitted' }, { status: 'failed', error: 'Invalid Number' }] })

  const stats = await call('GET', '/api/automation/whatsapp/stats', undefined, api)
  t.equal(stats.status, 200)
  t.match(stats.body, { total: 3, failed: 1, by_mode: { mock: 3 } })
  const templates = await call('GET', '/api/automation/whatsapp/templates', undefined, api)
  t.equal(templates.body.source, 'configuration')
  t.ok(templates.body.templates.some((x: { name: string }) => x.name === 'welcome_message'))
})

t.test('a campaign through the gateway: 202 at once, progress readable, completes', async t => {
  const { call, activityLog } = await startWhatsAppStack(t)
  const contacts = Array.from({ length: 150 }, (_v, i) => ({ to_number: `97${String(i).padStart(8, '0')}`, name: `C${i}` }))
  const created = await call('POST', '/api/automation/whatsapp/campaigns', { name: 'Through the gateway', template_name: 'welcome_message', contacts }, api)
  t.equal(created.status, 202)
  t.match(created.body, { status: 'running', total: 150, processed: 0 })
  const done = await eventually(async () => {
    const p = await call('GET', `/api/automation/whatsapp/campaigns/${created.body.id}`, undefined, api)
    return p.status === 200 && p.body.status === 'completed' ? p.body : undefined
  })
  t.match(done, { total: 150, processed: 150, sent: 150, failed: 0, progress: 1 })
  t.equal(await activityLog.count('whatsapp_logs', { campaign_id: created.body.id }), 150)
  const missing = await call('GET', '/api/automation/whatsapp/campaigns/6f1c2b1e-8d4a-4b8e-9a57-0f6f3c2d1e00', undefined, api)
  t.same([missing.status, missing.body.code], [404, 'WHATSAPP_CAMPAIGN_NOT_FOUND'])
})

t.test('the gateway rejects bad input itself, naming the field, and forwards nothing', async t => {
  const { call, activityLog } = await startWhatsAppStack(t)
  const cases: Array<[string, unknown, RegExp]> = [
    ['/api/automation/trigger/whatsapp', { ...message, to_number: 'call me maybe' }, /to_number/],
    ['/api/automation/trigger/whatsapp', { ...message, template_name: undefined }, /template_name/],
    ['/api/automation/trigger/whatsapp', { ...message, params: [''] }, /params\/0/],
    ['/api/automation/trigger/whatsapp/bulk', { template_name: 'welcome_message', contacts: [] }, /contacts/],
    ['/api/automation/trigger/whatsapp/bulk', { template_name: 'welcome_message', contacts: [{ phone: '9876543210' }] }, /contacts\/0/],
    ['/api/automation/whatsapp/campaigns', { template_name: 'welcome_message', contacts: [{ to_number: '9876543210' }] }, /name/]
  ]
  for (const [path, body, field] of cases) {
    const res = await call('POST', path, body, api)
    t.equal(res.status, 400, JSON.stringify(body))
    t.equal(res.body.code, 'GATEWAY_INVALID_REQUEST')
    t.match(res.body.message, field)
  }
  const badId = await call('GET', '/api/automation/whatsapp/campaigns/42', undefined, api)
  t.same([badId.status, badId.body.code], [400, 'GATEWAY_INVALID_REQUEST'])
  // What only the service can know (the catalogue) is the service's answer, passed through.
  const unknown = await call('POST', '/api/automation/trigger/whatsapp', { ...message, template_name: 'no_such_template' }, api)
  t.same([unknown.status, unknown.body.code], [400, 'WHATSAPP_UNKNOWN_TEMPLATE'])
  await activityLog.flush()
  t.equal(await activityLog.count('whatsapp_logs'), 0)
  t.equal(await activityLog.count('crm_messages'), 0)
  t.equal(await activityLog.count('whatsapp_campaigns'), 0)
})

t.test('AiSensy notifications through the gateway at the token URL: a status applies; an inbound message lands in crm_messages and the API', async t => {
  const { call, activityLog } = await startWhatsAppStack(t)
  const sent = await call('POST', '/api/automation/trigger/whatsapp', { ...message, to_number: '+919000000002' }, api)
  await eventually(async () => (await activityLog.count('whatsapp_logs', { id: sent.body.id, status: 'sent' })) === 1)
  // As AiSensy posts it: one notification, unsigned, to the URL set in its dashboard.
  const body = `{ "id": "64f0c0ffee0000000000beef", "topic": "message.status.updated", "project_id": "p",\n  "data": { "message": { "id": "${sent.body.provider_message_id}", "status": "DELIVERED", "phone_number": "919000000002" } } }\n`
  const ok = await call('POST', `/api/webhooks/whatsapp/aisensy/${TOKEN}`, body, { 'content-type': 'application/json' })
  t.equal(ok.status, 200)
  t.same(ok.body, { received: 1, applied: 1, duplicate: 0, ignored: 0 })
  await activityLog.flush()
  t.equal((await activityLog.select('whatsapp_logs', { where: { id: sent.body.id } }))[0]?.status, 'delivered')
  t.equal((await activityLog.select('crm_messages', { where: { source_id: sent.body.id } }))[0]?.status, 'delivered')

  const simulated = await call('POST', '/api/admin/whatsapp/inbound', { from: '98765 43210', text: 'Can I move my appointment?', name: 'Asha Rao' }, { authorization: `Bearer ${ADMIN_TOKEN}` })
  t.equal(simulated.status, 202)
  t.match(simulated.body, { delivered_to: 'webhook', notification_id: /^[0-9a-f]{24}$/ })
  const inbound = await eventually(async () => {
    const res = await call('GET', '/api/automation/whatsapp/inbound?contact=%2B919876543210', undefined, api)
    return res.body.items?.length === 1 && res.body.items[0]
  })
  t.match(inbound, { direction: 'inbound', channel: 'whatsapp', contact: '+919876543210', contact_name: 'Asha Rao', content: 'Can I move my appointment?', status: 'received', provider_message_id: simulated.body.provider_message_id, mode: 'mock' })
  const badNumber = await call('POST', '/api/admin/whatsapp/inbound', { from: 'not a number', text: 'x' }, { authorization: `Bearer ${ADMIN_TOKEN}` })
  t.same([badNumber.status, badNumber.body.code], [400, 'WHATSAPP_INVALID_NUMBER'])
  const noText = await call('POST', '/api/admin/whatsapp/inbound', { from: '+919876543210' }, { authorization: `Bearer ${ADMIN_TOKEN}` })
  t.equal(noText.status, 400)
  t.match(noText.body.message, /text/)
})

t.test('a WhatsApp service that is down is a 503 at once; the OpenAPI document lists the routes', async t => {
  const { call } = await startWhatsAppStack(t, { whatsappUrl: REFUSING_URL })
  const res = await call('POST', '/api/automation/trigger/whatsapp', message, api)
  t.equal(res.status, 503)
  t.equal(res.body.code, 'GATEWAY_UPSTREAM_UNAVAILABLE')
  t.match(res.body.message, /the whatsapp service/)

  const doc = await call('GET', '/docs/json')
  for (const path of ['/api/automation/trigger/whatsapp', '/api/automation/trigger/whatsapp/bulk', '/api/automation/whatsapp/campaigns', '/api/automation/whatsapp/campaigns/{id}', '/api/automation/whatsapp/campaigns/{id}/stop', '/api/automation/whatsapp/campaigns/{id}/retry', '/api/automation/whatsapp/bulk/{id}', '/api/automation/whatsapp/stats', '/api/automation/whatsapp/templates', '/api/automation/whatsapp/inbound', '/api/admin/whatsapp/inbound', '/api/webhooks/whatsapp/aisensy/{token}']) {
    t.ok(doc.body.paths[path], path)
  }
  t.same(doc.body.paths['/api/automation/trigger/whatsapp'].post.security, [{ apiToken: [] }, { adminToken: [] }], 'the API token, or the admin token, which opens every route')
})
