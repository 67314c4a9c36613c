import t from 'tap'
import { admin, api, eventually, startStack } from './helper.ts'

/**
 * Each example scenario (packages/service-kit/scenarios) played through the gateway: its story
 * steps happen in order, and every step is listed by GET /api/admin/scenario with the rule that
 * decided it. One stack for all: a scenario replaces the previous one.
 */
t.test('the example scenarios play their stories in order', async t => {
  const { call } = await startStack(t)
  const play = async (name: string) => {
    const res = await call('POST', `/api/admin/scenario/examples/${name}`, undefined, admin)
    t.equal(res.status, 200, `${name} is playing`)
    t.equal(res.body.active.name, name)
    return res.body
  }
  const played = async () => (await call('GET', '/api/admin/scenario', undefined, admin)).body.played as Array<{ service: string, rule: string, recipient: string | null, decided: string }>

  const examples = (await call('GET', '/api/admin/scenario/examples', undefined, admin)).body.items.map((e: { name: string }) => e.name)
  t.same(examples, ['call-busy-then-answered', 'email-opened-then-clicked', 'payment-fails-twice', 'provider-down', 'rate-limited', 'whatsapp-never-read'])

  await t.test('payment-fails-twice: declined, declined, then paid', async t => {
    await play('payment-fails-twice')
    const link = (await call('POST', '/api/admin/payment-links', { amount: 1499, purpose: 'Annual plan', buyer_name: 'Asha Rao', phone: '+919812345678' }, admin)).body
    const outcomes: string[] = []
    for (let i = 0; i < 3; i++) outcomes.push((await call('POST', `/api/admin/payment-links/${link.id}/simulate`, {}, admin)).body.status)
    t.same(outcomes, ['failed', 'failed', 'paid'])
    const steps = (await played()).filter(p => p.service === 'payments').reverse()
    t.same(steps.map(s => s.rule), ['story payment-fails-twice step 1/3 (declined by the bank)', 'story payment-fails-twice step 2/3 (declined again)', 'story payment-fails-twice step 3/3 (paid on the third try)'])
    // Each step in the journal too: the link's Activity item shows each completion and the rule that decided it.
    const ruled = await eventually(async () => {
      const detail = (await call('GET', `/api/admin/activity/payments/${link.id}`, undefined, admin)).body as { exchanges: Array<{ scenario?: string | null, created_at: string }> }
      const rules = detail.exchanges.filter(x => x.scenario).sort((a, b) => a.created_at.localeCompare(b.created_at)).map(x => x.scenario)
      return rules.length === 3 && rules
    })
    t.same(ruled, steps.map(s => s.rule), 'the inspect view names the step that decided each attempt')
  })

  await t.test('call-busy-then-answered: busy, then completed on the retry', async t => {
    await play('call-busy-then-answered')
    const dial = { to_number: '+919845000002', script_id: 'appointment_reminder' }
    const ending = async (id: string) => eventually(async () => {
      const s = (await call('GET', `/api/automation/call/status/${id}`, undefined, api)).body.status
      return ['completed', 'busy', 'no-answer', 'failed', 'canceled', 'error'].includes(s) ? s : undefined
    }, 60_000)
    const first = (await call('POST', '/api/automation/trigger/call', dial, api)).body
    t.equal(await ending(first.id), 'busy')
    const retry = (await call('POST', '/api/automation/trigger/call', dial, api)).body
    t.equal(await ending(retry.id), 'completed')
    t.same((await played()).filter(p => p.service === 'voice').map(p => p.decided).reverse(), ['fate busy', 'fate completed'])
  })

  await t.test('whatsapp-never-read: delivered, and never read while a read one is', async t => {
    await play('whatsapp-never-read')
    const send = async (to: string) => (await call('POST', '/api/automation/trigger/whatsapp', { to_number: to, template_name: 'order_confirmation', params: ['Asha', '#1'] }, api)).body.id as string
    const status = async (id: string) => (await call('GET', `/api/automation/whatsapp/messages/${id}`, undefined, api)).body.status as string
    const unread = await send('+919820000001')
    const read = await send('+919000000004') // the magic number that is always read: proof reads arrive
    t.ok(await eventually(async () => await status(read) === 'read', 20_000), 'the other message was read')
    t.ok(await eventually(async () => await status(unread) === 'delivered', 20_000), 'ours was delivered')
    t.equal(await status(unread), 'delivered', 'and not read')
    // The step in the journal too: the message's Activity item shows, on its provider request, the rule that decided it.
    const detail = (await call('GET', `/api/admin/activity/whatsapp/${unread}`, undefined, admin)).body as { exchanges: Array<{ method: string, scenario?: string | null }> }
    t.same(detail.exchanges.filter(x => x.method === 'POST').map(x => x.scenario), ['story delivered-never-read step 1/1'], 'the inspect view names the step that decided it')
    const other = (await call('GET', `/api/admin/activity/whatsapp/${read}`, undefined, admin)).body as { exchanges: Array<{ method: string, scenario?: string | null }> }
    t.same(other.exchanges.filter(x => x.method === 'POST').map(x => x.scenario ?? null), [null], 'a message no step decided names none')
  })

  await t.test('email-opened-then-clicked: the first mail to ravi bounces, the next is opened and clicked', async t => {
    await play('email-opened-then-clicked')
    const mail = async (to: string) => (await call('POST', '/api/automation/trigger/email', { to_email: to, subject: 'Your invoice', content: '<p>Hi</p>' }, api)).body.id as string
    const status = async (id: string) => (await call('GET', `/api/automation/email/${id}`, undefined, api)).body.status as string
    const first = await mail('ravi@example.in')
    t.ok(await eventually(async () => await status(first) === 'bounced', 20_000), 'the first bounced')
    const second = await mail('ravi@example.in')
    t.ok(await eventually(async () => await status(second) === 'clicked', 20_000), 'the second was opened, then clicked')
    // Anyone else at example.in: opened two minutes after the send and clicked a minute later, on the test clock.
    await call('POST', '/api/admin/clock/freeze', undefined, admin)
    t.teardown(async () => { await call('POST', '/api/admin/clock/real', undefined, admin) })
    const other = await mail('meera@example.in')
    await call('POST', '/api/admin/clock/advance', { seconds: 1 }, admin)
    t.ok(await eventually(async () => await status(other) === 'delivered', 20_000), 'delivered')
    await call('POST', '/api/admin/clock/advance', { seconds: 119 }, admin)
    t.ok(await eventually(async () => await status(other) === 'opened', 20_000), 'opened once the clock passes two minutes')
    await call('POST', '/api/admin/clock/advance', { seconds: 60 }, admin)
    t.ok(await eventually(async () => await status(other) === 'clicked', 20_000), 'clicked a minute later')
    t.match((await played()).filter(p => p.service === 'email').map(p => p.rule).reverse(), ['story ravi-bounces-once step 1/2', 'story ravi-bounces-once step 2/2', /^story opened-then-clicked step 1\/1/])
  })

  await t.test('provider-down: SendGrid is down from the 10th to the 40th second, on the test clock', async t => {
    await call('POST', '/api/admin/clock/freeze', undefined, admin)
    t.teardown(async () => { await call('POST', '/api/admin/clock/real', undefined, admin) })
    await play('provider-down')
    const send = async () => (await call('POST', '/api/automation/trigger/email', { to_email: 'deliver@example.com', subject: 'Hello', content: '<p>Hi</p>' }, api)).status
    t.equal(await send(), 202, 'at 0 s SendGrid answers')
    await call('POST', '/api/admin/clock/advance', { seconds: 15 }, admin)
    t.not(await send(), 202, 'at 15 s it is down')
    await call('POST', '/api/admin/clock/advance', { seconds: 30 }, admin)
    t.equal(await send(), 202, 'at 45 s it is back')
    t.ok((await played()).some(p => p.service === 'email' && p.rule === 'period 10-40 s' && p.decided === 'outage'))
  })

  await t.test('rate-limited: AiSensy answers 429 past 50 requests in a minute, and again in the next minute', async t => {
    await call('POST', '/api/admin/clock/freeze', undefined, admin)
    t.teardown(async () => { await call('POST', '/api/admin/clock/real', undefined, admin) })
    await play('rate-limited')
    const send = async (i: number) => {
      const res = await call('POST', '/api/automation/trigger/whatsapp', { to_number: `+9198${String(i).padStart(8, '0')}`, template_name: 'order_confirmation', params: ['Asha', `#${i}`] }, api)
      return (res.body.status ?? res.body.code) as string
    }
    const statuses: string[] = []
    for (let i = 0; i < 51; i++) statuses.push(await send(i))
    t.equal(statuses.slice(0, 50).filter(s => s === 'submitted').length, 50, 'the first 50 accepted')
    t.equal(statuses[50], 'WHATSAPP_PROVIDER_RATE_LIMITED', 'the 51st refused: AiSensy\'s 429')
    await call('POST', '/api/admin/clock/advance', { seconds: 60 }, admin)
    t.equal(await send(99), 'submitted', 'a new minute, a new allowance')
    t.ok((await played()).some(p => p.service === 'whatsapp' && p.rule === 'rate limit 50/60 s' && p.decided === 'rate_limited'))
  })

  const stopped = await call('DELETE', '/api/admin/scenario', undefined, admin)
  t.equal(stopped.status, 200, stopped.text)
  t.equal(stopped.body.active, null)
  const bad = await call('PUT', '/api/admin/scenario', { name: 'x', stories: [{ name: 's', service: 'voice', recipient: '+919800000000', steps: [{ fate: 'exploded' }] }] }, admin)
  t.equal(bad.status, 400)
  t.match(bad.body.message, /stories\/0\/steps\/0\/fate/)
})

t.test('a scenario played again on a frozen clock starts its stories over', async t => {
  const { call } = await startStack(t)
  t.equal((await call('POST', '/api/admin/clock/freeze', undefined, admin)).status, 200)
  const link = (await call('POST', '/api/admin/payment-links', { amount: 1499, purpose: 'Annual plan', buyer_name: 'Asha Rao', phone: '+919812345678' }, admin)).body
  const attempt = async () => (await call('POST', `/api/admin/payment-links/${link.id}/simulate`, {}, admin)).body.status
  t.equal((await call('POST', '/api/admin/scenario/examples/payment-fails-twice', undefined, admin)).status, 200)
  t.equal(await attempt(), 'failed')
  // Played again at the same frozen instant: from its first step, not on at its second.
  t.equal((await call('POST', '/api/admin/scenario/examples/payment-fails-twice', undefined, admin)).status, 200)
  t.same([await attempt(), await attempt(), await attempt()], ['failed', 'failed', 'paid'])
})

t.test('a scenario header that names no story of the playing scenario is refused, naming the stories there are', async t => {
  const { call } = await startStack(t)
  const message = (header: string) => call('POST', '/api/automation/trigger/whatsapp', { to_number: '+919812300001', template_name: 'welcome_message', params: ['Ada'] }, { ...api, 'x-switchboard-scenario': header })
  const none = await message('delivered-never-read')
  t.equal(none.status, 400, 'none is playing')
  t.match(none.body.message, /headers\/x-switchboard-scenario names a story, but no scenario is playing/)
  t.equal((await call('POST', '/api/admin/scenario/examples/whatsapp-never-read', undefined, admin)).status, 200)
  const scenarioName = await message('whatsapp-never-read')
  t.equal(scenarioName.status, 400, 'the scenario\'s own name is not a story\'s')
  t.match(scenarioName.body.message, /names no whatsapp story of the scenario playing \("whatsapp-never-read"\): its whatsapp stories are delivered-never-read/)
  t.equal((await message('delivered-never-read')).status, 202, 'the story\'s name plays it')
})
