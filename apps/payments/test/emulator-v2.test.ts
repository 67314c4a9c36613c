import t from 'tap'
import { encode, form, startPaymentsApp, v1Auth, v2Token } from './helper.ts'

// The v2 endpoints beyond a payment request's own (the payments list, disable/enable, refunds) and
// DRF's typing of JSON bodies; in a file of their own so each file stays within tap's time budget.

const ISO_MICRO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/
const PAYMENT_ID = /^MOJO\d[a-l]\d{5}[A-Z]\d{8}$/

t.test('a v2 JSON body of the wrong types gets DRF\'s type messages, not a value read out of it', async t => {
  const { call } = await startPaymentsApp(t)
  const auth = await v2Token(call)
  const create = (body: unknown) => call('POST', '/instamojo/v2/payment_requests/', body, auth)
  const wrong = await create({ amount: [1], purpose: { a: 1 } })
  t.equal(wrong.status, 400)
  t.same(wrong.body, { success: false, message: { amount: ['A valid number is required.'], purpose: ['Not a valid string.'] } })
  t.same((await create({ amount: true, purpose: ['FIFA'] })).body.message, { amount: ['A valid number is required.'], purpose: ['Not a valid string.'] })
  t.same((await create({ amount: null, purpose: 'p' })).body.message, { amount: ['This field may not be null.'] })
  t.same((await create({ amount: '10', purpose: 'p', email: ['a@example.com'], send_sms: [true], expires_at: 1 })).body.message, {
    email: ['Not a valid string.'],
    send_sms: ['Must be a valid boolean.'],
    expires_at: ['Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].']
  })
  const fine = await create({ amount: 2500, purpose: 'FIFA 16', buyer_name: null, send_email: false })
  t.equal(fine.status, 201, 'numbers are read as their text, and null on an optional field as left out')
  // A form body still takes a repeated key's last value, as Django's QueryDict does.
  const repeated = await call('POST', '/instamojo/v2/payment_requests/', 'amount=5&amount=10&purpose=p', { ...auth, ...form })
  t.match([repeated.status, repeated.body], [201, { amount: '10.00' }])
})

t.test('GET /v2/payments/ lists every payment, checkout-page ones included, newest first, paged like the other lists', async t => {
  const { call, url } = await startPaymentsApp(t)
  const auth = await v2Token(call)
  t.same((await call('GET', '/instamojo/v2/payments/', undefined, auth)).body, { count: 0, next: null, previous: null, payments: [] })
  const pr = (await call('POST', '/instamojo/v2/payment_requests/', encode({ amount: '10.00', purpose: 'Tea' }), { ...auth, ...form })).body
  const failed = await call('POST', new URL(pr.longurl).pathname, encode({ outcome: 'failure' }), form)
  t.match(failed.text, /data-status="Failed"/)
  const paid = await call('POST', new URL(pr.longurl).pathname, encode({ outcome: 'success', buyer_name: 'Asha' }), form)
  t.match(paid.text, /data-status="Credit"/)
  const viaApi = (await call('POST', `/instamojo/_switchboard/payment_requests/${pr.id}/complete`, { outcome: 'success' })).body.payment.id as string

  const all = await call('GET', '/instamojo/v2/payments/', undefined, auth)
  t.equal(all.status, 200)
  t.equal(all.body.count, 3)
  t.same(all.body.payments.map((p: { status: boolean }) => p.status), [true, true, false], 'newest first')
  t.equal(all.body.payments[0].id, viaApi)
  t.match(all.body.payments[1], { id: PAYMENT_ID, name: 'Asha', amount: '10.00', title: 'Tea', payment_request: `${url}/instamojo/v2/payment_requests/${pr.id}/` })
  const page = await call('GET', '/instamojo/v2/payments/?limit=2&page=2', undefined, auth)
  t.same([page.body.count, page.body.next, page.body.payments.length], [3, null, 1])
  t.equal(page.body.previous, `${url}/instamojo/v2/payments/?limit=2&page=1`)
  t.equal((await call('GET', '/instamojo/v2/payments/')).status, 401, 'a token is needed')
})

t.test('POST /v2/payment_requests/{id}/disable/ closes a request to payments until /enable/', async t => {
  const { call } = await startPaymentsApp(t)
  const auth = await v2Token(call)
  const pr = (await call('POST', '/instamojo/v2/payment_requests/', encode({ amount: '10.00', purpose: 'Tea' }), { ...auth, ...form })).body
  const off = await call('POST', `/instamojo/v2/payment_requests/${pr.id}/disable/`, undefined, auth)
  t.same([off.status, off.body], [200, { success: true }])
  const refused = await call('POST', `/instamojo/_switchboard/payment_requests/${pr.id}/complete`, { outcome: 'success' })
  t.same([refused.status, refused.body], [400, { success: false, message: 'This payment request has been disabled.' }])
  t.match((await call('GET', new URL(pr.longurl).pathname)).text, /has been disabled/, 'the checkout page is closed')
  const pressed = await call('POST', new URL(pr.longurl).pathname, encode({ outcome: 'success' }), form)
  t.equal(pressed.status, 409, 'and pressing Pay there makes no payment')
  t.equal((await call('GET', '/instamojo/v2/payments/', undefined, auth)).body.count, 0)

  t.same((await call('POST', `/instamojo/v2/payment_requests/${pr.id}/enable/`, undefined, auth)).body, { success: true })
  const paid = await call('POST', `/instamojo/_switchboard/payment_requests/${pr.id}/complete`, { outcome: 'success' })
  t.equal(paid.body.payment.status, true, 'enabled again, it is paid')
  t.same((await call('POST', `/instamojo/v2/payment_requests/${'0'.repeat(32)}/disable/`, undefined, auth)).body, { success: false, message: 'Not found.' })
})

t.test('refunds: POST /v2/payments/{id}/refund/, then GET /v2/refunds/ and /v2/refunds/{id}/', async t => {
  const { call } = await startPaymentsApp(t)
  const auth = await v2Token(call)
  t.same((await call('GET', '/instamojo/v2/refunds/', undefined, auth)).body, { count: 0, next: null, previous: null, refunds: [] })
  const pr = (await call('POST', '/instamojo/v2/payment_requests/', encode({ amount: '100.00', purpose: 'Tea' }), { ...auth, ...form })).body
  const failedId = (await call('POST', `/instamojo/_switchboard/payment_requests/${pr.id}/complete`, { outcome: 'failure' })).body.payment.id as string
  const paidId = (await call('POST', `/instamojo/_switchboard/payment_requests/${pr.id}/complete`, { outcome: 'success' })).body.payment.id as string
  const refund = (id: string, fields: Record<string, string>) => call('POST', `/instamojo/v2/payments/${id}/refund/`, encode(fields), { ...auth, ...form })

  t.same((await refund(paidId, { type: 'XYZ', body: 'b' })).body, { success: false, message: { type: ['"XYZ" is not a valid choice.'] } })
  t.same((await refund(paidId, { type: 'TNR' })).body.message, { body: ['This field is required.'] })
  t.equal((await refund(failedId, { type: 'TNR', body: 'b' })).status, 400, 'a failed payment has nothing to refund')
  t.equal((await refund('MOJO0a00000A00000000', { type: 'TNR', body: 'b' })).status, 404)

  const part = await refund(paidId, { type: 'TNR', body: 'Late delivery', refund_amount: '40', transaction_id: 'r-1' })
  t.equal(part.status, 201)
  t.match(part.body, { success: true, refund: { id: /^R\d{4}[A-Z]{3}\d{5}$/, payment_id: paidId, status: String, type: 'TNR', body: 'Late delivery', refund_amount: '40.00', total_amount: '100.00', created_at: ISO_MICRO } })
  t.same((await refund(paidId, { type: 'QFL', body: 'more', refund_amount: '60.01' })).body.message, { refund_amount: ['Ensure this value is less than or equal to 60.00.'] })
  const rest = await call('POST', `/instamojo/v2/payments/${paidId}/refund/`, { type: 'QFL', body: 'the rest' }, auth)
  t.match([rest.status, rest.body.refund], [201, { refund_amount: '60.00' }], 'no amount: what is left of the payment (JSON body)')

  const list = await call('GET', '/instamojo/v2/refunds/', undefined, auth)
  t.equal(list.body.count, 2)
  t.same(list.body.refunds.map((r: { id: string }) => r.id), [rest.body.refund.id, part.body.refund.id], 'newest first')
  const one = await call('GET', `/instamojo/v2/refunds/${part.body.refund.id}/`, undefined, auth)
  t.same(one.body, part.body.refund)
  t.equal((await call('GET', '/instamojo/v2/refunds/R0101ABC00000/', undefined, auth)).status, 404)
})

t.test('v1.1 refunds: POST /api/1.1/refunds/ names the payment in its form; GET /api/1.1/refunds/ and /api/1.1/refunds/{id}/ read wrapped', async t => {
  const { call } = await startPaymentsApp(t)
  const pr = (await call('POST', '/instamojo/api/1.1/payment-requests/', encode({ amount: '100.00', purpose: 'Tea' }), { ...v1Auth, ...form })).body.payment_request
  const paidId = (await call('POST', `/instamojo/_switchboard/payment_requests/${pr.id}/complete`, { outcome: 'success' })).body.payment.id as string
  const refund = (fields: Record<string, string>) => call('POST', '/instamojo/api/1.1/refunds/', encode(fields), { ...v1Auth, ...form })

  t.same((await refund({ type: 'TNR', body: 'b' })).body, { success: false, message: { payment_id: ['This field is required.'] } })
  t.equal((await refund({ payment_id: 'MOJO0a00000A00000000', type: 'TNR', body: 'b' })).status, 404)
  t.equal((await call('POST', '/instamojo/api/1.1/refunds/', encode({ payment_id: paidId, type: 'TNR', body: 'b' }), form)).status, 401, 'v1.1 keys wanted')
  const made = await refund({ payment_id: paidId, type: 'QFL', body: 'Not as described', refund_amount: '25' })
  t.equal(made.status, 201)
  t.match(made.body, { success: true, refund: { id: /^R\d{4}[A-Z]{3}\d{5}$/, payment_id: paidId, status: 'Refunded', type: 'QFL', refund_amount: '25.00', total_amount: '100.00' } })
  t.same((await call('GET', '/instamojo/api/1.1/refunds/', undefined, v1Auth)).body, { success: true, refunds: [made.body.refund] })
  t.same((await call('GET', `/instamojo/api/1.1/refunds/${made.body.refund.id}/`, undefined, v1Auth)).body, { success: true, refund: made.body.refund })
})
