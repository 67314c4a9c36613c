/**
 * The README's order of precedence on the Bolna emulator: the outcome header, then a scenario's
 * period or rate limit, then a story's step, then the fault scenario setting, magic numbers and the
 * success rate. A magic number is not the outcome header: while Bolna rate limits or is down, it
 * gets the same answer as any other number, and a story takes no step.
 */
import t from 'tap'
import { AGENTS, auth, NUMBERS, startVoiceApp, type VoiceTestApp } from './helper.ts'

const call = (to: string) => ({ agent_id: AGENTS.reminder, recipient_phone_number: to })

/**
 * Plays a scenario from now. The stored copy comes back from the database (jsonb) with its keys in
 * another order, which the player takes for a new start and so starts the windows over: refreshed
 * here at once, not by the next poll in the middle of a test.
 */
async function play (runtime: VoiceTestApp['runtime'], scenario: Parameters<VoiceTestApp['runtime']['setScenario']>[0]) {
  await runtime.setScenario(scenario, 'test')
  await runtime.refresh()
}

t.test('a rate limit comes before the magic numbers and a story\'s step; the outcome header before the rate limit', async t => {
  const { call: req, runtime } = await startVoiceApp(t)
  await play(runtime, {
    name: 'limited',
    stories: [{ name: 'busy-once', service: 'voice', recipient: '+919820000031', steps: [{ fate: 'busy' }] }],
    rate_limits: [{ service: 'voice', max: 2, per_s: 3600 }]
  })
  const dial = (to: string, headers: Record<string, string> = {}) => req('POST', '/bolna/call', call(to), { ...auth, ...headers })

  const held = await dial(NUMBERS.hold)
  t.same([held.status, (await dial('+919876543210')).status], [200, 200], 'the first two of the window go through')
  const limited = await dial(NUMBERS.completed)
  t.same([limited.status, limited.body], [429, { error: 429, message: 'Rate limit exceeded: 500 per 1 minute' }], 'past the rate a number that is always answered is rate limited, in Bolna\'s envelope')
  t.ok(Number(limited.headers['retry-after']) > 3590, `Retry-After: until the hour's window ends (${String(limited.headers['retry-after'])} s)`)
  t.equal((await dial(NUMBERS.reject)).status, 429, 'a number refused with a 400 gets the 429 instead')
  t.equal((await dial(NUMBERS.error)).status, 429, 'and one that fails with a 500')
  t.equal((await dial('+919820000031')).status, 429, 'a story\'s recipient too')
  const stop = await req('POST', `/bolna/call/${held.body.execution_id}/stop`, undefined, auth)
  t.same([stop.status, stop.headers['x-switchboard-simulated']], [429, 'rate_limited'], 'stopping a call is rate limited too')
  t.equal((await dial(NUMBERS.completed, { 'x-switchboard-outcome': 'success' })).status, 200, 'the outcome header still wins')
  const played = runtime.scenarios.played()
  t.equal(played.filter(p => p.rule === 'rate limit 2/3600 s').length, 5, 'each 429 is a played step of the scenario')
  t.notOk(played.some(p => p.rule.startsWith('story busy-once')), 'a rate limited call took no step of its story')

  // A period: Bolna down answers a magic number as it answers any other.
  await play(runtime, { name: 'down', periods: [{ service: 'voice', from_s: 0, to_s: 3600, outcome: 'outage' }] })
  const down = await dial(NUMBERS.reject)
  t.same([down.status, down.body], [503, { error: 503, message: 'Service Unavailable' }])
})

t.test('the fault scenario setting comes after a story\'s step and before the magic numbers', async t => {
  const { call: req, runtime } = await startVoiceApp(t)
  await play(runtime, { name: 'answered', stories: [{ name: 'answered', service: 'voice', recipient: '+919820000032', steps: [{ fate: 'completed' }] }] })
  await runtime.update('voice', { simulation: { scenario: 'outage' } }, 'test')
  const dial = (to: string) => req('POST', '/bolna/call', call(to), auth)
  t.equal((await dial(NUMBERS.completed)).status, 503, 'Bolna down fails a number that is always answered')
  t.equal((await dial(NUMBERS.reject)).status, 503, 'and one refused with a 400')
  t.equal((await dial('+919820000032')).status, 200, 'a story\'s step is above the fault setting')
})
