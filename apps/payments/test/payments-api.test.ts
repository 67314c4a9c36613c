import t from 'tap'
import { startRecorder } from '@switchboard/service-kit/testing'
import { computeMac } from '../src/instamojo-webhooks.ts'
import { encode, eventually, form, MOCK_SALT, startPaymentsApp, type PaymentsTestApp } from './helper.ts'

const link = (extra: Record<string, unknown> = {}) => ({ amount: '2500.00', purpose: 'FIFA 16', buyer_name: 'John Doe', email: 'foo@example.com', phone: '9999999999', ...extra })

const rowOf = async (app: PaymentsTestApp, id: string): Promise<Record<string, any>> => (await app.activityLog.select('payments', { where: { id } }))[0]!

/** The webhook Instamojo would send for a payment on this link, signed with `salt`. */
function webhookFor (l: { payment_request_id: string, amount: string, longurl: string }, salt: string, extra: Record<string, string> = {}) {
  const fields: Record<string, string> = {
    amount: l.amount,
    buyer: 'foo@example.com',
    buyer_name: 'John Doe',
    buyer_phone: '+919999999999',
    currency: 'INR',
    fees: '47.50',
    longurl: l.longurl,
    payment_id: 'MOJO6k23000A12345678',
    payment_request_id: l.payment_request_id,
    purpose: 'FIFA 16',
    shorturl: '',
    status: 'Credit',
    ...extra
  }
  return { fields, body: `${encode(fields)}&mac=${computeMac(fields, salt)}` }
}

t.test('create_payment_link: 201, one payments row in mock mode, the webhook pointed at this service', async t => {
  const app = await startPaymentsApp(t)
  const res = await app.call('POST', '/payment-links', link(), { 'x-request-id': 'req-pay-1' })
  t.equal(res.status, 201)
  t.match(res.body, { status: 'pending', mode: 'mock', amount: '2500.00', currency: 'INR', phone: '+919999999999', payment_request_id: /^[0-9a-f]{32}$/, longurl: /\/instamojo\/@switchboard\/[0-9a-f]{32}$/, request_id: 'req-pay-1' })
  const row = await eventually(() => rowOf(app, res.body.id))
  t.match(row, { mode: 'mock', status: 'pending', amount: '2500.00', purpose: 'FIFA 16', payment_request_id: res.body.payment_request_id, request_id: 'req-pay-1', idempotency_key: null })
  t.type(row.latency_ms, 'number')
  // What Instamojo (the emulator) was asked: our own receiver as webhook, one payment only.
  const token = (await app.call('POST', '/instamojo/oauth2/token/', encode({ grant_type: 'client_credentials', client_id: 'a', client_secret: 'b' }), form)).body.access_token
  const pr = await app.call('GET', `/instamojo/v2/payment_requests/${res.body.payment_request_id}/`, undefined, { authorization: `Bearer ${token}` })
  t.equal(pr.body.webhook, `${app.url}/webhooks/instamojo`)
  t.equal(pr.body.allow_repeated_payments, false)
})

t.test('simulate_payment_completion: paid with fees; the webhook that follows changes nothing', async t => {
  const app = await startPaymentsApp(t)
  const created = (await app.call('POST', '/payment-links', link())).body
  const pending = await app.call('GET', `/payment-links/${created.payment_request_id}`)
  t.match(pending.body, { id: created.id, status: 'pending' })
  t.match(pending.body.shorturl, /\/instamojo\/s\/\w{5}$/, 'the short URL Instamojo filled in later is picked up')
  const sim = await app.call('POST', `/payment-links/${created.id}/simulate`)
  t.equal(sim.status, 200)
  t.match(sim.body, { id: created.id, status: 'paid', payment_status: 'Credit', payment_id: /^MOJO/, amount: '2500.00', fees: '47.50', failure: null })
  const row = await eventually(async () => { const r = await rowOf(app, created.id); return r?.status === 'paid' && r })
  t.match(row, { payment_id: sim.body.payment_id, fees: '47.50', error: null })
  t.ok(row.paid_at, 'paid_at set')
  const again = await app.call('POST', `/payment-links/${created.id}/simulate`, {})
  t.same([again.status, again.body.code], [409, 'PAYMENTS_ALREADY_PAID'])
  const status = await app.call('GET', `/payment-links/${created.payment_request_id}`)
  t.match(status.body, { id: created.id, status: 'paid', payment_id: sim.body.payment_id, shorturl: pending.body.shorturl })
})

t.test('a failed payment is failed; the buyer may try again and then it is paid; success_rate 0 fails', async t => {
  const app = await startPaymentsApp(t)
  const created = (await app.call('POST', '/payment-links', link({ amount: '10' }))).body
  const failed = await app.call('POST', `/payment-links/${created.id}/simulate`, { outcome: 'failure' })
  t.match(failed.body, { status: 'failed', payment_status: 'Failed', failure: String })
  t.match(await rowOf(app, created.id), { status: 'failed', error_code: 'payment_failed' })
  const paid = await app.call('POST', `/payment-links/${created.id}/simulate`, { outcome: 'success' })
  t.equal(paid.body.status, 'paid')
  const other = (await app.call('POST', '/payment-links', link({ amount: '10' }))).body
  const zero = await app.call('POST', `/payment-links/${other.id}/simulate`, { success_rate: 0 })
  t.equal(zero.body.status, 'failed')
  const bad = await app.call('POST', `/payment-links/${other.id}/simulate`, { success_rate: 1.5 })
  t.same([bad.status, bad.body.code], [400, 'PAYMENTS_INVALID_REQUEST'])
  t.match(bad.body.message, /success_rate/)
})

t.test('magic amounts: 13.13 always fails, 11.11 always works, 19.19 fails the create and is logged', async t => {
  const app = await startPaymentsApp(t, { simulation: { successRate: 0 } })
  const declined = await app.call('POST', '/payment-links', link({ amount: '13.13' }))
  t.equal(declined.status, 502, 'at a zero success rate even creating fails…')
  const always = await app.call('POST', '/payment-links', link({ amount: '11.11' }))
  t.equal(always.status, 201, '…but not for 11.11')
  t.equal((await app.call('POST', `/payment-links/${always.body.id}/simulate`, {})).body.status, 'paid')

  const normal = await startPaymentsApp(t)
  const thirteen = (await normal.call('POST', '/payment-links', link({ amount: '13.13' }))).body
  t.equal((await normal.call('POST', `/payment-links/${thirteen.id}/simulate`, { outcome: 'success' })).body.status, 'failed')
  const refused = await normal.call('POST', '/payment-links', link({ amount: '19.19' }))
  t.same([refused.status, refused.body.code], [502, 'PAYMENTS_PROVIDER_ERROR'])
  t.match(refused.body.message, /Instamojo answered HTTP 500/)
  t.match(await rowOf(normal, refused.body.details.id), { status: 'failed', error_code: 'unavailable', payment_request_id: null, amount: '19.19' })
})

t.test('provider failures are logged as failed and mapped; rate limits keep retry-after', async t => {
  const app = await startPaymentsApp(t)
  const res = await app.call('POST', '/payment-links', link(), { 'x-switchboard-outcome': 'failure' })
  t.same([res.status, res.body.code], [502, 'PAYMENTS_PROVIDER_ERROR'])
  t.match(await rowOf(app, res.body.details.id), { status: 'failed', error_code: 'unavailable' })
  const limited = await app.call('POST', '/payment-links', link(), { 'x-switchboard-outcome': 'rate_limited' })
  t.same([limited.status, limited.body.code, limited.headers['retry-after']], [429, 'PAYMENTS_PROVIDER_RATE_LIMITED', '1'])
})

t.test('bad input is a 400 that names the field, and writes no row', async t => {
  const app = await startPaymentsApp(t)
  const cases: Array<[unknown, RegExp]> = [
    [{ purpose: 'p' }, /amount/],
    [link({ amount: '8.99' }), /amount must be at least 9\.00/],
    [link({ amount: '200000.01' }), /amount must be at most 200000\.00/],
    [link({ amount: '12.345' }), /amount/],
    [link({ amount: '1e3' }), /amount/],
    [link({ amount: -10 }), /amount/],
    [link({ purpose: 'x'.repeat(31) }), /purpose/],
    [link({ email: 'not-an-email' }), /email/],
    [link({ phone: 'call me' }), /phone/],
    [link({ surprise: 1 }), /additional properties/]
  ]
  for (const [body, field] of cases) {
    const res = await app.call('POST', '/payment-links', body)
    t.equal(res.status, 400, JSON.stringify(body))
    t.equal(res.body.code, 'PAYMENTS_INVALID_REQUEST')
    t.match(res.body.message, field)
  }
  t.equal((await app.call('POST', '/payment-links', link({ amount: 2500 }))).body.amount, '2500.00', 'a JSON number is taken as its decimal text')
  await app.activityLog.flush()
  t.equal(await app.activityLog.count('payments'), 1, 'only the valid one was written')
})

t.test('Idempotency-Key: the same key returns the same link, even concurrently; another body is a 422', async t => {
  const app = await startPaymentsApp(t)
  const key = { 'idempotency-key': 'order-42' }
  const all = await Promise.all([1, 2, 3].map(() => app.call('POST', '/payment-links', link(), key)))
  const created = all.filter(r => r.status === 201)
  t.same(new Set(created.map(r => r.body.id)).size, 1, 'one link')
  t.ok(all.every(r => r.status === 201 || (r.status === 409 && r.body.code === 'PAYMENTS_IDEMPOTENCY_KEY_IN_USE')), 'the others: the same link or "still running"')
  const later = await app.call('POST', '/payment-links', link(), key)
  t.same([later.status, later.body.id, later.headers['idempotent-replayed']], [201, created[0]!.body.id, 'true'])
  const reused = await app.call('POST', '/payment-links', link({ amount: '99.00' }), key)
  t.same([reused.status, reused.body.code], [422, 'PAYMENTS_IDEMPOTENCY_KEY_REUSED'])
  await app.activityLog.flush()
  t.equal(await app.activityLog.count('payments'), 1)

  // A failed attempt keeps no key, so retrying with the same key tries again.
  const failed = await app.call('POST', '/payment-links', link(), { 'idempotency-key': 'order-43', 'x-switchboard-outcome': 'failure' })
  t.equal(failed.status, 502)
  t.equal((await app.call('POST', '/payment-links', link(), { 'idempotency-key': 'order-43' })).status, 201)
})

t.test('process_webhook: a signed Credit pays the link; a replay, a tamper or a forgery changes nothing', async t => {
  const app = await startPaymentsApp(t)
  const created = (await app.call('POST', '/payment-links', link())).body
  const { fields, body } = webhookFor(created, MOCK_SALT)

  const tampered = body.replace('amount=2500.00', 'amount=25.00')
  const forged = webhookFor(created, 'not-the-salt').body
  const unsigned = encode(fields)
  for (const [name, b] of [['tampered', tampered], ['forged', forged], ['unsigned', unsigned]] as const) {
    const res = await app.call('POST', '/webhooks/instamojo', b, form)
    t.equal(res.status, 401, name)
    t.same(res.body.code, 'PAYMENTS_WEBHOOK_UNAUTHORIZED')
    t.equal(res.body.message, 'Unauthorized')
  }
  t.equal((await app.call('POST', '/webhooks/instamojo', JSON.stringify(fields), { 'content-type': 'application/json' })).status, 415)
  const { status: _status, ...statusless } = fields
  const noStatus = await app.call('POST', '/webhooks/instamojo', `${encode(statusless)}&mac=${computeMac(statusless, MOCK_SALT)}`, form)
  t.same([noStatus.status, noStatus.body.code], [400, 'PAYMENTS_WEBHOOK_INVALID_BODY'])
  t.match(noStatus.body.message, /has no status field/, 'a signed post without a status says so, not "Unknown payment status undefined"')
  const huge = await app.call('POST', '/webhooks/instamojo', `${body}&padding=${'x'.repeat(100 * 1024)}`, form)
  t.same([huge.status, huge.body.code], [413, 'PAYMENTS_PAYLOAD_TOO_LARGE'])
  t.match(huge.body.message, /at most 64 KB/, 'naming the limit that applies to this route, not the server\'s')
  t.equal((await rowOf(app, created.id)).status, 'pending', 'nothing changed')

  const ok = await app.call('POST', '/webhooks/instamojo', body, form)
  t.equal(ok.status, 200)
  t.same(ok.body, { received: true, payment_request_id: created.payment_request_id, payment_id: fields.payment_id, status: 'Credit', applied: true })
  await app.activityLog.flush()
  const paid = await rowOf(app, created.id)
  t.match(paid, { status: 'paid', payment_id: fields.payment_id, fees: '47.50' })

  const replay = await app.call('POST', '/webhooks/instamojo', body, form)
  t.same([replay.status, replay.body.applied], [200, false])
  const late = await app.call('POST', '/webhooks/instamojo', webhookFor(created, MOCK_SALT, { status: 'Failed', payment_id: 'MOJO6k23000B00000000' }).body, form)
  t.same([late.status, late.body.applied], [200, false], 'a Failed after Credit does not move the row back')
  await app.activityLog.flush()
  t.same(await rowOf(app, created.id), paid, 'the row is exactly as after the first delivery')
})

t.test('process_webhook: amount mismatches and unknown links change nothing; bad bodies are 400', async t => {
  const app = await startPaymentsApp(t)
  const created = (await app.call('POST', '/payment-links', link())).body
  const cheap = await app.call('POST', '/webhooks/instamojo', webhookFor(created, MOCK_SALT, { amount: '9.00' }).body, form)
  t.match(cheap.body, { applied: false, reason: /does not match/ })
  const unknown = await app.call('POST', '/webhooks/instamojo', webhookFor({ ...created, payment_request_id: 'a'.repeat(32) }, MOCK_SALT).body, form)
  t.match(unknown.body, { applied: false, reason: /no payment link/ })
  const weird = await app.call('POST', '/webhooks/instamojo', webhookFor(created, MOCK_SALT, { status: 'Refunded' }).body, form)
  t.equal(weird.status, 400)
  const twice = await app.call('POST', '/webhooks/instamojo', `${webhookFor(created, MOCK_SALT).body}&status=Credit`, form)
  t.equal(twice.status, 400)
  t.equal((await rowOf(app, created.id)).status, 'pending')
})

t.test('list and stats: paged, filtered by status, amounts summed exactly', async t => {
  const app = await startPaymentsApp(t)
  const ids: string[] = []
  for (const amount of ['10.10', '20.20', '30.30']) ids.push((await app.call('POST', '/payment-links', link({ amount }))).body.id)
  await app.call('POST', `/payment-links/${ids[0]}/simulate`, { outcome: 'success' })
  await app.call('POST', `/payment-links/${ids[1]}/simulate`, { outcome: 'success' })
  await app.call('POST', `/payment-links/${ids[2]}/simulate`, { outcome: 'failure' })
  await app.call('POST', '/payment-links', link(), { 'x-switchboard-outcome': 'failure' })

  const page = await app.call('GET', '/payment-links?limit=2&offset=0')
  t.same([page.body.total, page.body.items.length, page.body.limit, page.body.offset], [4, 2, 2, 0])
  const paid = await app.call('GET', '/payment-links?status=paid')
  t.same(paid.body.items.map((i: { id: string }) => i.id).sort(), [ids[0], ids[1]].sort())
  t.equal((await app.call('GET', '/payment-links?status=bogus')).status, 400)

  const stats = await app.call('GET', '/payment-stats')
  t.equal(stats.status, 200)
  t.match(stats.body, { total: 4, created: 3, pending: 0, paid: 2, failed: 2, errors: 1, outcomes: { declined: 1 }, paid_amount: '30.30', by_mode: { mock: 4 }, by_status: { paid: 2, failed: 2 }, last_24h: 4 })
  t.equal(stats.body.conversion_rate, 0.6667)
})

t.test('resend: by email and WhatsApp through their services; an unreachable one is reported, not fatal', async t => {
  // Stand-ins for the two services: each answers 202 with a JSON body and keeps what it got.
  const email = await startRecorder(t, (_request, res) => { res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ success: true, id: 'email-row-1' })) })
  const whatsapp = await startRecorder(t, (_request, res) => { res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 'wa-1' })) })
  const app = await startPaymentsApp(t, { env: { EMAIL_SERVICE_URL: email.origin, WHATSAPP_SERVICE_URL: whatsapp.origin } })
  const created = (await app.call('POST', '/payment-links', link({ buyer_name: 'Asha' }))).body
  const res = await app.call('POST', `/payment-links/${created.id}/resend`, {}, { 'x-request-id': 'resend-1' })
  t.equal(res.status, 200)
  t.same(res.body, { id: created.id, longurl: created.longurl, sent: 2, channels: { email: { status: 'sent', id: 'email-row-1' }, whatsapp: { status: 'sent', id: 'wa-1' } } })
  t.match(email.received[0], { url: '/emails', headers: { 'x-request-id': 'resend-1' } })
  t.match(JSON.parse(email.received[0]!.body), { to_email: 'foo@example.com', subject: /FIFA 16/, content: new RegExp(created.longurl) })
  t.match(whatsapp.received[0], { url: '/messages' })
  t.match(JSON.parse(whatsapp.received[0]!.body), { to_number: '+919999999999', template_name: 'payment_reminder', params: ['Asha', '2500.00', created.longurl] })

  const down = await startPaymentsApp(t, { env: { EMAIL_SERVICE_URL: email.origin, WHATSAPP_SERVICE_URL: 'http://127.0.0.1:9' } })
  const l2 = (await down.call('POST', '/payment-links', link())).body
  const partial = await down.call('POST', `/payment-links/${l2.id}/resend`)
  t.equal(partial.status, 200)
  t.match(partial.body, { sent: 1, channels: { email: { status: 'sent' }, whatsapp: { status: 'failed', error: /WhatsApp service at http:\/\/127\.0\.0\.1:9 could not be reached/ } } })
  const onlyWhatsapp = await down.call('POST', `/payment-links/${l2.id}/resend`, { channels: ['whatsapp'] })
  t.same([onlyWhatsapp.status, onlyWhatsapp.body.code], [502, 'PAYMENTS_RESEND_FAILED'])

  const noContact = (await app.call('POST', '/payment-links', { amount: '10', purpose: 'anonymous' })).body
  t.same((await app.call('POST', `/payment-links/${noContact.id}/resend`)).body.code, 'PAYMENTS_NO_CONTACT')
  await app.call('POST', `/payment-links/${created.id}/simulate`, { outcome: 'success' })
  t.same((await app.call('POST', `/payment-links/${created.id}/resend`)).body.code, 'PAYMENTS_ALREADY_PAID')
  t.same((await app.call('GET', '/payment-links/00000000-0000-4000-8000-000000000000')).body.code, 'PAYMENTS_LINK_NOT_FOUND')
})

t.test('latency is simulated (0.4–1.0 s by default), waiting on a timer', async t => {
  const app = await startPaymentsApp(t, { simulation: { latencyMs: { min: 400, max: 400 } } })
  const started = Date.now()
  const res = await app.call('POST', '/payment-links', link())
  t.ok(Date.now() - started >= 400, 'took at least the simulated latency')
  t.ok(res.body.latency_ms >= 400)
  const { SERVICES } = await import('@switchboard/service-kit/services')
  t.same(SERVICES.payments.simulation.latencyMs, { min: 400, max: 1000 })
  t.equal(SERVICES.payments.simulation.successRate, 0.98)
})

t.test('the switch: live mode without credentials is a clear 503 naming the variables, never an emulator link', async t => {
  const app = await startPaymentsApp(t)
  // Even with the fallback flag forced on in the settings, payments never fall back to the emulator.
  await app.runtime.update('payments', { mode: 'live', fallback: true }, 'test')
  const res = await app.call('POST', '/payment-links', link())
  t.same([res.status, res.body.code], [503, 'PROVIDER_NOT_CONFIGURED'])
  t.match(res.body.message, /INSTAMOJO_CLIENT_ID and INSTAMOJO_CLIENT_SECRET.*INSTAMOJO_API_KEY and INSTAMOJO_AUTH_TOKEN/)
  const ready = await app.call('GET', '/ready')
  t.equal(ready.status, 503)
  t.match(ready.body.checks.provider, { ok: false, message: /INSTAMOJO_CLIENT_ID/ })
  await app.activityLog.flush()
  t.equal(await app.activityLog.count('payments'), 0)

  const half = await startPaymentsApp(t, { mockMode: false, env: { INSTAMOJO_API_KEY: 'k' } })
  const halfRes = await half.call('POST', '/payment-links', link())
  t.same([halfRes.status, halfRes.body.message], [503, 'Instamojo is in live mode but INSTAMOJO_AUTH_TOKEN is not set (its partner is). Set it, or switch payments back to mock mode.'])
})

for (const [api, creds] of [
  ['v2', { INSTAMOJO_CLIENT_ID: 'test_live_client', INSTAMOJO_CLIENT_SECRET: 'live-secret' }],
  ['v1.1', { INSTAMOJO_API_KEY: 'live_key', INSTAMOJO_AUTH_TOKEN: 'live_token' }]
] as const) {
  t.test(`the switch: live mode (${api}) talks to the configured Instamojo, same code path; no simulation, live salt only`, async t => {
    // A second emulator stands in for test.instamojo.com, signing with the live account's salt.
    const instamojo = await startPaymentsApp(t, { env: { INSTAMOJO_MOCK_SALT: 'live-account-salt' } })
    const app = await startPaymentsApp(t, { mockMode: false, env: { ...creds, INSTAMOJO_BASE_URL: `${instamojo.url}/instamojo`, INSTAMOJO_SALT: 'live-account-salt' } })
    const res = await app.call('POST', '/payment-links', link())
    t.equal(res.status, 201)
    t.equal(res.body.mode, 'live')
    t.match(res.body.longurl, new RegExp(`^${instamojo.url}/instamojo/@switchboard/`), 'the link is the "real" provider\'s')
    t.equal((await rowOf(app, res.body.id)).mode, 'live')
    t.equal((await app.call('GET', '/ready')).status, 200)

    const sim = await app.call('POST', `/payment-links/${res.body.id}/simulate`, {})
    t.same([sim.status, sim.body.code], [409, 'PAYMENTS_SIMULATION_LIVE_MODE'])
    t.match(sim.body.message, /never simulated/)

    // No PAYMENTS_WEBHOOK_URL: the buyer pays on the provider, and reading the status catches up.
    await instamojo.call('POST', `/instamojo/_switchboard/payment_requests/${res.body.payment_request_id}/complete`, { outcome: 'failure' })
    t.equal((await app.call('GET', `/payment-links/${res.body.id}`)).body.status, 'failed')

    const mockSigned = webhookFor(res.body, MOCK_SALT)
    t.equal((await app.call('POST', '/webhooks/instamojo', mockSigned.body, form)).status, 401, 'the emulator\'s salt never opens a live link')
    const liveSigned = webhookFor(res.body, 'live-account-salt')
    const ok = await app.call('POST', '/webhooks/instamojo', liveSigned.body, form)
    t.same([ok.status, ok.body.applied], [200, true])
    t.equal((await app.call('GET', `/payment-links/${res.body.id}`)).body.status, 'paid')
  })
}

t.test('live webhooks without INSTAMOJO_SALT are a 503 naming it (Instamojo retries)', async t => {
  const instamojo = await startPaymentsApp(t)
  const app = await startPaymentsApp(t, { mockMode: false, env: { INSTAMOJO_CLIENT_ID: 'a', INSTAMOJO_CLIENT_SECRET: 'b', INSTAMOJO_BASE_URL: `${instamojo.url}/instamojo` } })
  const created = (await app.call('POST', '/payment-links', link())).body
  const res = await app.call('POST', '/webhooks/instamojo', webhookFor(created, MOCK_SALT).body, form)
  t.same([res.status, res.body.code], [503, 'PROVIDER_NOT_CONFIGURED'])
  t.match(res.body.message, /INSTAMOJO_SALT/)
  const ready = await app.call('GET', '/ready')
  t.match(ready.body.checks.webhooks, { ok: false, message: /INSTAMOJO_SALT/ })
})

t.test('list paging bounds are validated, not passed to the database', async t => {
  const app = await startPaymentsApp(t)
  for (const q of ['offset=1e308', 'offset=123456789012345678901234567890', 'offset=-1', 'limit=0', 'limit=501']) {
    const res = await app.call('GET', `/payment-links?${q}`)
    t.same([res.status, res.body.code], [400, 'PAYMENTS_INVALID_REQUEST'], q)
  }
})
