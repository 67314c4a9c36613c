import t from 'tap'
import { loadDataset, readDataset } from '@switchboard/datasets/load'
import { planDataset } from '@switchboard/datasets/plan'
import { ADMIN_TOKEN, API_TOKEN, admin, api, eventually, startStack } from './helper.ts'

/**
 * The demo data set played into a real stack through the gateway: every step is accepted, and what
 * the data set fixed (payment outcomes, bounces, call endings, ended meetings) is what Stats and
 * the emulators then show, because it went through the same code paths as live traffic.
 */
t.test('the demo data set loads through the gateway and Stats agree with its plan', async t => {
  const { call, gatewayUrl } = await startStack(t)
  const dataset = readDataset('demo')
  const plan = planDataset(dataset)
  const loadStart = Date.now()
  const report = await loadDataset(dataset, { baseUrl: gatewayUrl, apiToken: API_TOKEN, adminToken: ADMIN_TOKEN, latency: 0 })
  t.same(report.failures, [], 'every step accepted')
  t.equal(report.ok, plan.steps.length)
  t.equal(report.seed, dataset.seed)

  const planned = <K extends string>(kind: string, key: (s: any) => K) => plan.steps.filter(s => s.kind === kind).reduce<Record<string, number>>((acc, s) => ({ ...acc, [key(s)]: (acc[key(s)] ?? 0) + 1 }), {})
  const payments = planned('payment', s => s.outcome)
  const paymentStats = (await call('GET', '/api/admin/payment-stats', undefined, admin)).body
  t.equal(paymentStats.created, dataset.payments!.count)
  t.equal(paymentStats.paid, payments.paid ?? 0, 'paid links as planned')
  t.equal(paymentStats.failed, payments.failed ?? 0, 'declined links as planned')
  t.equal(paymentStats.pending, payments.pending ?? 0, 'open links as planned')

  const emails = planned('email', s => s.outcome)
  const emailStats = await eventually(async () => {
    const s = (await call('GET', '/api/automation/email/stats', undefined, api)).body
    return (s.by_status.bounced ?? 0) === (emails.bounced ?? 0) && (s.by_status.dropped ?? 0) === (emails.dropped ?? 0) ? s : undefined
  }, 20_000)
  t.ok(emailStats, 'bounced and dropped emails as planned, through SendGrid\'s signed events')
  t.equal(emailStats?.total, dataset.email!.count)

  const calls = planned('call', s => s.outcome)
  const callStats = await eventually(async () => {
    const s = (await call('GET', '/api/automation/call/stats', undefined, api)).body
    return s.in_progress === 0 && s.total === dataset.voice!.count ? s : undefined
  }, 60_000)
  t.ok(callStats, 'every call reached its end')
  t.equal(callStats?.voicemail, calls.voicemail ?? 0)
  t.equal(callStats?.not_answered, (calls.busy ?? 0) + (calls.no_answer ?? 0))

  const meetings = (await call('GET', '/api/zoom/meetings?page_size=300', undefined, api)).body
  t.equal(meetings.total_records ?? meetings.meetings?.length, dataset.zoom!.count, 'every meeting exists')
  const booked = await Promise.all((meetings.meetings as Array<{ id: number }>).map(async m => (await call('GET', `/api/zoom/meetings/${m.id}`, undefined, api)).body as { status: string, start_time: string }))
  const scheduled = plan.steps.filter(s => s.kind === 'meeting' && !s.ended).length
  t.equal(booked.filter(m => m.status === 'ended').length, dataset.zoom!.count - scheduled, 'the ended meetings ended')
  const waiting = booked.filter(m => m.status === 'waiting')
  t.equal(waiting.length, scheduled, 'the scheduled ones are still to come')
  t.ok(waiting.every(m => Date.parse(m.start_time) > Date.now()), `booked for later: ${waiting.map(m => m.start_time).join(', ')}`)

  // Spread over the past week, as a real product's Activity is: played on the test clock set back.
  t.equal((await call('GET', '/api/admin/clock', undefined, admin)).body.mode, 'real', 'the clock is back to real time')
  const items = (await call('GET', '/api/admin/activity?limit=500', undefined, admin)).body.items as Array<{ channel: string, created_at: string }>
  const rows = items.filter(i => ['email', 'whatsapp', 'payments', 'voice'].includes(i.channel))
  const day = (iso: string) => new Date(Date.parse(iso) + 5.5 * 3_600_000).toISOString().slice(0, 10)
  const days = new Set(rows.map(r => day(r.created_at)))
  t.ok(days.size >= 6, `rows on ${days.size} different days (IST)`)
  const hourAgo = Date.now() - 3_600_000
  const recent = rows.filter(r => Date.parse(r.created_at) >= hourAgo).length
  t.ok(recent > 0 && recent < rows.length / 3, `some in the last hour, for the Stats charts (${recent} of ${rows.length})`)
  t.ok(rows.every(r => Date.parse(r.created_at) >= Date.now() - 8 * 86_400_000 && Date.parse(r.created_at) <= Date.now() + 60_000), 'none beyond the week, none in the future')

  // Their status changes are on the clock too: a row of an earlier day moved then (or at a later
  // hour the load played), not at the load's real time, and never before it was created. (The
  // emulators post what fell due on their next 100 ms tick: the moves of the last hours played
  // may land after the clock is back to real time, which is then their time.)
  const moved = (items as Array<{ channel: string, direct: boolean, id: string, created_at: string, updated_at: string }>)
    .filter(i => ['email', 'whatsapp', 'voice'].includes(i.channel) && !i.direct && Date.parse(i.created_at) < loadStart - 86_400_000)
  t.ok(moved.length > 30, `${moved.length} rows of earlier days`)
  t.same(moved.filter(r => Date.parse(r.updated_at) < Date.parse(r.created_at)), [], 'none moved before it was created')
  t.same(moved.filter(r => Date.parse(r.updated_at) >= loadStart), [], 'none moved at the load\'s real time')
})

t.test('the admin API loads a built-in data set with a seed and a latency, and names a field it does not take', async t => {
  const { call } = await startStack(t)
  const bad = await call('POST', '/api/admin/datasets/demo/load', { seed: 'seven' }, admin)
  t.equal(bad.status, 400)
  t.match(bad.body.message, /body\/seed/)
  const unknown = await call('POST', '/api/admin/datasets/demo/load', { sed: 7 }, admin)
  t.equal(unknown.status, 400)
  t.match(unknown.body.message, /sed/, 'a misspelt option is refused, not ignored')
  const example = await call('POST', '/api/admin/scenario/examples/provider-down', { x: 1 }, admin)
  t.equal(example.status, 400, 'an example scenario takes no body')
  t.match(example.body.message, /x/)
  const started = await call('POST', '/api/admin/datasets/demo/load', { seed: 7, latency_ms: 0 }, admin)
  t.equal(started.status, 202, started.text)
  t.equal(started.body.load.seed, 7, 'the answer names the seed at once')
  let seenRunning: { steps: number, ok: number } | undefined
  const load = await eventually(async () => {
    const state = (await call('GET', '/api/admin/datasets', undefined, admin)).body.load
    if (state?.status === 'running' && state.ok > 0) seenRunning ??= state
    return state?.status !== 'running' ? state : undefined
  }, 120_000, 50)
  t.match(load, { dataset: 'demo', status: 'done', seed: 7 }, 'planned with the seed given')
  t.ok(seenRunning && seenRunning.steps === load.steps && seenRunning.ok < load.ok, `its progress shown while it ran (${JSON.stringify(seenRunning)})`)
})

t.test('the same seed, the same data: WhatsApp\'s statuses too, and its simulation is left as it was', async t => {
  const { call, gatewayUrl } = await startStack(t)
  const dataset = readDataset('demo')
  /** The WhatsApp statuses once they have stopped moving: by message, in a fixed order. */
  const settled = async () => {
    let last = ''
    let same = 0
    for (let i = 0; i < 60 && same < 3; i++) {
      await new Promise(resolve => setTimeout(resolve, 500))
      const rows = (await call('GET', '/api/admin/journal?service=whatsapp&limit=1000', undefined, admin)).body.items as Array<{ contact: string, summary: string, status: string }>
      const now = JSON.stringify(rows.map(r => `${r.contact} ${r.summary} ${r.status}`).sort())
      same = now === last ? same + 1 : 0
      last = now
    }
    return JSON.parse(last) as string[]
  }
  const load = async () => {
    const report = await loadDataset(dataset, { baseUrl: gatewayUrl, apiToken: API_TOKEN, adminToken: ADMIN_TOKEN, latency: 0, seed: 7 })
    t.same(report.failures, [])
    return await settled()
  }
  const first = await load()
  t.ok(first.some(s => s.endsWith(' read')) && first.some(s => !s.endsWith(' read')), 'some read, some not: the statuses are drawn')
  t.equal((await call('GET', '/api/admin/settings/mock-mode', undefined, admin)).body.services.whatsapp.simulation.seed, null, 'WhatsApp\'s simulation is unseeded again after the load')
  t.equal((await call('POST', '/api/admin/reset', undefined, admin)).status, 200)
  t.same(await load(), first, 'loaded again with the same seed after a reset: every message ends the same')
})
