/**
 * The README's order of precedence on the Instamojo emulator: the outcome header, then a
 * scenario's period or rate limit, then a story's step, then the fault scenario setting, magic
 * amounts and the success rate. A magic amount is not the outcome header: it does not create a
 * link while Instamojo rate limits or is down.
 */
import t from 'tap'
import { encode, form, startPaymentsApp, v2Token, type PaymentsTestApp } from './helper.ts'

/**
 * Plays a scenario from now. The stored copy comes back from the database (jsonb) with its keys in
 * another order, which the player takes for a new start and so starts the windows over: refreshed
 * here at once, not by the next poll in the middle of a test.
 */
async function play (runtime: PaymentsTestApp['runtime'], scenario: Parameters<PaymentsTestApp['runtime']['setScenario']>[0]) {
  await runtime.setScenario(scenario, 'test')
  await runtime.refresh()
}

const link = (amount: string) => encode({ amount, purpose: 'Order 1042', buyer_name: 'Asha Rao', email: 'asha@example.in', phone: '9820000001' })

t.test('a rate limit comes before the magic amounts; the outcome header before the rate limit', async t => {
  const { call, runtime } = await startPaymentsApp(t)
  const auth = { ...await v2Token(call), ...form }
  await play(runtime, { name: 'limited', rate_limits: [{ service: 'payments', max: 2, per_s: 3600 }] })
  const create = (amount: string, headers: Record<string, string> = {}) => call('POST', '/instamojo/v2/payment_requests/', link(amount), { ...auth, ...headers })

  t.same([(await create('2500')).status, (await create('2500.11')).status], [201, 201], 'the first two of the window go through')
  const always = await create('2500.11')
  t.equal(always.status, 429, 'past the rate a ….11 amount (always created) is rate limited too')
  // The window started with the scenario, a moment ago: about an hour to wait (a second or two gone).
  const wait = Number(always.headers['retry-after'])
  t.ok(wait > 3590 && wait <= 3600, `Retry-After: until the hour's window ends (${wait} s)`)
  t.same(always.body, { success: false, message: `Request was throttled. Expected available in ${wait} seconds.` }, 'in Instamojo\'s envelope, the same wait in words')
  const fails = await create('2500.19')
  t.equal(fails.status, 429, 'and a ….19 amount (create fails) gets the 429, not its 500')
  t.equal((await create('2500.11', { 'x-switchboard-outcome': 'success' })).status, 201, 'the outcome header still wins')
  t.equal(runtime.scenarios.played().filter(p => p.rule === 'rate limit 2/3600 s').length, 2, 'each 429 is a played step of the scenario')

  // A period: Instamojo down answers a magic amount as it answers any other.
  await play(runtime, { name: 'down', periods: [{ service: 'payments', from_s: 0, to_s: 3600, outcome: 'outage' }] })
  const down = await create('2500.11')
  t.same([down.status, down.headers['x-switchboard-simulated']], [503, 'outage'])
})

t.test('the fault scenario setting comes before the magic amounts; they still beat the success rate', async t => {
  const { call, runtime } = await startPaymentsApp(t, { simulation: { successRate: 0 } })
  const auth = { ...await v2Token(call), ...form }
  const create = (amount: string) => call('POST', '/instamojo/v2/payment_requests/', link(amount), auth)
  t.equal((await create('2500.11')).status, 201, 'a ….11 amount is created whatever the success rate (0 here)')
  t.equal((await create('2500')).status, 500, 'an ordinary amount loses the draw')
  await runtime.update('payments', { simulation: { scenario: 'rate_limit' } }, 'test')
  t.equal((await create('2500.11')).status, 429, 'the rate_limit fault scenario rate limits a ….11 amount too')
})
