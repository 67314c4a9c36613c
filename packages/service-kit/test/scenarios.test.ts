import t from 'tap'
import { TestClock } from '../src/emulator/clock.ts'
import { collectScenarioRules, listScenarioExamples, readScenarioExample, ScenarioPlayer, scenarioRuleHeader, unknownFates } from '../src/emulator/scenarios.ts'
import { Simulator } from '../src/emulator/simulation.ts'

const settings = () => ({ latencyMs: { min: 0, max: 0 }, successRate: 1, seed: null, scenario: 'none' as const })

t.test('a story plays its steps in order per recipient, then the usual behaviour (or the last step again)', async t => {
  const clock = new TestClock()
  const player = new ScenarioPlayer(clock)
  player.load({
    started_at: clock.now(),
    scenario: {
      name: 's',
      stories: [
        { name: 'twice', service: 'payments', recipient: '+91 98123 45678', steps: [{ outcome: 'failure' }, { outcome: 'failure' }, { outcome: 'success' }] },
        { name: 'all-open', service: 'email', recipient: '*@example.in', steps: [{ fate: 'open' }], then: 'repeat_last' }
      ]
    }
  })
  const sim = new Simulator(settings, 'payments', player)
  t.same([1, 2, 3, 4].map(() => sim.story('+919812345678')?.outcome), ['failure', 'failure', 'success', undefined], 'digits match whatever the spacing; then nothing')
  t.same(sim.story('+919800000000'), undefined, 'another recipient: no story')
  t.equal(player.story('email', 'A@Example.in')?.fate, 'open')
  t.equal(player.story('email', 'a@example.in')?.fate, 'open', 'repeat_last')
  t.equal(player.story('whatsapp', 'a@example.in'), undefined, 'only its service')
  t.equal(player.story('payments', '+910000000000', 'twice')?.outcome, 'failure', 'the header names a story for any recipient')
  t.same(player.played().map(p => p.rule).slice(0, 2), ['story twice step 1/3', 'story all-open step 1/1'], 'newest first')
})

t.test('periods and rate limits follow the clock from the scenario start, through every decision', async t => {
  const clock = new TestClock()
  const t0 = Date.now()
  clock.apply({ frozen_at: t0, offset_ms: 0 })
  const player = new ScenarioPlayer(clock)
  player.load({ started_at: t0, scenario: { name: 'p', periods: [{ service: 'email', from_s: 10, to_s: 40, outcome: 'outage' }], rate_limits: [{ service: 'whatsapp', max: 2, per_s: 60 }] } })
  const email = new Simulator(settings, 'email', player)
  const whatsapp = new Simulator(settings, 'whatsapp', player)
  t.equal(email.forRequest(['a']).decide().outcome, 'success', 'at 0 s')
  clock.apply({ frozen_at: t0 + 15_000, offset_ms: 0 })
  t.equal(email.forRequest(['a']).decide().outcome, 'outage', 'at 15 s')
  t.equal(email.decide({ force: 'success' }).outcome, 'success', 'the outcome header still wins')
  clock.apply({ frozen_at: t0 + 40_000, offset_ms: 0 })
  t.equal(email.decide().outcome, 'success', 'at 40 s it is over')
  t.same([1, 2, 3].map(() => whatsapp.decide().outcome), ['success', 'success', 'rate_limited'])
  clock.apply({ frozen_at: t0 + 61_000, offset_ms: 0 })
  t.equal(whatsapp.decide().outcome, 'success', 'a new window')
})

t.test('the scenario read back from the database with its keys in another order is the one playing: its rate windows carry on', async t => {
  const clock = new TestClock()
  const t0 = Date.now()
  clock.apply({ frozen_at: t0, offset_ms: 0 })
  const player = new ScenarioPlayer(clock)
  player.load({ started_at: t0, scenario: { name: 'rl', rate_limits: [{ service: 'whatsapp', max: 2, per_s: 60 }] } })
  const whatsapp = new Simulator(settings, 'whatsapp', player)
  t.same([1, 2].map(() => whatsapp.decide().outcome), ['success', 'success'])
  // As jsonb gives it back at the next settings poll: the same scenario, keys reordered.
  player.load({ started_at: t0, scenario: { rate_limits: [{ per_s: 60, max: 2, service: 'whatsapp' }], name: 'rl' } })
  t.equal(whatsapp.decide().outcome, 'rate_limited', 'the window was not started over')
  t.equal(player.played().length, 1, 'and the step played is kept')
})

t.test('the order of precedence: the outcome header, a period or rate limit, a story\'s step, the fault setting, magic values, the success rate', async t => {
  const clock = new TestClock()
  const t0 = Date.now()
  clock.apply({ frozen_at: t0, offset_ms: 0 })
  const player = new ScenarioPlayer(clock)
  player.load({ started_at: t0, scenario: { name: 'p', rate_limits: [{ service: 'whatsapp', max: 1, per_s: 60 }] } })
  let fault: 'none' | 'outage' = 'none'
  const sim = new Simulator(() => ({ ...settings(), successRate: 0, scenario: fault }), 'whatsapp', player)
  t.equal(sim.decide({ magic: 'success' }).outcome, 'success', 'a magic value beats the success rate (0 here)')
  t.equal(sim.decide({ magic: 'success' }).outcome, 'rate_limited', 'a rate limit beats a magic value')
  t.equal(sim.decide({ story: 'success' }).outcome, 'rate_limited', 'and a story\'s step')
  t.equal(sim.decide({ force: 'success' }).outcome, 'success', 'the outcome header beats a rate limit')
  player.load(null)
  t.equal(sim.preempt({}), undefined, 'no header and no scenario: the request\'s own content decides (settle)')
  t.same(sim.settle({ magic: 'timeout' }), { outcome: 'timeout', delayMs: 120_000 }, 'a magic value may ask for any outcome (a Zoom topic tagged [timeout])')
  fault = 'outage'
  t.equal(sim.decide({ magic: 'success' }).outcome, 'outage', 'the fault setting beats a magic value')
  t.equal(sim.settle({ story: 'success', magic: 'failure' }).outcome, 'success', 'a story\'s step beats the fault setting')
  t.equal(sim.preempt({ force: 'timeout' })?.delayMs, 120_000, 'a forced timeout holds the request')
})

t.test('every example matches the schema and names only fates its service knows', async t => {
  const examples = listScenarioExamples()
  t.ok(examples.length >= 6)
  for (const e of examples) {
    const s = readScenarioExample(e.name)
    t.ok(s, e.name)
    t.same(unknownFates(s!), [], `${e.name}: known fates`)
  }
  t.same(unknownFates({ name: 'x', stories: [{ name: 'y', service: 'voice', steps: [{ fate: 'exploded' }] }] }), ['stories/0/steps/0/fate: voice has no fate "exploded" (known: completed, busy, no-answer, failed, voicemail, hold, reject, error)'])
  t.equal(readScenarioExample('../etc/passwd'), undefined)
})

t.test('a step\'s event times: passed on with its decision, listed in what it decided, checked against the service\'s later events', async t => {
  const clock = new TestClock()
  const player = new ScenarioPlayer(clock)
  player.load({ started_at: clock.now(), scenario: { name: 'timed', stories: [{ name: 'later', service: 'email', recipient: '*', steps: [{ fate: 'open', at_s: { open: 120, click: 180 } }] }] } })
  t.same(player.story('email', 'a@example.in'), { fate: 'open', at_s: { open: 120, click: 180 }, outcome: undefined, rule: 'story later step 1/1' })
  t.equal(player.played()[0]!.decided, 'fate open, open at 120 s, click at 180 s')
  t.same(unknownFates({ name: 'bad', stories: [{ name: 's', service: 'email', recipient: '*', steps: [{ fate: 'open', at_s: { read: 5 } }] }] }),
    ['stories/0/steps/0/at_s/read: email sends no later event "read" (known: processed, delivered, deferred, bounce, dropped, open, click, spamreport)'])
  t.same(unknownFates({ name: 'ok', stories: [{ name: 's', service: 'whatsapp', recipient: '*', steps: [{ fate: 'read', at_s: { delivered: 1, read: 600 } }] }] }), [])
})

t.test('the rules played while one request is handled are collected for its answer, as a printable header', async t => {
  const clock = new TestClock()
  const player = new ScenarioPlayer(clock)
  player.load({ started_at: clock.now(), scenario: { name: 'j', stories: [{ name: 'note', service: 'email', recipient: '*', steps: [{ fate: 'open', note: 'ouvert — après 2 min' }], then: 'repeat_last' }] } })
  const rules: string[] = []
  await collectScenarioRules(rules, async () => {
    await new Promise(resolve => setImmediate(resolve))
    player.story('email', 'a@example.in') // after an await: still this request's
  })
  player.story('email', 'b@example.in') // outside any request: collected nowhere
  t.same(rules, ['story note step 1/1 (ouvert — après 2 min)'])
  t.equal(scenarioRuleHeader([...rules, ...rules]), 'story note step 1/1 (ouvert ? apr?s 2 min)', 'once each, printable ASCII (a header value)')
})

t.test('played again at the same instant of a frozen clock, a scenario starts over; read back again, it carries on', async t => {
  const clock = new TestClock()
  const t0 = Date.now()
  clock.apply({ frozen_at: t0, offset_ms: 0 })
  const player = new ScenarioPlayer(clock)
  const scenario = { name: 'twice', stories: [{ name: 'twice', service: 'payments' as const, recipient: '+919812345678', steps: [{ outcome: 'failure' as const }, { outcome: 'success' as const }] }] }
  player.load({ started_at: t0, run: 'first', scenario })
  const sim = new Simulator(settings, 'payments', player)
  t.equal(sim.story('+919812345678')?.outcome, 'failure')
  player.load({ started_at: t0, run: 'first', scenario })
  t.equal(sim.story('+919812345678')?.outcome, 'success', 'the same start read back: the story goes on')
  player.load({ started_at: t0, run: 'second', scenario })
  t.equal(sim.story('+919812345678')?.outcome, 'failure', 'a new start at the same instant: from its first step')
})

t.test('a story the emulators could not play as written is refused, each problem named where it is', async t => {
  const problems = unknownFates({
    name: 'careless',
    stories: [
      { name: 'twice', service: 'payments', recipient: '+919812345678', steps: [{ outcome: 'failure', fate: 'paid' }] },
      { name: 'twice', service: 'email', recipient: 'asha@example.in', steps: [{ fate: 'open', at_s: { open: 200, click: 100 } }] },
      { name: 'call', service: 'voice', recipient: 'not a number', steps: [{ fate: 'busy' }] },
      { name: 'mail', service: 'email', recipient: 'nobody', steps: [{ fate: 'open' }] },
      { name: 'fine', service: 'whatsapp', recipient: '+91 98123 *', steps: [{ outcome: 'success', fate: 'read', at_s: { delivered: 1, read: 5 } }] }
    ]
  })
  t.match(problems.join('\n'), /stories\/0\/steps\/0: a step either refuses the request \(outcome failure\) or gives it a fate \(paid\), not both/)
  t.match(problems.join('\n'), /stories\/1\/name: "twice" is stories\/0's name too/)
  t.match(problems.join('\n'), /stories\/1\/steps\/0\/at_s\/click: at 100 s, before open \(200 s\)/)
  t.match(problems.join('\n'), /stories\/2\/recipient: a voice story's recipient is a phone number/)
  t.match(problems.join('\n'), /stories\/3\/recipient: an email story's recipient is an address/)
  t.notMatch(problems.join('\n'), /stories\/4/, 'a well-written story passes')
})

t.test('a 429 of a spent rate window says when the window ends; any other, a second', async t => {
  const clock = new TestClock()
  const t0 = Date.now()
  clock.apply({ frozen_at: t0, offset_ms: 0 })
  const player = new ScenarioPlayer(clock)
  player.load({ started_at: t0, run: 'r', scenario: { name: 'rl', rate_limits: [{ service: 'whatsapp', max: 2, per_s: 60 }] } })
  const whatsapp = new Simulator(settings, 'whatsapp', player)
  t.equal(whatsapp.retryAfter(), '1', 'room left in the window')
  t.same([1, 2, 3].map(() => whatsapp.decide().outcome), ['success', 'success', 'rate_limited'])
  t.equal(whatsapp.retryAfter(), '60', 'spent at its start: the whole minute')
  clock.apply({ frozen_at: t0 + 45_500, offset_ms: 0 })
  t.equal(whatsapp.retryAfter(), '15', 'later in it: what is left, rounded up')
  t.equal(new Simulator(settings, 'email', player).retryAfter(), '1', 'another service: no window of its own')
})
