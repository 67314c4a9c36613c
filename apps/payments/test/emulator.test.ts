import t from 'tap'
import { verifyMac } from '../src/instamojo-webhooks.ts'
import { encode, eventually, form, MOCK_SALT, startPaymentsApp, startReceiver, v1Auth, v2Token } from './helper.ts'

const ISO_MICRO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/
const REQUEST_ID = /^[0-9a-f]{32}$/
const PAYMENT_ID = /^MOJO\d[a-l]\d{5}[A-Z]\d{8}$/

t.test('OAuth2 client credentials: the token, and errors in the OAuth shape', async t => {
  const { call } = await startPaymentsApp(t)
  const res = await call('POST', '/instamojo/oauth2/token/', encode({ grant_type: 'client_credentials', client_id: 'test_abc', client_secret: 'secret' }), form)
  t.equal(res.status, 200)
  t.match(res.body, { access_token: /^\w{20,}$/, token_type: 'Bearer', expires_in: 36000, scope: /payment-requests:write/ })
  t.notOk('refresh_token' in res.body, 'an app\'s own token has no refresh token')
  const badGrant = await call('POST', '/instamojo/oauth2/token/', encode({ grant_type: 'authorization_code', client_id: 'a', client_secret: 'b' }), form)
  t.same([badGrant.status, badGrant.body], [400, { error: 'unsupported_grant_type' }])
  const noSecret = await call('POST', '/instamojo/oauth2/token/', encode({ grant_type: 'client_credentials', client_id: 'a' }), form)
  t.same([noSecret.status, noSecret.body], [401, { error: 'invalid_client' }])
  const basic = await call('POST', '/instamojo/oauth2/token/', encode({ grant_type: 'client_credentials' }), { ...form, authorization: `Basic ${Buffer.from('test_abc:secret').toString('base64')}` })
  t.match([basic.status, basic.body], [200, { access_token: /^\w{20,}$/ }], 'the client\'s id and secret as HTTP Basic (RFC 6749 §2.3.1)')
})

t.test('OAuth2 for apps acting for a user: the password grant, then refresh_token (providers.md §3)', async t => {
  const { call } = await startPaymentsApp(t)
  const client = { client_id: 'test_app', client_secret: 'secret' }
  const user = await call('POST', '/instamojo/oauth2/token/', encode({ grant_type: 'password', username: 'seller@example.com', password: 'their-password', ...client }), form)
  t.equal(user.status, 200)
  t.match(user.body, { access_token: /^\w{20,}$/, token_type: 'Bearer', expires_in: 36000, refresh_token: /^\w{20,}$/ })
  const refreshed = await call('POST', '/instamojo/oauth2/token/', encode({ grant_type: 'refresh_token', refresh_token: user.body.refresh_token, ...client }), form)
  t.match([refreshed.status, refreshed.body], [200, { access_token: /^\w{20,}$/, refresh_token: /^\w{20,}$/ }])
  t.not(refreshed.body.access_token, user.body.access_token)
  const created = await call('POST', '/instamojo/v2/payment_requests/', encode({ amount: '10', purpose: 'p' }), { ...form, authorization: `Bearer ${refreshed.body.access_token}` })
  t.equal(created.status, 201, 'the refreshed token works')
  t.same((await call('POST', '/instamojo/oauth2/token/', encode({ grant_type: 'password', username: 'seller@example.com', ...client }), form)).body, { error: 'invalid_request' }, 'a password grant without the password')
})

t.test('v2 create (form body): 201 with the payment-request object as Instamojo shapes it', async t => {
  const { call, url } = await startPaymentsApp(t)
  const auth = await v2Token(call)
  const res = await call('POST', '/instamojo/v2/payment_requests/', encode({ amount: '2500', purpose: 'FIFA 16', buyer_name: 'John Doe', email: 'foo@example.com', phone: '9999999999', redirect_url: 'https://example.com/done', webhook: 'https://example.com/hook', allow_repeated_payments: 'False' }), { ...auth, ...form })
  t.equal(res.status, 201)
  const pr = res.body
  t.match(pr, {
    id: REQUEST_ID,
    phone: '+919999999999',
    email: 'foo@example.com',
    buyer_name: 'John Doe',
    amount: '2500.00',
    purpose: 'FIFA 16',
    status: 'Pending',
    payments: [],
    send_sms: false,
    send_email: false,
    sms_status: null,
    email_status: null,
    shorturl: null,
    redirect_url: 'https://example.com/done',
    webhook: 'https://example.com/hook',
    allow_repeated_payments: false,
    mark_fulfilled: true,
    created_at: ISO_MICRO,
    modified_at: ISO_MICRO
  })
  t.equal(pr.longurl, `${url}/instamojo/@switchboard/${pr.id}`)
  t.equal(pr.resource_uri, `${url}/instamojo/v2/payment_requests/${pr.id}/`)
  t.match(pr.user, new RegExp(`^${url}/instamojo/v2/users/[0-9a-f]{32}/$`))
  t.same(Object.keys(pr).sort(), ['allow_repeated_payments', 'amount', 'buyer_name', 'created_at', 'email', 'email_status', 'expires_at', 'id', 'longurl', 'mark_fulfilled', 'modified_at', 'payments', 'phone', 'purpose', 'redirect_url', 'resource_uri', 'scheduled_at', 'send_email', 'send_sms', 'shorturl', 'sms_status', 'status', 'user', 'webhook'])

  const again = await call('GET', `/instamojo/v2/payment_requests/${pr.id}/`, undefined, auth)
  t.equal(again.status, 200)
  t.match(again.body.shorturl, new RegExp(`^${url}/instamojo/s/\\w{5}$`), 'the short URL is filled in after creation')
  const short = await call('GET', new URL(again.body.shorturl).pathname)
  t.equal(short.status, 302)
  t.equal(short.headers.location, pr.longurl)
})

t.test('the reference\'s examples, byte for byte and in its key order (providers.md §3)', async t => {
  const { call } = await startPaymentsApp(t)
  // The token: {access_token, token_type "Bearer", expires_in 36000, scope}, in that order.
  const token = await call('POST', '/instamojo/oauth2/token/', encode({ grant_type: 'client_credentials', client_id: 'test_abc', client_secret: 'secret' }), form)
  t.same(Object.keys(token.body), ['access_token', 'token_type', 'expires_in', 'scope'])
  t.equal(token.text, `{"access_token":"${token.body.access_token}","token_type":"Bearer","expires_in":36000,"scope":"${token.body.scope}"}`)
  const auth = { authorization: `Bearer ${token.body.access_token}` }

  // The v2 payment request's fields in the order the reference lists them (the Java SDK's model).
  const created = await call('POST', '/instamojo/v2/payment_requests/', encode({ amount: '2500', purpose: 'FIFA 16', buyer_name: 'John Doe', email: 'foo@example.com', phone: '9999999999' }), { ...auth, ...form })
  t.equal(created.status, 201)
  t.same(Object.keys(created.body), ['id', 'user', 'phone', 'email', 'buyer_name', 'amount', 'purpose', 'status', 'payments', 'send_sms', 'send_email', 'sms_status', 'email_status', 'shorturl', 'longurl', 'redirect_url', 'webhook', 'scheduled_at', 'expires_at', 'allow_repeated_payments', 'mark_fulfilled', 'created_at', 'modified_at', 'resource_uri'])
  t.match(created.text, /^\{"id":"[0-9a-f]{32}","user":"[^"]+","phone":"\+919999999999","email":"foo@example.com","buyer_name":"John Doe","amount":"2500.00","purpose":"FIFA 16","status":"Pending","payments":\[\],"send_sms":false,"send_email":false,"sms_status":null,"email_status":null,"shorturl":null,/)

  // v1.1: {"success":true,"payment_request":{…}} with the Ruby SDK sample's fields in its order.
  const v1 = await call('POST', '/instamojo/api/1.1/payment-requests/', encode({ amount: '2500', purpose: 'FIFA 16' }), { ...v1Auth, ...form })
  t.same(Object.keys(v1.body), ['success', 'payment_request'])
  t.same(Object.keys(v1.body.payment_request), ['id', 'phone', 'email', 'buyer_name', 'amount', 'purpose', 'status', 'send_sms', 'send_email', 'sms_status', 'email_status', 'shorturl', 'longurl', 'redirect_url', 'webhook', 'created_at', 'modified_at', 'allow_repeated_payments'])
  t.match(v1.text, /^\{"success":true,"payment_request":\{"id":"[0-9a-f]{32}","phone":null,"email":null,"buyer_name":null,"amount":"2500.00","purpose":"FIFA 16","status":"Pending",/)

  // The list envelope: {count, next, previous, payment_requests}.
  const list = await call('GET', '/instamojo/v2/payment_requests/', undefined, auth)
  t.same(Object.keys(list.body), ['count', 'next', 'previous', 'payment_requests'])

  // The recorded error bodies.
  const low = await call('POST', '/instamojo/v2/payment_requests/', encode({ amount: '8', purpose: 'p' }), { ...auth, ...form })
  t.equal(low.status, 400)
  t.equal(low.text, '{"success":false,"message":{"amount":["Ensure this value is greater than or equal to 9."]}}')
  const missing = await call('GET', `/instamojo/v2/payment_requests/${'0'.repeat(32)}/`, undefined, auth)
  t.equal(missing.status, 404)
  t.equal(missing.text, '{"success":false,"message":"Not found."}')
})

t.test('v2 create accepts JSON too; send_email asks for an email and shows delivery statuses', async t => {
  const { call } = await startPaymentsApp(t)
  const auth = await v2Token(call)
  const res = await call('POST', '/instamojo/v2/payment_requests/', { amount: 99.5, purpose: 'Book', email: 'a@example.com', send_email: true }, auth)
  t.equal(res.status, 201)
  t.match(res.body, { amount: '99.50', send_email: true, email_status: 'Pending', status: 'Pending' })
  const later = await call('GET', `/instamojo/v2/payment_requests/${res.body.id}/`, undefined, auth)
  t.match(later.body, { email_status: 'Sent', status: 'Sent' })
  const noEmail = await call('POST', '/instamojo/v2/payment_requests/', { amount: '10', purpose: 'x', send_email: true }, auth)
  t.same(noEmail.body, { success: false, message: { email: ['Email is required if send_email is true.'] } })
})

t.test('validation answers DRF field maps in Instamojo\'s envelope', async t => {
  const { call } = await startPaymentsApp(t)
  const auth = await v2Token(call)
  const create = (body: Record<string, string>) => call('POST', '/instamojo/v2/payment_requests/', encode(body), { ...auth, ...form })
  const low = await create({ amount: '8.99', purpose: 'p' })
  t.equal(low.status, 400)
  t.same(low.body, { success: false, message: { amount: ['Ensure this value is greater than or equal to 9.'] } })
  t.same((await create({ amount: '200000.01', purpose: 'p' })).body.message, { amount: ['Ensure this value is less than or equal to 200000.'] })
  t.same((await create({ amount: '200000.00', purpose: 'p' })).status, 201, 'the maximum itself is allowed')
  t.same((await create({ amount: '9.00', purpose: 'p' })).status, 201, 'the minimum itself is allowed')
  t.same((await create({ amount: '10.123', purpose: 'p' })).body.message, { amount: ['Ensure that there are no more than 2 decimal places.'] })
  const several = await create({ amount: 'ten', email: 'nope', phone: '12', redirect_url: 'ftp://x' })
  t.same(Object.keys(several.body.message).sort(), ['amount', 'email', 'phone', 'purpose', 'redirect_url'])
  t.same(several.body.message.purpose, ['This field is required.'])
  const badJson = await call('POST', '/instamojo/v2/payment_requests/', '{"amount":', { ...auth, 'content-type': 'application/json' })
  t.equal(badJson.status, 400)
  t.equal(badJson.body.success, false)
})

t.test('auth: v2 needs a token this emulator issued, v1.1 needs both headers', async t => {
  const { call } = await startPaymentsApp(t)
  const none = await call('GET', '/instamojo/v2/payment_requests/')
  t.same([none.status, none.body], [401, { success: false, message: 'Authentication credentials were not provided.' }])
  const forged = await call('GET', '/instamojo/v2/payment_requests/', undefined, { authorization: 'Bearer made-up' })
  t.equal(forged.status, 401)
  const half = await call('GET', '/instamojo/api/1.1/payment-requests/', undefined, { 'x-api-key': 'k' })
  t.equal(half.status, 401)
  t.equal(half.body.success, false)
})

t.test('not found is {"success":false,"message":"Not found."}; a GET without the trailing slash is redirected', async t => {
  const { call } = await startPaymentsApp(t)
  const auth = await v2Token(call)
  const missing = await call('GET', `/instamojo/v2/payment_requests/${'0'.repeat(32)}/`, undefined, auth)
  t.same([missing.status, missing.body], [404, { success: false, message: 'Not found.' }])
  t.same((await call('GET', '/instamojo/v2/payments/MOJO0a00000A00000000/', undefined, auth)).status, 404)
  const noSlash = await call('GET', '/instamojo/v2/payment_requests', undefined, auth)
  t.equal(noSlash.status, 301)
  t.equal(noSlash.headers.location, '/instamojo/v2/payment_requests/')
})

t.test('the list endpoint pages with count, next and previous', async t => {
  const { call, url } = await startPaymentsApp(t)
  const auth = await v2Token(call)
  for (let i = 0; i < 3; i++) await call('POST', '/instamojo/v2/payment_requests/', encode({ amount: '10', purpose: `p${i}` }), { ...auth, ...form })
  const first = await call('GET', '/instamojo/v2/payment_requests/?limit=2&page=1', undefined, auth)
  t.equal(first.body.count, 3)
  t.equal(first.body.previous, null)
  t.equal(first.body.next, `${url}/instamojo/v2/payment_requests/?limit=2&page=2`)
  t.same(first.body.payment_requests.map((r: { purpose: string }) => r.purpose), ['p2', 'p1'], 'newest first')
  const second = await call('GET', '/instamojo/v2/payment_requests/?limit=2&page=2', undefined, auth)
  t.same([second.body.next, second.body.payment_requests.length], [null, 1])
  t.match(second.body.previous, /page=1$/)
})

t.test('completing a payment: payment object, request Completed, redirect query, and the signed form webhook', async t => {
  const receiver = await startReceiver(t)
  const { call } = await startPaymentsApp(t)
  const auth = await v2Token(call)
  const pr = (await call('POST', '/instamojo/v2/payment_requests/', encode({ amount: '2500.00', purpose: 'FIFA 16', buyer_name: 'John Doe', email: 'foo@example.com', phone: '+919999999999', webhook: receiver.url, redirect_url: 'https://shop.example.com/thanks?order=7', allow_repeated_payments: 'False' }), { ...auth, ...form })).body
  const done = await call('POST', `/instamojo/_switchboard/payment_requests/${pr.id}/complete`, { outcome: 'success' })
  t.equal(done.status, 200)
  const paymentId = done.body.payment.id
  t.match(paymentId, PAYMENT_ID)
  t.equal(done.body.redirect_to, `https://shop.example.com/thanks?order=7&payment_id=${paymentId}&payment_status=Credit&payment_request_id=${pr.id}`)

  const payment = await call('GET', `/instamojo/v2/payments/${paymentId}/`, undefined, auth)
  t.match(payment.body, { id: paymentId, status: true, amount: '2500.00', fees: '47.50', currency: 'INR', failure: null, instrument_type: 'UPI', name: 'John Doe', title: 'FIFA 16', created_at: ISO_MICRO })
  t.match(payment.body.payment_request, new RegExp(`/instamojo/v2/payment_requests/${pr.id}/$`))
  const after = await call('GET', `/instamojo/v2/payment_requests/${pr.id}/`, undefined, auth)
  t.equal(after.body.status, 'Completed')
  t.same(after.body.payments.map((u: string) => u.split('/').at(-2)), [paymentId])

  await eventually(async () => receiver.received.length === 1)
  const hook = receiver.received[0]!
  t.equal(hook.headers['content-type'], 'application/x-www-form-urlencoded')
  const fields = Object.fromEntries(new URLSearchParams(hook.body))
  t.same(Object.keys(fields), ['amount', 'buyer', 'buyer_name', 'buyer_phone', 'currency', 'fees', 'longurl', 'payment_id', 'payment_request_id', 'purpose', 'shorturl', 'status', 'mac'])
  t.match(fields, { amount: '2500.00', buyer: 'foo@example.com', buyer_name: 'John Doe', buyer_phone: '+919999999999', currency: 'INR', fees: '47.50', longurl: pr.longurl, payment_id: paymentId, payment_request_id: pr.id, purpose: 'FIFA 16', status: 'Credit', mac: /^[0-9a-f]{40}$/ })
  t.ok(verifyMac(fields, MOCK_SALT), 'the MAC verifies with the account salt')

  const again = await call('POST', `/instamojo/_switchboard/payment_requests/${pr.id}/complete`, { outcome: 'success' })
  t.same([again.status, again.body], [400, { success: false, message: 'This payment request has already been paid.' }], 'a link that does not allow repeated payments closes')
})

t.test('a failed payment: v2 status false with a failure, the request stays open, webhook status Failed', async t => {
  const receiver = await startReceiver(t)
  const { call } = await startPaymentsApp(t)
  const auth = await v2Token(call)
  const pr = (await call('POST', '/instamojo/v2/payment_requests/', encode({ amount: '10.00', purpose: 'Retry me', webhook: receiver.url }), { ...auth, ...form })).body
  const failed = await call('POST', `/instamojo/_switchboard/payment_requests/${pr.id}/complete`, { outcome: 'failure' })
  t.match(failed.body.payment, { status: false, fees: '0.00', failure: { reason: String, message: String } })
  t.equal((await call('GET', `/instamojo/v2/payment_requests/${pr.id}/`, undefined, auth)).body.status, 'Pending')
  await eventually(async () => receiver.received.length === 1)
  t.equal(new URLSearchParams(receiver.received[0]!.body).get('status'), 'Failed')
  const ok = await call('POST', `/instamojo/_switchboard/payment_requests/${pr.id}/complete`, { outcome: 'success' })
  t.equal(ok.body.payment.status, true, 'the buyer can try again')
})

t.test('webhook delivery is retried until the receiver takes it', async t => {
  const receiver = await startReceiver(t, [500])
  const { call, activityLog } = await startPaymentsApp(t)
  const auth = await v2Token(call)
  const pr = (await call('POST', '/instamojo/v2/payment_requests/', encode({ amount: '10.00', purpose: 'p', webhook: receiver.url }), { ...auth, ...form })).body
  await call('POST', `/instamojo/_switchboard/payment_requests/${pr.id}/complete`, { outcome: 'success' })
  await eventually(async () => receiver.received.length === 2, 10_000)
  t.equal(receiver.received[0]!.body, receiver.received[1]!.body, 'the same signed body again')
  // Kept in the outbox from the first attempt, so a restart would have retried it too.
  const rows = await eventually(async () => {
    const found = await activityLog.select('webhook_outbox', { where: { source: 'payments', url: receiver.url } })
    return found[0]?.status === 'delivered' && found
  })
  t.match(rows, [{ label: 'instamojo.payment', status: 'delivered', attempts: 2, last_error: null, body: receiver.received[0]!.body }])
})

t.test('magic amounts: .13 always fails, .11 always succeeds, .19 fails the create', async t => {
  const { call } = await startPaymentsApp(t, { simulation: { successRate: 0 } })
  const auth = await v2Token(call)
  const create = (amount: string) => call('POST', '/instamojo/v2/payment_requests/', encode({ amount, purpose: 'magic' }), { ...auth, ...form })
  const fails = await create('13.13')
  t.equal(fails.status, 500, 'a zero success rate fails an ordinary create…')
  t.same(fails.body, { success: false, message: 'Something went wrong. Please try again later.' })
  const always = await create('11.11')
  t.equal(always.status, 201, '…but not a ….11 amount')
  const paid = await call('POST', `/instamojo/_switchboard/payment_requests/${always.body.id}/complete`, {})
  t.equal(paid.body.payment.status, true, 'and its payments succeed whatever the rate')

  const normal = await startPaymentsApp(t)
  const auth2 = await v2Token(normal.call)
  const declined = (await normal.call('POST', '/instamojo/v2/payment_requests/', encode({ amount: '13.13', purpose: 'magic' }), { ...auth2, ...form })).body
  const tried = await normal.call('POST', `/instamojo/_switchboard/payment_requests/${declined.id}/complete`, { outcome: 'success' })
  t.equal(tried.body.payment.status, false, '….13 fails even when the buyer pays')
  const refused = await normal.call('POST', '/instamojo/v2/payment_requests/', encode({ amount: '19.19', purpose: 'magic' }), { ...auth2, ...form })
  t.equal(refused.status, 500)
})

t.test('success_rate on completion, and forced outcomes in Instamojo\'s envelope', async t => {
  const { call } = await startPaymentsApp(t)
  const auth = await v2Token(call)
  const pr = (await call('POST', '/instamojo/v2/payment_requests/', encode({ amount: '10.00', purpose: 'p' }), { ...auth, ...form })).body
  const zero = await call('POST', `/instamojo/_switchboard/payment_requests/${pr.id}/complete`, { success_rate: 0 })
  t.equal(zero.body.payment.status, false)
  const bad = await call('POST', `/instamojo/_switchboard/payment_requests/${pr.id}/complete`, { success_rate: 2 })
  t.equal(bad.status, 400)
  const limited = await call('POST', '/instamojo/v2/payment_requests/', encode({ amount: '10.00', purpose: 'p' }), { ...auth, ...form, 'x-switchboard-outcome': 'rate_limited' })
  t.same([limited.status, limited.headers['retry-after'], limited.body.success], [429, '1', false])
  const outage = await call('GET', `/instamojo/v2/payment_requests/${pr.id}/`, undefined, { ...auth, 'x-switchboard-outcome': 'outage' })
  t.same([outage.status, outage.body.success], [503, false])
})

t.test('v1.1: success wrapper, payments inside the request, Credit/Failed statuses', async t => {
  const { call } = await startPaymentsApp(t)
  const created = await call('POST', '/instamojo/api/1.1/payment-requests/', encode({ amount: '2500', purpose: 'FIFA 16', buyer_name: 'John Doe', email: 'foo@example.com', phone: '9999999999' }), { ...v1Auth, ...form })
  t.equal(created.status, 201)
  t.equal(created.body.success, true)
  const pr = created.body.payment_request
  t.same(Object.keys(pr).sort(), ['allow_repeated_payments', 'amount', 'buyer_name', 'created_at', 'email', 'email_status', 'id', 'longurl', 'modified_at', 'phone', 'purpose', 'redirect_url', 'send_email', 'send_sms', 'shorturl', 'sms_status', 'status', 'webhook'])
  t.match(pr, { id: REQUEST_ID, amount: '2500.00', status: 'Pending', shorturl: null })
  const done = await call('POST', `/instamojo/_switchboard/payment_requests/${pr.id}/complete`, encode({ outcome: 'success', instrument_type: 'CARD' }), form)
  const paymentId = done.body.payment.id

  const got = await call('GET', `/instamojo/api/1.1/payment-requests/${pr.id}/`, undefined, v1Auth)
  t.match(got.body, { success: true, payment_request: { id: pr.id, status: 'Completed', payments: [{ payment_id: paymentId, status: 'Credit', amount: '2500.00', fees: '47.50', instrument_type: 'CARD', buyer_email: 'foo@example.com' }] } })
  const one = await call('GET', `/instamojo/api/1.1/payment-requests/${pr.id}/${paymentId}/`, undefined, v1Auth)
  t.match(one.body, { success: true, payment_request: { id: pr.id, payment: { payment_id: paymentId, status: 'Credit' } } })
  const payment = await call('GET', `/instamojo/api/1.1/payments/${paymentId}/`, undefined, v1Auth)
  t.match(payment.body, { success: true, payment: { payment_id: paymentId, status: 'Credit', currency: 'INR' } })
  const list = await call('GET', '/instamojo/api/1.1/payment-requests/', undefined, v1Auth)
  t.match(list.body, { success: true, payment_requests: [{ id: pr.id }] })
  const missing = await call('GET', `/instamojo/api/1.1/payment-requests/${'f'.repeat(32)}/`, undefined, v1Auth)
  t.same([missing.status, missing.body], [404, { success: false, message: 'Not found.' }])
})

t.test('the checkout page is plain HTML with no external assets; expired and paid links are closed', async t => {
  const { call } = await startPaymentsApp(t)
  const auth = await v2Token(call)
  const pr = (await call('POST', '/instamojo/v2/payment_requests/', encode({ amount: '499', purpose: '<Tea & "cake">', buyer_name: 'Asha', allow_repeated_payments: 'false' }), { ...auth, ...form })).body
  const page = await call('GET', new URL(pr.longurl).pathname)
  t.equal(page.status, 200)
  t.match(page.headers['content-type'], /^text\/html/)
  t.match(page.text, /₹499\.00/)
  t.match(page.text, /&lt;Tea &amp; &quot;cake&quot;&gt;/, 'escaped')
  t.notMatch(page.text, /<(script|link)\b|src=|https?:\/\/(?!127\.0\.0\.1)/, 'no scripts, stylesheets or outside URLs')
  const paid = await call('POST', new URL(pr.longurl).pathname, encode({ outcome: 'success' }), form)
  t.equal(paid.status, 200)
  t.match(paid.text, /data-status="Credit"/)
  const again = await call('GET', new URL(pr.longurl).pathname)
  t.match(again.text, /already been paid/)
  t.equal((await call('GET', '/instamojo/@switchboard/0123456789abcdef0123456789abcdef')).status, 404)
})

t.test('state is bounded: the oldest requests are forgotten', async t => {
  const { InstamojoStore } = await import('../src/emulator/store.ts')
  const store = new InstamojoStore(2)
  const r = (id: string) => ({ id, shorturl: `x/s/${id}`, paymentIds: [] }) as never
  store.addRequest(r('a'), 'a'); store.addRequest(r('b'), 'b'); store.addRequest(r('c'), 'c')
  t.same([...store.requests.keys()], ['b', 'c'])
  t.notOk(store.shortSlugs.has('a'))

  // Far past the bound, the newest stay, in order, and the slug and payment maps shrink with them.
  const big = new InstamojoStore(100)
  for (let i = 0; i < 10_000; i++) {
    big.addRequest({ id: `r${i}`, shorturl: `x/s/s${i}`, paymentIds: [`p${i}`] } as never, `s${i}`)
    big.addPayment({ id: `p${i}` } as never)
  }
  // (A sixteenth of the bound goes at once: between 94 and 100 are held.)
  const held = [...big.requests.keys()]
  t.ok(held.length <= 100 && held.length >= 94, `${held.length} held`)
  t.same(held, Array.from({ length: held.length }, (_v, i) => `r${10_000 - held.length + i}`))
  t.equal(big.shortSlugs.size, held.length)
  t.ok(big.payments.size <= 100)
  t.ok([...big.payments.keys()].every(p => big.requests.has(`r${p.slice(1)}`)), "a forgotten request's payments are forgotten with it")
})

t.test('Instamojo timestamps: microseconds and Z, the milliseconds kept', async t => {
  const { isoMicro } = await import('../src/emulator/store.ts')
  t.match(isoMicro(new Date('2026-11-24T01:02:03.456Z')), /^2026-11-24T01:02:03\.456\d{3}Z$/)
})
