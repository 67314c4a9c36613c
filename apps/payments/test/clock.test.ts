import t from 'tap'
import { encode, form, startPaymentsApp, v2Token } from './helper.ts'

t.test('on the test clock: a payment request expires when the clock passes its expires_at, and then cannot be paid', async t => {
  const { app, call } = await startPaymentsApp(t)
  const auth = await v2Token(call)
  const t0 = Date.now()
  await app.runtime.setClock({ frozen_at: t0, offset_ms: 0 }, 'test')
  const synced = await call('POST', '/admin/clock/sync')
  t.same([synced.status, synced.body.mode, synced.body.frozen_at], [200, 'frozen', t0], 'the service applies the stored state on the gateway\'s call')

  const expiresAt = new Date(t0 + 3_600_000).toISOString()
  const created = await call('POST', '/instamojo/v2/payment_requests/', encode({ amount: '499', purpose: 'Annual plan', buyer_name: 'Asha Rao', expires_at: expiresAt }), { ...auth, ...form })
  t.equal(created.status, 201)
  const id = created.body.id as string
  const status = async () => (await call('GET', `/instamojo/v2/payment_requests/${id}/`, undefined, auth)).body.status
  t.equal(await status(), 'Pending')

  await app.runtime.setClock({ frozen_at: t0 + 3_599_000, offset_ms: 0 }, 'test')
  t.equal(await status(), 'Pending', 'a second before expires_at it is still open')
  await app.runtime.setClock({ frozen_at: t0 + 2 * 3_600_000, offset_ms: 0 }, 'test')
  t.equal(await status(), 'Expired', 'an hour past it, expired')
  const paid = await call('POST', `/instamojo/_switchboard/payment_requests/${id}/complete`, { outcome: 'success' })
  t.equal(paid.status, 400)
  t.match(paid.body, { success: false, message: 'This payment request has expired.' })

  // A new request's expires_at must be after the clock's now, not the wall clock's.
  const stale = await call('POST', '/instamojo/v2/payment_requests/', encode({ amount: '499', purpose: 'Annual plan', expires_at: new Date(t0 + 60_000).toISOString() }), { ...auth, ...form })
  t.equal(stale.status, 400)
  t.match(stale.body.message, { expires_at: ['Expiry time should be in future.'] })
  await app.runtime.setClock({ frozen_at: null, offset_ms: 0 }, 'test')
  t.equal(await status(), 'Pending', 'back to real time, the hour has not passed')
})

t.test('on the test clock: payment requests, payments and refunds are dated on it', async t => {
  const { app, call } = await startPaymentsApp(t)
  const auth = await v2Token(call)
  const t0 = Date.parse('2030-01-15T10:00:00Z')
  await app.runtime.setClock({ frozen_at: t0, offset_ms: 0 }, 'test')
  await call('POST', '/admin/clock/sync')
  const created = await call('POST', '/instamojo/v2/payment_requests/', encode({ amount: '499', purpose: 'Dated' }), { ...auth, ...form })
  t.equal(created.status, 201)
  t.match(created.body.created_at, /^2030-01-15T10:00:00\.000\d{3}Z$/, 'created at the clock\'s now, with Instamojo\'s microseconds')
  t.equal(created.body.modified_at.slice(0, 23), created.body.created_at.slice(0, 23))
  await app.runtime.setClock({ frozen_at: t0 + 60_000, offset_ms: 0 }, 'test')
  const paid = await call('POST', `/instamojo/_switchboard/payment_requests/${created.body.id as string}/complete`, { outcome: 'success' })
  t.equal(paid.status, 200, JSON.stringify(paid.body))
  const request = (await call('GET', `/instamojo/v2/payment_requests/${created.body.id as string}/`, undefined, auth)).body
  t.match(request.modified_at, /^2030-01-15T10:01:00\.000\d{3}Z$/, 'paid a minute later on the clock')
})
