/**
 * The README's order of precedence on the SendGrid emulator: the outcome header, then a scenario's
 * period or rate limit, then a story's step, then the fault scenario setting, magic recipients and
 * the success rate. While SendGrid rate limits or is down, a magic recipient gets the same answer
 * as any other, and a story takes no step.
 */
import t from 'tap'
import { auth, mail, startEmailApp, type EmailTestApp } from './helper.ts'

/**
 * Plays a scenario from now. The stored copy comes back from the database (jsonb) with its keys in
 * another order, which the player takes for a new start and so starts the windows over: refreshed
 * here at once, not by the next poll in the middle of a test.
 */
async function play (runtime: EmailTestApp['runtime'], scenario: Parameters<EmailTestApp['runtime']['setScenario']>[0]) {
  await runtime.setScenario(scenario, 'test')
  await runtime.refresh()
}

t.test('a rate limit comes before the magic recipients and a story\'s step; the outcome header before the rate limit', async t => {
  const { call, runtime } = await startEmailApp(t)
  await play(runtime, {
    name: 'limited',
    stories: [{ name: 'opened', service: 'email', recipient: 'asha@example.in', steps: [{ fate: 'open' }] }],
    rate_limits: [{ service: 'email', max: 2, per_s: 3600 }]
  })
  const send = (to: string | string[], headers: Record<string, string> = {}, extra: Record<string, unknown> = {}) => call('POST', '/sendgrid/v3/mail/send', mail(to, extra), { ...auth, ...headers })

  const window = (r: { headers: Record<string, unknown> }) => [r.headers['x-ratelimit-limit'], r.headers['x-ratelimit-remaining']]
  const [first, second] = [await send('deliver@example.com'), await send('ravi@example.in')]
  t.same([first.status, second.status], [202, 202], 'the first two of the window go through')
  t.same([window(first), window(second)], [['2', '1'], ['2', '0']], 'the rate-limit headers count the window down')
  const limited = await send('reject@example.com')
  t.same(window(limited), ['2', '0'])
  const reset = Number(limited.headers['x-ratelimit-reset']) - Date.now() / 1000
  t.ok(reset > 3500 && reset <= 3601, `X-RateLimit-Reset is the window's end, in unix seconds (${Math.round(reset)} s away)`)
  t.same([limited.status, limited.body], [429, { errors: [{ field: null, message: 'too many requests' }] }], 'past the rate reject@ is rate limited, not refused, in SendGrid\'s envelope')
  t.ok(Math.abs(Number(limited.headers['retry-after']) - reset) <= 1, `Retry-After: the same wait, in whole seconds (${String(limited.headers['retry-after'])})`)
  t.equal((await send('a@example.com', {}, { from: { email: 'unverified@example.com' } })).status, 429, 'an unverified sender too')
  t.equal((await send('deliver@example.com')).status, 429, 'deliver@ too')
  t.equal((await send('asha@example.in')).status, 429, 'a story\'s recipient too')
  t.equal((await send('deliver@example.com', { 'x-switchboard-outcome': 'success' })).status, 202, 'the outcome header still wins')
  const played = runtime.scenarios.played()
  t.equal(played.filter(p => p.rule === 'rate limit 2/3600 s').length, 4, 'each 429 is a played step of the scenario')
  t.notOk(played.some(p => p.rule.startsWith('story opened')), 'a rate limited send took no step of its story')

  // A period: SendGrid down answers a magic recipient as it answers any other.
  await play(runtime, { name: 'down', periods: [{ service: 'email', from_s: 0, to_s: 3600, outcome: 'outage' }] })
  const down = await send('reject@example.com')
  t.same([down.status, down.headers['x-switchboard-simulated']], [503, 'outage'])
})

t.test('the fault scenario setting comes after a story\'s step and before the magic recipients', async t => {
  const { call, runtime } = await startEmailApp(t)
  await play(runtime, { name: 'opened', stories: [{ name: 'opened', service: 'email', recipient: 'asha@example.in', steps: [{ fate: 'open' }] }] })
  await runtime.update('email', { simulation: { scenario: 'rate_limit' } }, 'test')
  const send = (to: string) => call('POST', '/sendgrid/v3/mail/send', mail(to), auth)
  t.equal((await send('reject@example.com')).status, 429, 'the rate_limit fault scenario rate limits reject@')
  t.equal((await send('deliver@example.com')).status, 429, 'and deliver@')
  t.equal((await send('asha@example.in')).status, 202, 'a story\'s step is above the fault setting')
})
