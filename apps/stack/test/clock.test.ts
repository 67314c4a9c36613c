import t from 'tap'
import { startRecorder } from '@switchboard/service-kit/testing'
import { admin, api, eventually, startStack } from './helper.ts'

/**
 * The test clock through the gateway's admin API: frozen, nothing scheduled falls due; an advance
 * makes it happen at once, with the scheduled instants (not the advance's target) on the events.
 */
t.test('a scheduled Zoom meeting starts, and its webhook arrives, only once the clock is advanced past its start', async t => {
  const hook = await startRecorder(t)
  const { call } = await startStack(t, { ZOOM_WEBHOOK_URL: `${hook.origin}/zoom-events` })
  const events = () => hook.received.map(r => JSON.parse(r.body) as { event: string, event_ts: number, payload: { object: { id: string | number } } })
  const startedOf = (id: number) => events().find(e => e.event === 'meeting.started' && String(e.payload.object.id) === String(id))

  t.equal((await call('GET', '/api/admin/clock', undefined, admin)).body.mode, 'real', 'real time is the default')
  const frozen = (await call('POST', '/api/admin/clock/freeze', undefined, admin)).body
  t.equal(frozen.mode, 'frozen')
  for (const name of ['email', 'whatsapp', 'payments', 'voice', 'zoom']) t.match(frozen.services[name], /^applied \(frozen/, `${name} applied it`)
  const t0 = Date.parse(frozen.frozen_at)

  const startAt = new Date(t0 + 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z')
  const later = (await call('POST', '/api/zoom/meetings', { topic: 'Quarterly review', start_time: startAt, duration: 30 }, api)).body
  // One that starts and ends inside the advance below: each step at its own instant, not the advance's target.
  const soonAt = new Date(t0 + 600_000).toISOString().replace(/\.\d{3}Z$/, 'Z')
  const soon = (await call('POST', '/api/zoom/meetings', { topic: 'Stand-up', start_time: soonAt, duration: 15 }, api)).body
  // A meeting with no start time starts at the clock's now: its webhook proves events flow while frozen.
  const now = (await call('POST', '/api/zoom/meetings', { topic: 'Right now', duration: 30 }, api)).body
  t.ok(await eventually(() => startedOf(now.id)), 'the meeting starting now sent meeting.started')
  t.equal(startedOf(now.id)!.event_ts, t0, 'stamped with the frozen instant')
  t.equal(startedOf(later.id), undefined, 'the scheduled one has not started')
  t.equal((await call('GET', `/api/zoom/meetings/${later.id}`, undefined, api)).body.status, 'waiting')
  await new Promise(resolve => setTimeout(resolve, 300))
  t.equal((await call('GET', '/api/admin/clock', undefined, admin)).body.now, frozen.now, 'the clock stood still')

  const bad = await call('POST', '/api/admin/clock/advance', { seconds: 10, to: startAt }, admin)
  t.equal(bad.status, 400)
  const past = await call('POST', '/api/admin/clock/advance', { to: new Date(t0 - 60_000).toISOString() }, admin)
  t.equal(past.status, 400)
  t.match(past.body.message, /body\/to/)

  const advanced = (await call('POST', '/api/admin/clock/advance', { seconds: 3600 }, admin)).body
  t.equal(Date.parse(advanced.now), t0 + 3_600_000)
  const started = await eventually(() => startedOf(later.id))
  t.ok(started, 'meeting.started arrived after the advance')
  t.equal(started!.event_ts, Date.parse(startAt), 'at its scheduled instant (to the second, as it was given)')
  const stepsOf = (id: number) => events().filter(e => String(e.payload.object.id) === String(id))
  const soonSteps = await eventually(() => { const steps = stepsOf(soon.id); return steps.length === 3 ? steps : undefined })
  t.same(soonSteps?.map(e => e.event), ['meeting.started', 'meeting.ended', 'recording.completed'], 'the meeting inside the advance started, ended and was recorded, in turn')
  t.equal(soonSteps?.[0]?.event_ts, Date.parse(soonAt), 'started at its start')
  t.equal(soonSteps?.[1]?.event_ts, Date.parse(soonAt) + 15 * 60_000, 'ended fifteen minutes later')
  t.ok(soonSteps![2]!.event_ts >= soonSteps![1]!.event_ts && soonSteps![2]!.event_ts < t0 + 3_600_000, 'its recording after its end, before the advance\'s target')
  t.equal((await call('GET', `/api/zoom/meetings/${later.id}`, undefined, api)).body.status, 'started')
  t.notOk(events().some(e => e.event === 'meeting.ended' && String(e.payload.object.id) === String(later.id)), 'its end (30 minutes later) is not due yet')

  const resumed = (await call('POST', '/api/admin/clock/resume', undefined, admin)).body
  t.equal(resumed.mode, 'shifted')
  t.ok(resumed.offset_ms > 3_500_000, 'resumed an hour ahead of real time')
  const real = (await call('POST', '/api/admin/clock/real', undefined, admin)).body
  t.same([real.mode, real.offset_ms, real.frozen_at], ['real', 0, null])
  const changes = (await call('GET', '/api/admin/settings/changes', undefined, admin)).body.items.filter((c: { key: string }) => c.key === 'clock')
  t.same(changes.map((c: { to_value: { mode: string } }) => c.to_value.mode), ['real', 'shifted', 'frozen', 'frozen'], 'every move is recorded like a setting')
})

t.test('a clock set back a day: new rows and their provider exchanges are stamped a day ago; at real time, now again', async t => {
  const { call } = await startStack(t)
  const bad = await call('POST', '/api/admin/clock/set', { to: 'yesterday' }, admin)
  t.equal(bad.status, 400)
  t.match(JSON.stringify(bad.body), /to/, 'names the field')

  const dayAgo = Date.now() - 86_400_000
  const set = (await call('POST', '/api/admin/clock/set', { to: new Date(dayAgo).toISOString() }, admin)).body
  t.same([set.mode, Date.parse(set.frozen_at)], ['frozen', dayAgo], 'frozen a day back')
  const then = (await call('POST', '/api/automation/trigger/email', { to_email: 'asha@example.in', subject: 'Yesterday', content: '<p>Hi</p>' }, api)).body.id as string
  await call('POST', '/api/admin/clock/real', undefined, admin)
  const now = (await call('POST', '/api/automation/trigger/email', { to_email: 'asha@example.in', subject: 'Today', content: '<p>Hi</p>' }, api)).body.id as string

  const detail = async (id: string) => eventually(async () => {
    const d = (await call('GET', `/api/admin/activity/email/${id}`, undefined, admin)).body as { row: { created_at: string }, exchanges: Array<{ created_at: string }> }
    return d.exchanges?.length > 0 ? d : undefined
  })
  const old = (await detail(then))!
  t.equal(Date.parse(old.row.created_at), dayAgo, 'the row, on the clock')
  t.equal(Date.parse(old.exchanges[0]!.created_at), dayAgo, 'its exchange with SendGrid, on the clock')
  const fresh = (await detail(now))!
  t.ok(Math.abs(Date.parse(fresh.row.created_at) - Date.now()) < 60_000, 'at real time: now')
})

t.test('on a frozen clock, items made at one instant list newest first in the order they were made', async t => {
  const { call } = await startStack(t)
  const frozenAt = Date.now() - 3_600_000
  t.equal((await call('POST', '/api/admin/clock/set', { to: new Date(frozenAt).toISOString() }, admin)).status, 200)
  t.teardown(async () => { await call('POST', '/api/admin/clock/real', undefined, admin) })
  const sent: string[] = []
  for (let i = 0; i < 12; i++) {
    const res = await call('POST', '/api/automation/trigger/email', { to_email: `order-${i}@example.in`, subject: `Order ${i}`, content: '<p>Hi</p>' }, api)
    t.equal(res.status, 202)
    sent.push(res.body.id as string)
  }
  const listed = await eventually(async () => {
    const items = (await call('GET', '/api/admin/activity?channel=email&limit=50', undefined, admin)).body.items as Array<{ id: string, created_at: string }>
    return items.length === sent.length ? items : undefined
  })
  t.ok(listed!.every(i => Date.parse(i.created_at) === frozenAt), 'all stamped at the one frozen instant')
  t.same(listed!.map(i => i.id), [...sent].reverse(), 'newest first, as made (ids were random before: a shuffled list)')
})

t.test('a call placed on a frozen clock takes each step at its own instant when an advance passes them, and Bolna dates it on the clock', async t => {
  const { call, urls } = await startStack(t)
  const t0 = Date.parse((await call('POST', '/api/admin/clock/freeze', undefined, admin)).body.frozen_at)
  const placed = await call('POST', '/api/automation/trigger/call', { to_number: '+919855550100', script_id: 'appointment_reminder' }, api)
  t.equal(placed.status, 202, placed.text)
  const advanced = (await call('POST', '/api/admin/clock/advance', { seconds: 600 }, admin)).body
  const target = Date.parse(advanced.now)
  const detail = await eventually(async () => {
    const r = await call('GET', `/api/admin/activity/voice/${placed.body.id}`, undefined, admin)
    return r.body.row?.status === 'completed' ? r.body : undefined
  }, 20_000, 100)
  t.ok(detail, 'the call completed within the advance')
  const ended = Date.parse(detail.row.updated_at)
  t.ok(ended > t0 && ended < target, `completed at its own instant (${detail.row.updated_at}), not the advance's target (${advanced.now})`)
  const execution = await fetch(`${urls.voice}/bolna/executions/${detail.row.execution_id}`, { headers: { authorization: 'Bearer bn-clock-test-key' } }).then(async r => await r.json() as { created_at: string, updated_at: string })
  t.equal(Date.parse(execution.created_at), t0, 'Bolna\'s execution was created at the frozen instant')
  t.equal(execution.updated_at, new Date(ended).toISOString(), 'and last changed when the row says')
})

t.test('a SendGrid send held for its send_at goes out at it, its events dated from it, in the advance that passes it', async t => {
  const hook = await startRecorder(t)
  const { call, urls } = await startStack(t)
  const sendgrid = (path: string, body: unknown) => fetch(`${urls.email}/sendgrid${path}`, { method: 'POST', headers: { authorization: 'Bearer SG.clock.test-key', 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const settings = await sendgrid('/v3/user/webhooks/event/settings', { enabled: true, url: `${hook.origin}/sg`, processed: true, delivered: true })
  t.equal(settings.status, 201, await settings.text())
  const t0 = Date.parse((await call('POST', '/api/admin/clock/freeze', undefined, admin)).body.frozen_at)
  const sendAt = Math.floor(t0 / 1000) + 60
  const sent = await sendgrid('/v3/mail/send', { personalizations: [{ to: [{ email: 'deliver@example.com' }] }], from: { email: 'me@example.com' }, subject: 'Later', content: [{ type: 'text/plain', value: 'Hi' }], send_at: sendAt })
  t.equal(sent.status, 202)
  // Held, not played at once: a send played now would be dated t0, which the timestamps below refuse.
  await call('POST', '/api/admin/clock/advance', { seconds: 120 }, admin)
  const events = await eventually(() => {
    const all = hook.received.flatMap(r => JSON.parse(r.body) as Array<{ event: string, timestamp: number }>)
    return all.some(e => e.event === 'delivered') ? all : undefined
  }, 10_000, 50)
  t.ok(events, 'processed and delivered came with the advance that passed its send_at, without another')
  t.equal(events?.find(e => e.event === 'processed')?.timestamp, sendAt, 'processed at its send_at')
  t.ok(events!.every(e => e.timestamp >= sendAt && e.timestamp < sendAt + 60), 'every event dated from its send_at, not the advance\'s target')
})
