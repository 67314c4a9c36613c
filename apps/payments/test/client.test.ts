import t from 'tap'
import { Agent, type Dispatcher } from 'undici'
import { ProviderError } from '@switchboard/service-kit/provider-client'
import { adminHeaders } from '@switchboard/service-kit/testing'
import { createInstamojoClient, type InstamojoAuth } from '../src/client/instamojo-client.ts'
import { startPaymentsApp } from './helper.ts'

/** An undici dispatcher that notes every request path, to see what the client sends. */
class Recording extends Agent {
  readonly seen: string[] = []
  override dispatch (options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    this.seen.push(`${options.method} ${options.path}`)
    return super.dispatch(options, handler)
  }
}

const AUTHS: Array<[string, InstamojoAuth]> = [
  ['v2', { kind: 'oauth', clientId: 'test_client', clientSecret: 'secret' }],
  ['v1.1', { kind: 'legacy', apiKey: 'test_key', authToken: 'test_token' }]
]

// One contract, run against the emulator with each API: the same normalised answers.
for (const [api, auth] of AUTHS) {
  t.test(`${api}: create, get, list, complete and read the payment`, async t => {
    const { url } = await startPaymentsApp(t)
    const client = createInstamojoClient({ baseUrl: `${url}/instamojo`, auth, emulatorHeaders: adminHeaders() })
    t.equal(client.api, api)
    const pr = await client.createPaymentRequest({ amount: '2500.00', purpose: 'FIFA 16', buyer_name: 'John Doe', email: 'foo@example.com', phone: '9999999999', allow_repeated_payments: false, send_email: false })
    t.match(pr, { id: /^[0-9a-f]{32}$/, amount: '2500.00', purpose: 'FIFA 16', status: 'Pending', phone: '+919999999999', payments: [], allow_repeated_payments: false, longurl: `${url}/instamojo/@switchboard/${pr.id}` })
    const got = await client.getPaymentRequest(pr.id)
    t.equal(got.id, pr.id)
    t.match(got.shorturl, /\/s\/\w{5}$/)
    const list = await client.listPaymentRequests({ limit: 10 })
    t.same(list.payment_requests.map(r => r.id), [pr.id])
    if (api === 'v2') t.equal(list.count, 1)

    const done = await client.completePayment(pr.id, { outcome: 'success' })
    t.match(done.payment, { id: /^MOJO/, status: 'Credit', amount: '2500.00', fees: '47.50', payment_request_id: pr.id })
    const payment = await client.getPayment(done.payment.id)
    t.match(payment, { id: done.payment.id, status: 'Credit', amount: '2500.00', fees: '47.50', currency: 'INR', email: 'foo@example.com', failure: null })
    const after = await client.getPaymentRequest(pr.id)
    t.same([after.status, after.payments], ['Completed', [done.payment.id]])
  })

  t.test(`${api}: Instamojo errors become ProviderErrors with the body kept`, async t => {
    const { url } = await startPaymentsApp(t)
    const client = createInstamojoClient({ baseUrl: `${url}/instamojo`, auth })
    const err = await client.createPaymentRequest({ amount: '5', purpose: 'p' }).catch(e => e)
    t.ok(err instanceof ProviderError)
    t.match(err, { kind: 'rejected', statusCode: 400, message: 'amount: Ensure this value is greater than or equal to 9.', providerBody: { success: false, message: { amount: [String] } } })
    const missing = await client.getPaymentRequest('0'.repeat(32)).catch(e => e)
    t.match(missing, { kind: 'not_found', statusCode: 404, message: 'Not found.' })
    const limited = await client.createPaymentRequest({ amount: '10', purpose: 'p' }, { 'x-switchboard-outcome': 'rate_limited' }).catch(e => e)
    t.match(limited, { kind: 'rate_limited', retryAfter: '1' })
    const down = await createInstamojoClient({ baseUrl: 'http://127.0.0.1:9/instamojo', auth, timeoutMs: 1000 }).getPayment('MOJO1').catch(e => e)
    t.match(down, { kind: 'unreachable' })
  })
}

t.test('v2: the token is fetched once, reused, renewed shortly before it expires, and on a 401', async t => {
  const { url } = await startPaymentsApp(t)
  const dispatcher = new Recording()
  t.teardown(() => dispatcher.close())
  let now = Date.now()
  const client = createInstamojoClient({ baseUrl: `${url}/instamojo`, auth: AUTHS[0]![1], dispatcher, now: () => now })
  const tokenCalls = () => dispatcher.seen.filter(s => s === 'POST /instamojo/oauth2/token/').length

  // Concurrent first calls share one token request.
  await Promise.all([client.listPaymentRequests(), client.listPaymentRequests(), client.listPaymentRequests()])
  t.equal(tokenCalls(), 1)
  await client.listPaymentRequests()
  t.equal(tokenCalls(), 1, 'cached')
  now += 36_000_000 - 120_000
  await client.listPaymentRequests()
  t.equal(tokenCalls(), 1, 'still valid two minutes before expiry')
  now += 90_000
  await client.listPaymentRequests()
  t.equal(tokenCalls(), 2, 'renewed within the last minute')

  // A token the API host does not know (tokens come from another host here, as after a provider
  // restart): the client renews once, then reports the 401; it never loops.
  const other = await startPaymentsApp(t)
  const stale = createInstamojoClient({ baseUrl: `${other.url}/instamojo`, tokenUrl: `${url}/instamojo/oauth2/token/`, auth: AUTHS[0]![1], dispatcher })
  const before = tokenCalls()
  const err = await stale.listPaymentRequests().catch(e => e)
  t.match(err, { kind: 'auth', statusCode: 401 }, 'a token the provider never issued: renewed once, then reported as an auth failure')
  t.equal(tokenCalls() - before, 2, 'one renewal, not a loop')
})

t.test('v2: refused client credentials are an auth error naming the token request', async t => {
  const { url } = await startPaymentsApp(t)
  const client = createInstamojoClient({ baseUrl: `${url}/instamojo`, auth: { kind: 'oauth', clientId: '', clientSecret: '' } })
  const err = await client.listPaymentRequests().catch(e => e)
  t.match(err, { kind: 'auth', statusCode: 401, message: /token request refused: invalid_client/ })
})

t.test('v1.1 sends the key and token headers, form bodies and trailing slashes', async t => {
  const { url } = await startPaymentsApp(t)
  const dispatcher = new Recording()
  t.teardown(() => dispatcher.close())
  const client = createInstamojoClient({ baseUrl: `${url}/instamojo`, auth: AUTHS[1]![1], dispatcher })
  const pr = await client.createPaymentRequest({ amount: '10', purpose: 'p' })
  await client.getPaymentRequest(pr.id)
  t.same(dispatcher.seen, ['POST /instamojo/api/1.1/payment-requests/', `GET /instamojo/api/1.1/payment-requests/${pr.id}/`])
})
