/**
 * Instamojo's v2 gateway orders (what the official C# SDK and Instamojo's sample SDK server use):
 * POST /v2/gateway/orders/, POST /v2/gateway/orders/payment-request/, GET /v2/gateway/orders/,
 * GET /v2/gateway/orders/id:<id>/ and /v2/gateway/orders/transaction_id:<transaction id>/, each
 * order paid on the emulator's checkout page; kept in the database like payment requests.
 */
import t, { type Test } from 'tap'
import { adminHeaders, createTestInfrastructure, type TestInfrastructure } from '@switchboard/service-kit/testing'
import { verifyMac } from '../src/instamojo-webhooks.ts'
import { encode, eventually, form, MOCK_SALT, startInstance, startPaymentsApp, startReceiver, v2Token } from './helper.ts'

const ISO_MICRO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/
const HEX32 = /^[0-9a-f]{32}$/
const PAYMENT_ID = /^MOJO\d[a-l]\d{5}[A-Z]\d{8}$/
const ORDERS = '/instamojo/v2/gateway/orders/'

/** A valid order's fields (the C# SDK's README sample, with a phone the SDK's ^[0-9]{10}$ takes). */
const order = (fields: Record<string, unknown> = {}) => ({
  name: 'ABCD',
  email: 'foo@example.com',
  phone: '9969156561',
  amount: '2500',
  transaction_id: 'txn-001',
  redirect_url: 'https://shop.example.com/thanks',
  ...fields
})

async function setup (t: Test) {
  const app = await startPaymentsApp(t)
  const auth = await v2Token(app.call)
  const create = (body: unknown, headers: Record<string, string> = {}) => app.call('POST', ORDERS, body, { ...auth, ...headers })
  return { ...app, auth, create }
}

/** The checkout page's path, from an order's payment_url. */
const pagePath = (paymentUrl: string) => new URL(paymentUrl).pathname

t.test('POST /v2/gateway/orders/ with a JSON body: 201 {order, payment_options.payment_url} opening the checkout page', async t => {
  const { create, url, call } = await setup(t)
  const res = await create({ ...order({ amount: 2500, description: 'Two tickets', webhook_url: 'https://shop.example.com/hook', currency: 'USD' }) })
  t.equal(res.status, 201, JSON.stringify(res.body))
  t.same(Object.keys(res.body), ['order', 'payment_options'])
  const o = res.body.order
  t.match(o, {
    id: HEX32,
    transaction_id: 'txn-001',
    status: 'pending',
    currency: 'USD',
    amount: '2500.00',
    name: 'ABCD',
    email: 'foo@example.com',
    phone: '+919969156561',
    description: 'Two tickets',
    redirect_url: 'https://shop.example.com/thanks',
    webhook_url: 'https://shop.example.com/hook',
    created_at: ISO_MICRO,
    resource_uri: `${url}/instamojo/v2/gateway/orders/id:${o.id as string}/`
  })
  t.same(o.payments, [])
  t.same(Object.keys(o), ['id', 'transaction_id', 'status', 'currency', 'amount', 'name', 'email', 'phone', 'description', 'redirect_url', 'webhook_url', 'created_at', 'resource_uri', 'payments'])
  const paymentUrl = res.body.payment_options.payment_url as string
  t.match(paymentUrl, new RegExp(`^${url}/instamojo/@switchboard/[0-9a-f]{32}$`))
  const page = await call('GET', pagePath(paymentUrl))
  t.equal(page.status, 200)
  t.match(page.text, /Two tickets/, 'the checkout page shows the order\'s description')
  t.match(page.text, /2500\.00/)
  t.match(page.text, /value="ABCD"/, 'and is filled with the buyer\'s details')
})

t.test('POST /v2/gateway/orders/ with a form body: currency INR unless told, purpose "Order <transaction_id>" without a description', async t => {
  const { create, call } = await setup(t)
  const res = await create(encode(order({ phone: '+91 99691 56561', amount: '9' }) as Record<string, string>), form)
  t.equal(res.status, 201, JSON.stringify(res.body))
  t.match(res.body.order, { currency: 'INR', amount: '9.00', phone: '+919969156561', description: null, webhook_url: null, status: 'pending' })
  t.match((await call('GET', pagePath(res.body.payment_options.payment_url))).text, /Order txn-001/)
  // The C# SDK's README sample phone: ten digits that are not an Indian mobile number, as the SDK takes them.
  const sample = await create(order({ transaction_id: 'txn-002', phone: '0123456789' }))
  t.match([sample.status, sample.body.order?.phone], [201, '0123456789'])
})

t.test('every validation error is a 400 naming its field', async t => {
  const { create } = await setup(t)
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['name', { name: '' }, 'This field is required.'],
    ['name', { name: 'x'.repeat(101) }, 'Ensure this field has no more than 100 characters.'],
    ['email', { email: undefined }, 'This field is required.'],
    ['email', { email: 'not-an-email' }, 'Enter a valid email address.'],
    ['email', { email: `${'a'.repeat(64)}@example.com` }, 'Ensure this field has no more than 75 characters.'],
    ['phone', { phone: undefined }, 'This field is required.'],
    ['phone', { phone: '12345' }, 'Enter a valid phone number.'],
    ['phone', { phone: '99691565610' }, 'Enter a valid phone number.'],
    ['amount', { amount: undefined }, 'This field is required.'],
    ['amount', { amount: '8.99' }, 'Ensure this value is greater than or equal to 9.'],
    ['amount', { amount: 'ten' }, 'A valid number is required.'],
    ['transaction_id', { transaction_id: undefined }, 'This field is required.'],
    ['transaction_id', { transaction_id: 'has space' }, 'This value does not match the required pattern.'],
    ['transaction_id', { transaction_id: 'a/b' }, 'This value does not match the required pattern.'],
    ['transaction_id', { transaction_id: 'x'.repeat(65) }, 'Ensure this field has no more than 64 characters.'],
    ['redirect_url', { redirect_url: undefined }, 'This field is required.'],
    ['redirect_url', { redirect_url: 'not a url' }, 'Enter a valid URL.'],
    ['currency', { currency: 'EUR' }, '"EUR" is not a valid choice.'],
    ['description', { description: 'd'.repeat(256) }, 'Ensure this field has no more than 255 characters.'],
    ['webhook_url', { webhook_url: 'invalid web hook url' }, 'Enter a valid URL.']
  ]
  for (const [field, change, message] of cases) {
    const res = await create(order(change))
    t.same([res.status, res.body], [400, { [field]: [message] }], `${field}: ${JSON.stringify(change).slice(0, 60)}`)
  }
  const none = await create({})
  t.equal(none.status, 400)
  t.same(Object.keys(none.body).sort(), ['amount', 'email', 'name', 'phone', 'redirect_url', 'transaction_id'], 'an empty body names every required field')
  const typed = await create(order({ name: ['ABCD'], amount: { value: 10 }, transaction_id: null }))
  t.same(typed.body, { name: ['Not a valid string.'], amount: ['A valid number is required.'], transaction_id: ['This field may not be null.'] }, 'a JSON body is typed as DRF types it')
  const ok = await create(order({ amount: '9.00', name: 'x'.repeat(100), description: 'd'.repeat(255), transaction_id: `${'A'.repeat(60)}_z-9` }))
  t.equal(ok.status, 201, `the limits themselves are taken (${JSON.stringify(ok.body)})`)
})

t.test('a transaction_id is unique in the account: a second order with it is refused', async t => {
  const { create } = await setup(t)
  t.equal((await create(order())).status, 201)
  const again = await create(order({ amount: '10' }))
  t.equal(again.status, 400)
  t.same(Object.keys(again.body), ['transaction_id'], 'the error names transaction_id, at the top level where the C# SDK\'s IsTransactionIDValid reads it')
  const both = await Promise.all([create(order({ transaction_id: 'same-time' })), create(order({ transaction_id: 'same-time' }))])
  t.same(both.map(r => r.status).sort(), [201, 400], 'two at once on one instance: one order')
  t.equal((await create(order({ transaction_id: 'txn-002' }))).status, 201, 'another transaction_id is fine')
})

t.test('GET /v2/gateway/orders/id:<id>/ and /transaction_id:<transaction_id>/ read an order; unknown ones are 404', async t => {
  const { create, call, auth } = await setup(t)
  const made = (await create(order({ transaction_id: 'ORD_42' }))).body.order
  const byId = await call('GET', `${ORDERS}id:${made.id as string}/`, undefined, auth)
  t.same([byId.status, byId.body], [200, made])
  const byTid = await call('GET', `${ORDERS}transaction_id:ORD_42/`, undefined, auth)
  t.same([byTid.status, byTid.body], [200, made])
  const notFound = { success: false, message: 'Not found.' }
  t.same((await call('GET', `${ORDERS}id:${'0'.repeat(32)}/`, undefined, auth)).body, notFound)
  t.equal((await call('GET', `${ORDERS}transaction_id:nope/`, undefined, auth)).status, 404)
  t.equal((await call('GET', `${ORDERS}${made.id as string}/`, undefined, auth)).status, 404, 'the id must be named id:')
  const noSlash = await call('GET', `${ORDERS}id:${made.id as string}`, undefined, auth)
  t.same([noSlash.status, noSlash.headers.location], [301, `${ORDERS}id:${made.id as string}/`], 'Django\'s trailing slash')
  const anonymous = await call('GET', `${ORDERS}id:${made.id as string}/`)
  t.same([anonymous.status, anonymous.body], [401, { success: false, message: 'Authentication credentials were not provided.' }])
  t.equal((await call('GET', `${ORDERS}id:${made.id as string}/`, undefined, { authorization: 'Bearer nope' })).status, 401)
  t.equal((await call('POST', ORDERS, order({ transaction_id: 'anon' }))).status, 401, 'creating needs a token too')
})

t.test('GET /v2/gateway/orders/ lists orders newest first, paged, filtered by id or transaction_id', async t => {
  const { create, call, auth, url } = await setup(t)
  t.same((await call('GET', ORDERS, undefined, auth)).body, { count: 0, next: null, previous: null, orders: [] })
  const ids: string[] = []
  for (let i = 1; i <= 3; i++) ids.push((await create(order({ transaction_id: `t${i}` }))).body.order.id)
  const all = await call('GET', ORDERS, undefined, auth)
  t.equal(all.status, 200)
  t.equal(all.body.count, 3)
  t.same(all.body.orders.map((o: { id: string }) => o.id), [...ids].reverse(), 'newest first')
  t.match(all.body.orders[0], { transaction_id: 't3', status: 'pending', payments: [] })
  const page2 = await call('GET', `${ORDERS}?limit=2&page=2`, undefined, auth)
  t.same([page2.body.count, page2.body.next, page2.body.previous, page2.body.orders.map((o: { id: string }) => o.id)], [3, null, `${url}${ORDERS}?limit=2&page=1`, [ids[0]]])
  t.equal((await call('GET', `${ORDERS}?limit=2&page=1`, undefined, auth)).body.next, `${url}${ORDERS}?limit=2&page=2`)
  // The C# SDK sends id= and transaction_id= empty when unset.
  t.equal((await call('GET', `${ORDERS}?id=&transaction_id=&page=1&limit=50`, undefined, auth)).body.count, 3, 'an empty filter filters nothing')
  t.same((await call('GET', `${ORDERS}?transaction_id=t2`, undefined, auth)).body.orders.map((o: { id: string }) => o.id), [ids[1]])
  t.same((await call('GET', `${ORDERS}?id=${ids[2]!}`, undefined, auth)).body.orders.map((o: { transaction_id: string }) => o.transaction_id), ['t3'])
  t.equal((await call('GET', ORDERS)).status, 401)
  // The payment requests behind orders are not the account's payment requests.
  t.equal((await call('GET', '/instamojo/v2/payment_requests/', undefined, auth)).body.count, 0)
})

t.test('paying on the checkout page: a failed payment leaves the order pending and listed, a successful one completes it', async t => {
  const receiver = await startReceiver(t)
  const { create, call, auth } = await setup(t)
  const made = (await create(order({ amount: '2500', currency: 'USD', webhook_url: receiver.url, description: 'Concert' }))).body
  const path = pagePath(made.payment_options.payment_url)
  const read = async () => (await call('GET', `${ORDERS}id:${made.order.id as string}/`, undefined, auth)).body

  const failed = await call('POST', path, encode({ outcome: 'failure', instrument: 'CARD' }), form)
  t.equal(failed.status, 303)
  const failedId = new URL(failed.headers.location as string).searchParams.get('payment_id')!
  t.match(failed.headers.location, /^https:\/\/shop\.example\.com\/thanks\?payment_id=MOJO.*&payment_status=Failed&payment_request_id=[0-9a-f]{32}$/)
  const afterFailure = await read()
  t.equal(afterFailure.status, 'pending', 'a failed payment leaves the order pending')
  t.same(afterFailure.payments, [{ id: failedId, status: 'failed', instrument_type: 'CARD', billing_instrument: 'Domestic Credit Card (Visa)', failure: { reason: 'Declined', message: 'The payment failed or was cancelled by the buyer.' } }])

  const paid = await call('POST', path, encode({ outcome: 'success' }), form)
  t.equal(paid.status, 303, 'the buyer tries again and pays')
  const paidId = new URL(paid.headers.location as string).searchParams.get('payment_id')!
  t.match(paidId, PAYMENT_ID)
  const afterPayment = await read()
  t.equal(afterPayment.status, 'completed')
  t.same(afterPayment.payments.map((p: { id: string, status: string }) => [p.id, p.status]), [[failedId, 'failed'], [paidId, 'successful']])
  t.match(afterPayment.payments[1], { instrument_type: 'UPI', billing_instrument: 'UPI', failure: null })
  t.same((await call('GET', `${ORDERS}transaction_id:txn-001/`, undefined, auth)).body, afterPayment, 'read by transaction_id the same')
  t.equal((await call('POST', path, encode({ outcome: 'success' }), form)).status, 409, 'a paid order\'s page takes no second payment')

  // The payment is an ordinary v2 payment, in the order's currency, and its webhook is signed as every other.
  t.match((await call('GET', `/instamojo/v2/payments/${paidId}/`, undefined, auth)).body, { id: paidId, status: true, currency: 'USD', amount: '2500.00', title: 'Concert' })
  await eventually(async () => receiver.received.length === 2)
  const fields = Object.fromEntries(new URLSearchParams(receiver.received[1]!.body))
  t.match(fields, { payment_id: paidId, status: 'Credit', amount: '2500.00', currency: 'USD', buyer: 'foo@example.com', purpose: 'Concert' })
  t.ok(verifyMac(fields, MOCK_SALT), 'the webhook to webhook_url verifies with the account salt')
  const refund = await call('POST', `/instamojo/v2/payments/${paidId}/refund/`, encode({ type: 'QFL', body: 'Cancelled' }), { ...auth, ...form })
  t.match([refund.status, refund.body.refund], [201, { payment_id: paidId, refund_amount: '2500.00' }], 'and is refunded as any other')
})

t.test('an order is completed through POST /_switchboard/payment_requests/{id}/complete too', async t => {
  const { create, call, auth } = await setup(t)
  const made = (await create(order())).body
  const requestId = pagePath(made.payment_options.payment_url).split('/').pop()!
  const done = await call('POST', `/instamojo/_switchboard/payment_requests/${requestId}/complete`, { outcome: 'success', instrument_type: 'NETBANKING' }, adminHeaders())
  t.equal(done.status, 200)
  const read = (await call('GET', `${ORDERS}id:${made.order.id as string}/`, undefined, auth)).body
  t.match(read, { status: 'completed', payments: [{ id: done.body.payment.id, status: 'successful', instrument_type: 'NETBANKING', billing_instrument: 'Net Banking (HDFC Bank)', failure: null }] })
})

t.test('POST /v2/gateway/orders/payment-request/ makes an order for a payment request', async t => {
  const { call, auth } = await setup(t)
  const pr = (await call('POST', '/instamojo/v2/payment_requests/', encode({ amount: '499', purpose: 'Book', buyer_name: 'Asha', email: 'asha@example.com', phone: '9876543210' }), { ...auth, ...form })).body
  const forPr = (body: unknown) => call('POST', `${ORDERS}payment-request/`, body, auth)

  const made = await forPr({ id: pr.id })
  t.equal(made.status, 201)
  t.match(made.body, { order_id: HEX32, name: 'Asha', email: 'asha@example.com', phone: '+919876543210', amount: '499.00' })
  t.same(Object.keys(made.body), ['order_id', 'name', 'email', 'phone', 'amount'], 'the sample SDK server\'s model.Order')
  const named = await call('POST', `${ORDERS}payment-request/`, encode({ id: pr.id, name: 'Ravi', email: 'ravi@example.com', phone: '9123456789' }), { ...auth, ...form })
  t.match([named.status, named.body], [201, { name: 'Ravi', email: 'ravi@example.com', phone: '+919123456789', amount: '499.00' }], 'the buyer\'s details given win')
  t.not(named.body.order_id, made.body.order_id)

  t.same((await forPr({ id: 'f'.repeat(32) })).body, { success: false, message: 'Not found.' })
  t.equal((await forPr({ id: 'f'.repeat(32) })).status, 404)
  t.same((await forPr({})).body, { id: ['This field is required.'] })
  t.same((await forPr({ id: pr.id, email: 'nope' })).body, { email: ['Enter a valid email address.'] })
  t.equal((await call('POST', `${ORDERS}payment-request/`, { id: pr.id })).status, 401)

  const read = await call('GET', `${ORDERS}id:${made.body.order_id as string}/`, undefined, auth)
  t.match(read.body, { id: made.body.order_id, transaction_id: null, status: 'pending', currency: 'INR', amount: '499.00', name: 'Asha', description: 'Book', payments: [] })
  const paid = (await call('POST', `/instamojo/_switchboard/payment_requests/${pr.id}/complete`, { outcome: 'success' }, adminHeaders())).body.payment.id
  const after = (await call('GET', `${ORDERS}id:${made.body.order_id as string}/`, undefined, auth)).body
  t.match(after, { status: 'completed', payments: [{ id: paid, status: 'successful' }] }, 'paying the payment request completes its order')
})

t.test('an order for a payment request counts only the payments made after it; a closed request gets none', async t => {
  const { call, auth } = await setup(t)
  const create = (fields: Record<string, string>) => call('POST', '/instamojo/v2/payment_requests/', encode({ amount: '20', purpose: 'Tea', ...fields }), { ...auth, ...form })
  const complete = (id: string, outcome: string) => call('POST', `/instamojo/_switchboard/payment_requests/${id}/complete`, { outcome }, adminHeaders())
  const repeated = (await create({})).body
  const before = (await complete(repeated.id, 'success')).body.payment.id
  const orderId = (await call('POST', `${ORDERS}payment-request/`, { id: repeated.id }, auth)).body.order_id
  const fresh = (await call('GET', `${ORDERS}id:${orderId as string}/`, undefined, auth)).body
  t.match(fresh, { status: 'pending', payments: [] }, `the payment made before (${before as string}) is not the order's`)
  const after = (await complete(repeated.id, 'failure')).body.payment.id
  t.match((await call('GET', `${ORDERS}id:${orderId as string}/`, undefined, auth)).body, { status: 'pending', payments: [{ id: after, status: 'failed' }] })

  const once = (await create({ allow_repeated_payments: 'false' })).body
  await complete(once.id, 'success')
  const closed = await call('POST', `${ORDERS}payment-request/`, { id: once.id }, auth)
  t.same([closed.status, closed.body], [400, { success: false, message: 'This payment request has already been paid.' }])
})

t.test('magic amounts hold for orders: ….19 fails the create (500) and stores nothing', async t => {
  const { create, call, auth } = await setup(t)
  const res = await create(order({ amount: '19.19' }))
  t.same([res.status, res.body], [500, { success: false, message: 'Something went wrong. Please try again later.' }])
  t.equal((await call('GET', ORDERS, undefined, auth)).body.count, 0)
  t.equal((await create(order({ amount: '19.19' }))).status, 500, 'the transaction_id was not taken')
})

/** An instance (helper.ts's startInstance) with a v2 token of its emulator's. */
async function instance (t: Test, infra: TestInfrastructure) {
  const { call, close } = await startInstance(t, infra)
  return { call, auth: await v2Token(call), close }
}

t.test('orders are shared by instances on one database and survive a restart', async t => {
  const infra = await createTestInfrastructure(t)
  const one = await instance(t, infra)
  const two = await instance(t, infra)
  const made = (await one.call('POST', ORDERS, order({ transaction_id: 'shared-1' }), one.auth)).body
  t.equal(made.order?.status, 'pending', JSON.stringify(made))
  const id = made.order.id as string
  const path = pagePath(made.payment_options.payment_url)
  const stored = (kind: string, key: string) => eventually(async () => (await infra.activityLog.select('instamojo_emulator_state', { where: { kind, id: key } })).length > 0)
  await stored('order', id)
  await stored('order_tid', 'shared-1')

  // Two has not read it (nor synced it, most likely: it syncs every second): it finds the
  // transaction_id in the database, refuses it, and reads the order from there.
  const dup = await two.call('POST', ORDERS, order({ transaction_id: 'shared-1' }), two.auth)
  t.same([dup.status, Object.keys(dup.body ?? {})], [400, ['transaction_id']], 'the other instance refuses the same transaction_id')
  const onTwo = await two.call('GET', `${ORDERS}transaction_id:shared-1/`, undefined, two.auth)
  t.same([onTwo.status, onTwo.body.id], [200, id])
  // An order two never reads by id reaches its list by sync.
  const second = (await one.call('POST', ORDERS, order({ transaction_id: 'shared-2' }), one.auth)).body.order.id as string
  const listed = await eventually(async () => { const r = await two.call('GET', ORDERS, undefined, two.auth); return r.body.count === 2 && r })
  t.same(listed.body.orders.map((o: { id: string }) => o.id), [second, id])
  // Paid on two's checkout page; one reads it completed.
  await eventually(async () => (await two.call('GET', path)).status === 200)
  t.equal((await two.call('POST', path, encode({ outcome: 'success' }), form)).status, 303)
  const completed = await eventually(async () => { const r = await one.call('GET', `${ORDERS}id:${id}/`, undefined, one.auth); return r.body.status === 'completed' && r })
  t.equal(completed.body.payments.length, 1)

  // Both stopped (everything queued written): a third instance, as after a restart, has it all.
  await one.close()
  await two.close()
  const three = await instance(t, infra)
  const list = await three.call('GET', ORDERS, undefined, three.auth)
  t.same(list.body.orders?.map((o: { id: string }) => o.id), [second, id], 'listed after the restart (loaded at start)')
  t.match(list.body.orders?.[1], { id, transaction_id: 'shared-1', status: 'completed', payments: [{ status: 'successful' }] })
  const byTid = await three.call('GET', `${ORDERS}transaction_id:shared-1/`, undefined, three.auth)
  t.match([byTid.status, byTid.body], [200, { id, status: 'completed' }])
  t.equal((await three.call('POST', ORDERS, order({ transaction_id: 'shared-1' }), three.auth)).status, 400, 'its transaction_id is still taken')
  t.equal((await three.call('POST', path, encode({ outcome: 'success' }), form)).status, 409, 'and its page still closed')
})
