/**
 * The README's order of precedence on the Zoom emulator: the outcome header, then a scenario's
 * period or rate limit, then a story's step, then the fault scenario setting, magic topics and the
 * success rate. A magic topic is not the outcome header: while Zoom rate limits or is down, a
 * `[fail]` meeting gets the same answer as any other.
 */
import t from 'tap'
import { startZoomApp, type ZoomTestApp } from './helper.ts'

/**
 * Plays a scenario from now. The stored copy comes back from the database (jsonb) with its keys in
 * another order, which the player takes for a new start and so starts the windows over: refreshed
 * here at once, not by the next poll in the middle of a test.
 */
async function play (runtime: ZoomTestApp['runtime'], scenario: Parameters<ZoomTestApp['runtime']['setScenario']>[0]) {
  await runtime.setScenario(scenario, 'test')
  await runtime.refresh()
}

t.test('a rate limit comes before the magic topics; the outcome header before the rate limit', async t => {
  const { zcall, runtime } = await startZoomApp(t)
  const create = (topic: string, headers: Record<string, string> = {}) => zcall('POST', '/v2/users/me/meetings', { topic }, headers)
  // The token first: a token request counts against the rate limit too.
  t.equal((await zcall('GET', '/v2/users/me/meetings')).status, 200)
  await play(runtime, { name: 'limited', rate_limits: [{ service: 'zoom', max: 2, per_s: 3600 }] })

  t.same([(await create('Standup')).status, (await create('Retro')).status], [201, 201], 'the first two of the window go through')
  const failing = await create('[fail] Board meeting')
  t.equal(failing.status, 429, 'past the rate a [fail] topic is rate limited, not failed')
  t.same(failing.body, { code: 429, message: 'You have reached the maximum per-second rate limit for this API. Try again later.' }, 'in Zoom\'s envelope')
  t.equal(failing.headers['x-switchboard-simulated'], 'rate_limited')
  t.ok(Number(failing.headers['retry-after']) > 3590, `Retry-After: until the hour's window ends (${String(failing.headers['retry-after'])} s)`)
  t.equal((await create('[outage] All hands')).status, 429, 'an [outage] topic too')
  t.equal((await create('[fail] Board meeting', { 'x-switchboard-outcome': 'success' })).status, 201, 'the outcome header still wins')
  t.equal(runtime.scenarios.played().filter(p => p.rule === 'rate limit 2/3600 s').length, 2, 'each 429 is a played step of the scenario')

  // A period: Zoom down answers a magic topic as it answers any other.
  await play(runtime, { name: 'down', periods: [{ service: 'zoom', from_s: 0, to_s: 3600, outcome: 'outage' }] })
  const down = await create('[rate_limited] Planning')
  t.same([down.status, down.headers['x-switchboard-simulated']], [503, 'outage'])
})

t.test('the fault scenario setting comes before the magic topics; they still beat the success rate', async t => {
  const { zcall, runtime } = await startZoomApp(t)
  const create = (topic: string) => zcall('POST', '/v2/users/me/meetings', { topic })
  t.equal((await create('[rate_limited] Planning')).status, 429, 'no scenario: the tag decides')
  await runtime.update('zoom', { simulation: { scenario: 'outage' } }, 'test')
  const down = await create('[rate_limited] Planning')
  t.same([down.status, down.headers['x-switchboard-simulated']], [503, 'outage'], 'the outage fault scenario fails a [rate_limited] topic as down')
})
