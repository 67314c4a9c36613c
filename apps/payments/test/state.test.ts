/**
 * The Instamojo emulator's payment requests and payments live in the database
 * (instamojo_emulator_state), shared by every instance of the payments service on it: a link made
 * through one instance is paid through another and its webhook is accepted by the first (the
 * salt follows from the INTERNAL_TOKEN they share), and a payment taken through one instance is
 * never undone, nor taken twice, through another holding an older copy of the request. Runs on
 * PostgreSQL with TEST_DATABASE_URL, else PGlite.
 */
import t, { type Test } from 'tap'
import { adminHeaders, createTestInfrastructure, type TestInfrastructure } from '@switchboard/service-kit/testing'
import { encode, eventually, form, startInstance, startReceiver, v2Token } from './helper.ts'

/** An instance (helper.ts's startInstance) with a v2 token of its emulator's. */
async function instance (t: Test, infra: TestInfrastructure) {
  const started = await startInstance(t, infra)
  return { ...started, auth: await v2Token(started.call) }
}
type Instance = Awaited<ReturnType<typeof instance>>

/** A payment request made through `one`, posting its webhooks to `hook`; its id and checkout page's path. */
async function paymentRequest (one: Instance, hook: string) {
  const res = await one.call('POST', '/instamojo/v2/payment_requests/', encode({ amount: '2500', purpose: 'Two instances', webhook: hook, allow_repeated_payments: 'false' }), { ...one.auth, ...form })
  if (res.status !== 201) throw new Error(`create: ${res.status} ${JSON.stringify(res.body)}`)
  return { id: res.body.id as string, page: new URL(res.body.longurl as string).pathname }
}

/** Makes `instance` hold its own copy of the request, as it is now (its checkout page reads it). */
async function holdCopy (t: Test, instance: Instance, page: string) {
  const res = await eventually(async () => { const r = await instance.call('GET', page); return r.status === 200 && r })
  t.equal(res.status, 200, 'the checkout page is served by the other instance')
}

/** Two instances on one database, a payment request made through one, and two holding its own copy. */
async function requestHeldByTwo (t: Test) {
  const infra = await createTestInfrastructure(t)
  const hook = await startReceiver(t)
  const one = await instance(t, infra)
  const two = await instance(t, infra)
  const { id, page } = await paymentRequest(one, hook.url)
  await holdCopy(t, two, page)
  return { infra, hook, one, two, id, page }
}

const complete = (instance: Instance, id: string) =>
  instance.call('POST', `/instamojo/_switchboard/payment_requests/${id}/complete`, encode({ outcome: 'success' }), { ...adminHeaders(), ...form })

t.test('a link made through one instance is paid through another; the first accepts the webhook (one salt from the shared INTERNAL_TOKEN)', async t => {
  const infra = await createTestInfrastructure(t)
  const one = await instance(t, infra)
  const two = await instance(t, infra)
  const link = (await one.call('POST', '/payment-links', { amount: '100.00', purpose: 'Made on one', buyer_name: 'Ada', email: 'ada@example.com' })).body
  t.equal(link.status, 'pending')
  const page = new URL(link.longurl as string).pathname
  await holdCopy(t, two, page)
  const paid = await two.call('POST', page, encode({ outcome: 'success' }), form)
  t.equal(paid.status, 200, 'paid on the other instance\'s checkout page')
  const row = await eventually(async () => { const r = (await infra.activityLog.select('payments', { where: { id: link.id } }))[0]; return r?.status === 'paid' && r })
  t.equal(row.status, 'paid', 'the webhook (signed by two) was accepted by one, which made the link')
})

t.test('a payment taken through one instance is not undone by another that held the request before it', async t => {
  const { infra, one, two, id } = await requestHeldByTwo(t)

  const paid = await complete(one, id)
  t.equal(paid.status, 200, 'paid through one')
  const payment = paid.body.payment.id as string
  // Once the payment is stored, two reads the request (its copy predates the payment).
  await eventually(async () => ((await infra.activityLog.select('instamojo_emulator_state', { where: { kind: 'request', id } }))[0]?.doc as { completed?: boolean } | undefined)?.completed === true)
  await two.call('GET', `/instamojo/v2/payment_requests/${id}/`, undefined, two.auth)
  for (const [name, inst] of [['one', one], ['two', two]] as const) {
    const read = await eventually(async () => {
      const r = await inst.call('GET', `/instamojo/v2/payment_requests/${id}/`, undefined, inst.auth)
      return r.body.status === 'Completed' && r
    }, 4_000).catch(() => undefined)
    t.ok(read, `${name} still reads the request Completed`)
    t.match(read?.body.payments, [new RegExp(`/v2/payments/${payment}/$`)], `${name} lists the payment made through one`)
  }
  // What is stored: both stopped (everything queued written), a third instance reads it afresh.
  await one.close()
  await two.close()
  const three = await instance(t, infra)
  const stored = await three.call('GET', `/instamojo/v2/payment_requests/${id}/`, undefined, three.auth)
  t.equal(stored.body.status, 'Completed', 'the database holds it Completed')
  t.match(stored.body.payments, [new RegExp(`/v2/payments/${payment}/$`)], 'with its payment')
})

t.test('a request paid through one instance is not paid again through another that held it before', async t => {
  const { hook, one, two, id, page } = await requestHeldByTwo(t)

  t.equal((await complete(one, id)).status, 200, 'paid through one')
  const again = await complete(two, id)
  t.equal(again.status, 400, `paying it again through two is refused (${JSON.stringify(again.body)})`)
  t.match(again.body, { success: false, message: /already been paid/ })
  const onPage = await two.call('POST', page, encode({ outcome: 'success' }), form)
  t.equal(onPage.status, 409, 'its checkout page on two is closed too')
  await eventually(async () => hook.received.length >= 1)
  const stored = await eventually(async () => {
    const r = await two.call('GET', `/instamojo/v2/payment_requests/${id}/`, undefined, two.auth)
    return r.body.status === 'Completed' && r
  })
  t.equal(stored.body.payments.length, 1, 'one payment')
  t.equal(hook.received.length, 1, 'one webhook')
})

t.test('a payment refunded through two instances at once gives back no more than was paid', async t => {
  const infra = await createTestInfrastructure(t)
  const hook = await startReceiver(t)
  const one = await instance(t, infra)
  const two = await instance(t, infra)
  const { id } = await paymentRequest(one, hook.url)
  const payment = (await complete(one, id)).body.payment.id as string
  // Both hold the payment (two reads it from the database), neither has seen a refund of it.
  for (const inst of [one, two]) {
    const read = await eventually(async () => { const r = await inst.call('GET', `/instamojo/v2/payments/${payment}/`, undefined, inst.auth); return r.status === 200 && r })
    t.equal(read.status, 200)
  }
  const refund = (inst: Instance) => inst.call('POST', `/instamojo/v2/payments/${payment}/refund/`, encode({ type: 'QFL', body: 'Refunded twice at once?' }), { ...inst.auth, ...form })
  const answers = await Promise.all([refund(one), refund(two)])
  t.same(answers.map(a => a.status).sort(), [201, 400], `one refund of the whole payment, the other refused (${answers.map(a => JSON.stringify(a.body)).join(' ')})`)
  t.match(answers.find(a => a.status === 400)?.body, { success: false, message: /refunded in full/ })
  const more = await refund(answers[0]!.status === 201 ? two : one)
  t.equal(more.status, 400, 'and nothing more through either')
})

t.test('an OAuth token minted through one instance works through another at once', async t => {
  const infra = await createTestInfrastructure(t)
  const [one, two] = [await instance(t, infra), await instance(t, infra)]
  for (let i = 0; i < 5; i++) {
    const token = await v2Token(one.call)
    const res = await two.call('GET', '/instamojo/v2/payment_requests/', undefined, token)
    t.equal(res.status, 200, `token ${i + 1}: the other instance takes it with no wait`)
  }
})
