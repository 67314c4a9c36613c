import t from 'tap'
import type { Test } from 'tap'
import { buildApp as buildEmail } from '@switchboard/email/app'
import { loadEmailEnv } from '@switchboard/email/config'
import { buildApp as buildPayments } from '@switchboard/payments/app'
import { loadPaymentsEnv } from '@switchboard/payments/config'
import { selfBaseUrl } from '@switchboard/service-kit/service-app'
import { createTestInfrastructure, freePort, jsonCaller } from '@switchboard/service-kit/testing'
import { createHmac } from 'node:crypto'
import { buildApp } from '../src/app.ts'
import { loadGatewayEnv } from '../src/config.ts'
import { ADMIN_TOKEN, API_TOKEN, api } from './helper.ts'

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }
const SALT = 'gateway-test-salt-123'
const link = { amount: '2500.00', purpose: 'FIFA 16', buyer_name: 'John Doe', email: 'foo@example.com', phone: '9999999999' }

/** The gateway in front of real payments and email services (WhatsApp deliberately down), on one test database. */
async function startPaymentsStack (t: Test) {
  const infra = await createTestInfrastructure(t)
  const base = { SWITCHBOARD_DATA_DIR: infra.dataDir, LOG_LEVEL: 'silent' }
  const email = await buildEmail({ env: loadEmailEnv({ ...base, EMAIL_PORT: '0' }), shared: infra, logger: false })
  infra.closeWithInfrastructure(email)
  await email.listen({ port: 0, host: '127.0.0.1' })
  const payments = await buildPayments({ env: loadPaymentsEnv({ ...base, PAYMENTS_PORT: '0', INSTAMOJO_MOCK_SALT: SALT, EMAIL_SERVICE_URL: selfBaseUrl(email), WHATSAPP_SERVICE_URL: `http://127.0.0.1:${await freePort()}` }), shared: infra, logger: false })
  infra.closeWithInfrastructure(payments)
  await payments.listen({ port: 0, host: '127.0.0.1' })
  const env = loadGatewayEnv({ ...base, GATEWAY_PORT: '0', API_TOKEN, ADMIN_TOKEN, EMAIL_SERVICE_URL: selfBaseUrl(email), PAYMENTS_SERVICE_URL: selfBaseUrl(payments) })
  const gateway = await buildApp({ env, tokens: { apiToken: API_TOKEN, adminToken: ADMIN_TOKEN }, logger: false, services: ['email', 'payments'], shared: infra })
  infra.closeWithInfrastructure(gateway)
  await gateway.listen({ port: 0, host: '127.0.0.1' })
  const url = selfBaseUrl(gateway)
  return { ...infra, call: jsonCaller(url) }
}

t.test('payment routes are admin routes: the API token does not open them', async t => {
  const { call } = await startPaymentsStack(t)
  for (const headers of [{}, api]) {
    const res = await call('POST', '/api/admin/payment-links', link, headers)
    t.same([res.status, res.body.code], [401, 'GATEWAY_UNAUTHORIZED'])
  }
})

t.test('create, read, list, simulate and stats through the gateway; Idempotency-Key replays', async t => {
  const { call, activityLog } = await startPaymentsStack(t)
  const created = await call('POST', '/api/admin/payment-links', link, { ...admin, 'idempotency-key': 'inv-1', 'x-request-id': 'trace-pay' })
  t.equal(created.status, 201)
  t.match(created.body, { status: 'pending', mode: 'mock', amount: '2500.00', payment_request_id: /^[0-9a-f]{32}$/, request_id: 'trace-pay' })
  const replay = await call('POST', '/api/admin/payment-links', link, { ...admin, 'idempotency-key': 'inv-1' })
  t.same([replay.status, replay.body.id, replay.headers['idempotent-replayed']], [201, created.body.id, 'true'])
  // The README's own example sends the amount as a JSON number: taken as its decimal text.
  const numeric = await call('POST', '/api/admin/payment-links', { ...link, amount: 99 }, admin)
  t.same([numeric.status, numeric.body.amount], [201, '99.00'])

  const one = await call('GET', `/api/admin/payment-links/${created.body.payment_request_id}`, undefined, admin)
  t.equal(one.body.id, created.body.id)
  const page = await call('GET', '/api/admin/payment-links?limit=1&offset=0&status=pending', undefined, admin)
  t.same([page.status, page.body.total, page.body.items.length, page.body.limit], [200, 2, 1, 1], 'the query reaches the service')

  const sim = await call('POST', `/api/admin/payment-links/${created.body.id}/simulate`, undefined, admin)
  t.match(sim.body, { status: 'paid', payment_status: 'Credit' })
  const stats = await call('GET', '/api/admin/payment-stats', undefined, admin)
  t.match(stats.body, { total: 2, paid: 1, pending: 1, paid_amount: '2500.00' })
  await activityLog.flush()
  t.equal(await activityLog.count('payments'), 2)
})

t.test('the gateway rejects bad input itself, naming the field, and forwards nothing', async t => {
  const { call, activityLog } = await startPaymentsStack(t)
  const res = await call('POST', '/api/admin/payment-links', { ...link, amount: '25,00' }, admin)
  t.same([res.status, res.body.code], [400, 'GATEWAY_INVALID_REQUEST'])
  t.match(res.body.message, /amount/)
  t.equal((await call('GET', '/api/admin/payment-links/not-an-id', undefined, admin)).status, 400)
  t.equal((await call('POST', `/api/admin/payment-links/${'a'.repeat(32)}/simulate`, { success_rate: 3 }, admin)).status, 400)
  // No other field is coerced: a number where text belongs, text where a boolean does.
  for (const [body, field] of [[{ ...link, purpose: 12345 }, 'body/purpose'], [{ ...link, send_email: 'true' }, 'body/send_email'], [{ ...link, amount: 99.999 }, 'body/amount']] as const) {
    const refused = await call('POST', '/api/admin/payment-links', body, admin)
    t.same([refused.status, refused.body.details?.[0]?.field], [400, field], JSON.stringify(body))
  }
  await activityLog.flush()
  t.equal(await activityLog.count('payments'), 0)
})

t.test('resend through the gateway: email goes out through the email service, WhatsApp (down) is reported failed', async t => {
  const { call, activityLog } = await startPaymentsStack(t)
  const created = (await call('POST', '/api/admin/payment-links', link, admin)).body
  const res = await call('POST', `/api/admin/payment-links/${created.id}/resend`, undefined, admin)
  t.equal(res.status, 200)
  t.match(res.body, { sent: 1, channels: { email: { status: 'sent', id: String }, whatsapp: { status: 'failed', error: /could not be reached/ } } })
  await activityLog.flush()
  const [mail] = await activityLog.select('email_logs', { where: { id: res.body.channels.email.id } })
  t.match(mail, { to_email: 'foo@example.com', subject: /FIFA 16/ })
})

t.test('the Instamojo webhook reaches the service byte for byte: signed is applied, tampered is 401', async t => {
  const { call, activityLog } = await startPaymentsStack(t)
  const created = (await call('POST', '/api/admin/payment-links', link, admin)).body
  const fields: Record<string, string> = { amount: '2500.00', buyer: 'foo@example.com', buyer_name: 'John Doe', buyer_phone: '+919999999999', currency: 'INR', fees: '47.50', longurl: created.longurl, payment_id: 'MOJO6k23000A12345678', payment_request_id: created.payment_request_id, purpose: 'FIFA 16', shorturl: '', status: 'Credit' }
  const message = Object.keys(fields).sort().map(k => fields[k]).join('|')
  const body = `${new URLSearchParams(fields).toString()}&mac=${createHmac('sha1', SALT).update(message).digest('hex')}`
  const form = { 'content-type': 'application/x-www-form-urlencoded' }

  const tampered = await call('POST', '/api/webhooks/payment/webhook', body.replace('status=Credit', 'status=Failed'), form)
  t.same([tampered.status, tampered.body.code], [401, 'PAYMENTS_WEBHOOK_UNAUTHORIZED'])
  const ok = await call('POST', '/api/webhooks/payment/webhook', body, form)
  t.same([ok.status, ok.body.applied], [200, true])
  const replay = await call('POST', '/api/webhooks/payment/webhook', body, form)
  t.same([replay.status, replay.body.applied], [200, false])
  await activityLog.flush()
  t.match((await activityLog.select('payments', { where: { id: created.id } }))[0], { status: 'paid', payment_id: 'MOJO6k23000A12345678' })
})

t.test('the OpenAPI document lists the payment routes', async t => {
  const { call } = await startPaymentsStack(t)
  const doc = await call('GET', '/docs/json')
  for (const path of ['/api/admin/payment-links', '/api/admin/payment-links/{id}', '/api/admin/payment-links/{id}/resend', '/api/admin/payment-links/{id}/simulate', '/api/admin/payment-stats', '/api/webhooks/payment/webhook']) t.ok(doc.body.paths[path], path)
  const ready = await call('GET', '/ready')
  t.match(ready.body.checks, { payments: { ok: true } })
})
