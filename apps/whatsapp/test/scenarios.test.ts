/**
 * Scenarios on a real service (issue 24). Each step visible in the journal: the exchange recorded
 * for an emulator request a scenario decided carries the rule that decided it
 * (x-switchboard-scenario-rule on the emulator's answer, kept by the capture in
 * activity_exchanges), and only those. A step's times (at_s): statuses on the test clock.
 */
import t from 'tap'
import { SCENARIO_RULE_HEADER } from '@switchboard/service-kit/scenarios'
import { eventually, startWhatsAppApp } from './helper.ts'

const send = (to: string) => ({ to_number: to, template_name: 'order_confirmation', params: ['Asha', '#A-1042'], contact_name: 'Asha Rao' })

t.test('a story\'s step and a period: each exchange they decided names its rule; one they did not names none', async t => {
  const { call, activityLog, runtime } = await startWhatsAppApp(t)
  await runtime.setScenario({
    name: 'journal',
    stories: [{ name: 'never-read', service: 'whatsapp', recipient: '+919820000001', steps: [{ fate: 'delivered_unread', note: 'delivered, never read' }] }],
    periods: [{ service: 'whatsapp', from_s: 3600, to_s: 3660, outcome: 'outage' }]
  }, 'test')

  const story = await call('POST', '/messages', send('+919820000001'))
  t.equal(story.status, 202)
  const plain = await call('POST', '/messages', send('+919820000002'))
  t.equal(plain.status, 202)
  // An hour on: the period (provider down) decides the next request.
  runtime.clock.apply({ frozen_at: runtime.clock.now() + 3_600_000, offset_ms: 0 })
  t.teardown(() => runtime.clock.apply({ frozen_at: null, offset_ms: 0 }))
  const down = await call('POST', '/messages', send('+919820000003'))
  t.not(down.status, 202, 'the period made the provider fail')

  const sendsTo = async (digits: string) => {
    await activityLog.flush()
    const rows = await activityLog.select('activity_exchanges', { where: { channel: 'whatsapp', kind: 'provider' } })
    return rows.filter(r => JSON.stringify(r.request).includes(digits) && (r.method === 'POST'))
  }
  const ruleOf = (row: Record<string, unknown>) => ((row.response as { headers: Record<string, unknown> }).headers)[SCENARIO_RULE_HEADER]
  const [storyRow] = await eventually(async () => { const r = await sendsTo('9820000001'); return r.length > 0 && r })
  t.equal(ruleOf(storyRow!), 'story never-read step 1/1 (delivered, never read)', 'the story\'s step, on the journal\'s record of the request')
  const [plainRow] = await eventually(async () => { const r = await sendsTo('9820000002'); return r.length > 0 && r })
  t.equal(ruleOf(plainRow!), undefined, 'a request no rule decided names none')
  const [downRow] = await eventually(async () => { const r = await sendsTo('9820000003'); return r.length > 0 && r })
  t.equal(ruleOf(downRow!), 'period 3600-3660 s', 'the period that made the provider fail')
})

t.test('a step\'s times: read ten minutes after the send, on the test clock', async t => {
  const { call, activityLog, runtime } = await startWhatsAppApp(t)
  await runtime.setScenario({
    name: 'timed',
    stories: [
      { name: 'read-later', service: 'whatsapp', recipient: '+919820000011', steps: [{ fate: 'read', at_s: { read: 600 } }] },
      // Delivered at 599 s: once it is, the clock has passed 599 s and the statuses have flowed.
      { name: 'probe', service: 'whatsapp', recipient: '+919820000012', steps: [{ fate: 'delivered_unread', at_s: { delivered: 599 } }] }
    ]
  }, 'test')
  // On a whole second: the emulator posts a status at the first 100 ms tick at or after its time.
  const t0 = Math.floor(runtime.clock.now() / 1000) * 1000
  runtime.clock.apply({ frozen_at: t0, offset_ms: 0 })
  t.teardown(() => runtime.clock.apply({ frozen_at: null, offset_ms: 0 }))
  const status = async (id: string) => { await activityLog.flush(); return (await activityLog.select('whatsapp_logs', { where: { id } }))[0]?.status }

  const later = (await call('POST', '/messages', send('+919820000011'))).body.id as string
  const probe = (await call('POST', '/messages', send('+919820000012'))).body.id as string
  runtime.clock.apply({ frozen_at: t0 + 2000, offset_ms: 0 })
  await eventually(async () => await status(later) === 'delivered')
  runtime.clock.apply({ frozen_at: t0 + 599_000, offset_ms: 0 })
  await eventually(async () => await status(probe) === 'delivered')
  t.equal(await status(later), 'delivered', 'at 599 s (the probe delivered): not read yet')
  runtime.clock.apply({ frozen_at: t0 + 600_000, offset_ms: 0 })
  await eventually(async () => await status(later) === 'read')
  t.pass('read once the clock reaches ten minutes')
})

t.test('a rate limit and a period come before the magic numbers (the README\'s order), and before a story\'s step', async t => {
  const { call, runtime } = await startWhatsAppApp(t)
  await runtime.setScenario({
    name: 'limited',
    stories: [{ name: 'never-read', service: 'whatsapp', recipient: '+919820000021', steps: [{ fate: 'delivered_unread' }] }],
    rate_limits: [{ service: 'whatsapp', max: 3, per_s: 3600 }]
  }, 'test')
  const sent = []
  for (const to of ['+919000000005', '+919000000004', '+919000000005', '+919000000005', '+919000000001', '+919820000021']) sent.push(await call('POST', '/messages', send(to)))
  t.same(sent.slice(0, 3).map(r => r.status), [202, 202, 202], 'the first three of the window go through')
  t.ok(sent.slice(3).every(r => r.status === 429), `past the rate every send is refused as rate limited, magic numbers included: ${sent.map(r => r.status).join(', ')}`)
  const played = runtime.scenarios.played()
  t.equal(played.filter(p => p.rule === 'rate limit 3/3600 s').length, 3, 'each 429 is a played step of the scenario')
  t.notOk(played.some(p => p.rule.startsWith('story never-read')), 'a rate limited send took no step of its story')

  // A period: the provider down answers a magic number as it answers any other.
  await runtime.setScenario({ name: 'down', periods: [{ service: 'whatsapp', from_s: 0, to_s: 3600, outcome: 'outage' }] }, 'test')
  const down = await call('POST', '/messages', send('+919000000004'))
  t.not(down.status, 202, 'the provider down fails a magic number\'s send too')
  t.equal(runtime.scenarios.played()[0]?.rule, 'period 0-3600 s')
})
