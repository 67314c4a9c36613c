import t, { type Test } from 'tap'
import { once } from 'node:events'
import { createServer } from 'node:http'
import { requestJson, startRecorder, type Recorded } from '@switchboard/service-kit/testing'
import { MeetingStore } from '../src/emulator/store.ts'
import { signZoomWebhook } from '../src/zoom-webhooks.ts'
import { eventually, startZoomApp } from './helper.ts'

const SECRET = 'lifecycle-secret-token'
const future = (ms: number) => new Date(Date.now() + ms).toISOString().replace(/\.\d{3}Z$/, 'Z')

/** A plain HTTP receiver standing in for a customer's webhook endpoint. */
async function receiver (t: Test): Promise<{ url: string, received: Recorded[] }> {
  const { origin, received } = await startRecorder(t)
  return { url: `${origin}/zoom-events`, received }
}

/** What the tests read off a received post: its JSON, and Zoom's signature and timestamp headers. */
const json = (post: Recorded) => JSON.parse(post.body)
const signature = (post: Recorded) => String(post.headers['x-zm-signature'])
const timestamp = (post: Recorded) => String(post.headers['x-zm-request-timestamp'])

t.test('waiting → started → ended on the meeting\'s clock, with signed webhooks and then three recordings', async t => {
  const hook = await receiver(t)
  // 600x: a 30-minute meeting lasts 3 s; starting in 2 meeting minutes is 200 ms away.
  const { zcall, token, call } = await startZoomApp(t, { env: { ZOOM_TIME_SCALE: '600', ZOOM_WEBHOOK_URL: hook.url, ZOOM_WEBHOOK_SECRET_TOKEN: SECRET } })
  const { body: m } = await zcall('POST', '/v2/users/me/meetings', { topic: 'Standup', start_time: future(2 * 60_000), duration: 30 })
  t.equal(m.status, 'waiting')
  const statuses: string[] = [m.status]
  const seen = async (want: string) => eventually(async () => {
    const s = (await zcall('GET', `/v2/meetings/${m.id}`)).body.status
    if (statuses.at(-1) !== s) statuses.push(s)
    return s === want
  }, 8000)
  await seen('started')
  await seen('finished')
  t.same(statuses, ['waiting', 'started', 'finished'])

  const events = await eventually(async () => hook.received.length >= 3 && hook.received, 5000)
  // Each is posted when it happens, but posts travel concurrently (with no recording delay,
  // ended and recording.completed leave in the same tick), and Zoom does not promise order either.
  t.same(events.map(e => json(e).event).sort(), ['meeting.ended', 'meeting.started', 'recording.completed'])
  t.equal(json(events[0]!).event, 'meeting.started', 'started arrives first: it is sent seconds earlier')
  for (const e of events) {
    t.equal(signature(e), signZoomWebhook(SECRET, timestamp(e), e.body), `${json(e).event}: v0=HMAC-SHA256(secret, "v0:{ts}:{body}")`)
    t.ok(Math.abs(Number(timestamp(e)) - Date.now() / 1000) < 30, 'timestamp in unix seconds')
    // providers.md writes "content-type: application/json"; Zoom's own docs show the header a
    // receiver logs as "application/json; charset=utf-8", which the emulator sends.
    t.equal(e.headers['content-type'], 'application/json; charset=utf-8')
    t.equal(e.body, JSON.stringify(json(e)), 'compact JSON.stringify bytes, so re-serialising verifies too')
    t.type(json(e).event_ts, 'number')
    t.equal(json(e).payload.account_id.length > 0, true)
  }
  // ended and recording.completed may arrive either way round: each is taken by its name.
  const named = (name: string) => events.find(e => json(e).event === name) as Recorded
  const [started, ended, completed] = [named('meeting.started'), named('meeting.ended'), named('recording.completed')]
  t.match(json(started).payload.object, { id: String(m.id), uuid: m.uuid, host_id: m.host_id, topic: 'Standup', type: 2, duration: 30, timezone: 'UTC' })
  t.equal(json(started).payload.object.start_time, m.start_time, 'meeting.started carries the meeting-clock start: the scheduled one')
  // The reference's signed meeting.started, key for key: the emulator's bytes are its layout with
  // this meeting's values (id a string here, though a number in the API; start_time with no millis).
  const o = json(started).payload.object
  t.equal(started.body, JSON.stringify({ event: 'meeting.started', event_ts: json(started).event_ts, payload: { account_id: json(started).payload.account_id, object: { id: o.id, uuid: o.uuid, host_id: o.host_id, topic: o.topic, type: o.type, start_time: o.start_time, timezone: o.timezone, duration: o.duration } } }))
  t.match(started.body, /^\{"event":"meeting\.started","event_ts":\d{13},"payload":\{"account_id":"[^"]+","object":\{"id":"\d{9,11}","uuid":"[A-Za-z0-9+/]{22}==",/)
  t.match(o.start_time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
  t.same(Object.keys(json(ended).payload.object), [...Object.keys(o), 'end_time'], 'meeting.ended adds end_time')
  t.equal(Date.parse(json(ended).payload.object.end_time) - Date.parse(json(ended).payload.object.start_time), 30 * 60_000, 'it lasted 30 meeting minutes')
  t.ok(ended.at - started.at > 1500 && ended.at - started.at < 12_000, `about 3 real seconds apart (${ended.at - started.at} ms)`)

  const object = json(completed).payload.object
  t.match(object, { id: m.id, uuid: m.uuid, recording_count: 3, host_email: 'host@switchboard.local', duration: 30 })
  t.type(json(completed).download_token, 'string')
  const recordings = (await zcall('GET', `/v2/meetings/${m.id}/recordings`)).body
  t.same(object.recording_files.map((f: { id: string }) => f.id), recordings.recording_files.map((f: { id: string }) => f.id))
  for (const f of object.recording_files) {
    const res = await call('GET', `${new URL(f.download_url).pathname}?access_token=${json(completed).download_token}`)
    t.equal(res.status, 200, `${f.file_type} downloads with the webhook's download_token`)
    t.equal(Number(res.headers['content-length']), f.file_size)
  }
  t.ok(await token())
})

t.test('a meeting with no start_time starts now; PATCH reschedules a waiting one; type 3 waits for an explicit end', async t => {
  const { zcall } = await startZoomApp(t, { env: { ZOOM_TIME_SCALE: '600', ZOOM_WEBHOOK_URL: 'off' } })
  const now = (await zcall('POST', '/v2/users/me/meetings', { topic: 'Now' })).body
  t.equal(now.status, 'started')
  const later = (await zcall('POST', '/v2/users/me/meetings', { topic: 'Later', start_time: future(24 * 3600_000) })).body
  t.equal((await zcall('PATCH', `/v2/meetings/${later.id}`, { start_time: future(60_000), duration: 1 })).status, 204)
  await eventually(async () => (await zcall('GET', `/v2/meetings/${later.id}`)).body.status === 'finished', 5000)
  const open = (await zcall('POST', '/v2/users/me/meetings', { topic: 'Open room', type: 3, duration: 1 })).body
  t.equal(open.start_time, undefined, 'a recurring meeting with no fixed time has no start_time')
  await new Promise(resolve => setTimeout(resolve, 200))
  t.equal((await zcall('GET', `/v2/meetings/${open.id}`)).body.status, 'waiting')
  await zcall('PUT', `/v2/meetings/${open.id}/status`, { action: 'end' })
  t.equal((await zcall('GET', `/v2/meetings/${open.id}`)).body.status, 'finished')
  const weekly = (await zcall('POST', '/v2/users/me/meetings', { topic: 'Weekly', type: 8, start_time: '2030-01-07T09:00:00Z', recurrence: { type: 2, repeat_interval: 1, end_times: 3 } })).body
  t.same(weekly.occurrences.map((o: { start_time: string }) => o.start_time), ['2030-01-07T09:00:00Z', '2030-01-14T09:00:00Z', '2030-01-21T09:00:00Z'])
  t.equal((await zcall('POST', '/v2/users/me/meetings', { topic: 'No rule', type: 8 })).body.errors[0].field, 'recurrence')
})

t.test('an app with no event subscription (ZOOM_WEBHOOK_URL=off): nothing is scheduled or sent, and meetings still live on their clock', async t => {
  const hook = await receiver(t)
  // 1 minute at 600x lasts 100 ms.
  const { zcall, app } = await startZoomApp(t, { env: { ZOOM_TIME_SCALE: '600', ZOOM_WEBHOOK_URL: 'off' } })
  const state = app.zoomEmulator
  const ids: number[] = []
  for (let i = 0; i < 20; i++) ids.push((await zcall('POST', '/v2/users/me/meetings', { topic: `Quiet ${i}`, duration: 1 })).body.id)
  const scheduled = (await zcall('POST', '/v2/users/me/meetings', { topic: 'Quiet later', start_time: future(24 * 3600_000), duration: 1 })).body
  t.equal(state.store.scheduled, 0, 'no lifecycle step is scheduled')
  await eventually(async () => (await zcall('GET', `/v2/meetings/${ids[19]}`)).body.status === 'finished', 5000)
  t.equal((await zcall('GET', `/v2/meetings/${ids[0]}/recordings`)).status, 200, 'recordings appear after the end all the same')
  t.equal((await zcall('GET', `/v2/meetings/${scheduled.id}`)).body.status, 'waiting')
  // 24 meeting hours at 600x: 144 s, running until it is ended.
  const running = (await zcall('POST', '/v2/users/me/meetings', { topic: 'Quiet running', duration: 1440 })).body
  t.equal((await zcall('PUT', `/v2/meetings/${running.id}/status`, { action: 'end' })).status, 204)
  t.equal((await zcall('GET', `/v2/meetings/${running.id}`)).body.status, 'finished', 'ending works')
  t.equal(state.webhooksSent, 0, 'no webhook was sent')
  t.equal(state.store.scheduled, 0)
  const st = (await zcall('GET', '/_switchboard/state')).body
  t.match(st, { scheduled_steps: 0, webhooks: { url: null, sent: 0 } })
  t.match((await zcall('POST', '/_switchboard/webhooks/validate', {})).body, { url: null, valid: false })
  t.equal(hook.received.length, 0)
})

t.test('PUT /_switchboard/webhooks edits the event subscription: events from then on go to the new URL, none with null', async t => {
  const hook = await receiver(t)
  const { zcall, app, zoom, token } = await startZoomApp(t, { env: { ZOOM_TIME_SCALE: '600', ZOOM_WEBHOOK_URL: 'off', ZOOM_WEBHOOK_SECRET_TOKEN: SECRET } })
  const state = app.zoomEmulator
  // Before the subscription (600x: a minute lasts 100 ms): one meeting already started that ends
  // 3 s in, and one that starts 1 s in.
  const running = (await zcall('POST', '/v2/users/me/meetings', { topic: 'Running', duration: 30 })).body
  const later = (await zcall('POST', '/v2/users/me/meetings', { topic: 'Later', start_time: future(10 * 60_000), duration: 1 })).body
  t.equal(state.store.scheduled, 0)
  const set = await zcall('PUT', '/_switchboard/webhooks', { url: hook.url })
  t.equal(set.status, 200)
  t.same(set.body, { url: hook.url })
  t.equal((await zcall('GET', `/v2/meetings/${running.id}`)).body.status, 'started', 'subscribed while the first one runs')
  t.equal((await zcall('GET', '/_switchboard/state')).body.webhooks.url, hook.url)

  for (const url of ['ftp://example.com/x', 'not a url', 42, undefined]) {
    const bad = await zcall('PUT', '/_switchboard/webhooks', url === undefined ? {} : { url })
    t.equal(bad.status, 400, `url ${String(url)} refused`)
    t.same(bad.body, { code: 300, message: 'Validation Failed.', errors: [{ field: 'url', message: 'Invalid field.' }] })
  }
  // A control route: a Zoom token is not enough, the admin token (or the internal credential) is needed.
  const zoomTokenOnly = await requestJson(`${zoom}/_switchboard/webhooks`, 'PUT', { url: 'http://127.0.0.1:9/x' }, { authorization: `Bearer ${await token()}` })
  t.equal(zoomTokenOnly.status, 401, 'the admin token is needed')
  t.equal(state.webhookUrl(), hook.url, 'refusals changed nothing')

  // object.id is a string in meeting.* events and a number in recording.completed, as in Zoom's.
  const eventsOf = (id: number) => hook.received.filter(r => String(json(r).payload.object.id) === String(id)).map(r => json(r).event).sort()
  await eventually(async () => eventsOf(later.id).length === 3 && eventsOf(running.id).length === 2, 10_000)
  t.same(eventsOf(running.id), ['meeting.ended', 'recording.completed'], 'a meeting already started: no meeting.started replayed, its end is sent')
  t.same(eventsOf(later.id), ['meeting.ended', 'meeting.started', 'recording.completed'], 'a later meeting: every step')
  for (const r of hook.received) t.equal(signature(r), signZoomWebhook(SECRET, timestamp(r), r.body), `${json(r).event} signed`)

  t.same((await zcall('PUT', '/_switchboard/webhooks', { url: null })).body, { url: null })
  const sent = state.webhooksSent
  const quiet = (await zcall('POST', '/v2/users/me/meetings', { topic: 'Unsubscribed', duration: 1 })).body
  await eventually(async () => (await zcall('GET', `/v2/meetings/${quiet.id}`)).body.status === 'finished', 5000)
  await new Promise(resolve => setTimeout(resolve, 100))
  t.equal(state.webhooksSent, sent, 'no subscription: nothing sent')
  t.same(eventsOf(quiet.id), [])
})

t.test('recordings wait ZOOM_RECORDING_DELAY_MS after the end', async t => {
  const { app, zcall } = await startZoomApp(t, { env: { ZOOM_RECORDING_DELAY_MS: '400', ZOOM_WEBHOOK_URL: 'off' } })
  // On a frozen test clock, so a loaded machine's pauses between the calls cannot pass the delay.
  const t0 = Date.now()
  app.clock.apply({ frozen_at: t0, offset_ms: 0 })
  t.teardown(() => app.clock.apply({ frozen_at: null, offset_ms: 0 }))
  const { body: m } = await zcall('POST', '/v2/users/me/meetings', { topic: 'Slow processing' })
  t.equal((await zcall('PUT', `/v2/meetings/${m.id}/status`, { action: 'end' })).status, 204)
  const recordings = async () => (await zcall('GET', `/v2/meetings/${m.id}/recordings`))
  t.equal((await recordings()).body.code, 3301, 'not processed yet')
  app.clock.apply({ frozen_at: t0 + 399, offset_ms: 0 })
  t.equal((await recordings()).body.code, 3301, 'still processing a millisecond before the delay is up')
  app.clock.apply({ frozen_at: t0 + 400, offset_ms: 0 })
  t.equal((await recordings()).status, 200, 'ready once the delay has passed')
})

t.test('webhooks back up without loss: due steps wait for the receiver instead of piling up', async t => {
  let inFlight = 0
  let peak = 0
  let count = 0
  const server = createServer((req, res) => {
    inFlight++
    peak = Math.max(peak, inFlight)
    req.resume()
    req.on('end', () => setTimeout(() => { inFlight--; count++; res.end() }, 20))
  }).listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => { server.close() })
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks`
  const { zcall, app } = await startZoomApp(t, { env: { ZOOM_WEBHOOK_URL: url, ZOOM_WEBHOOK_MAX_PENDING: '8' } })
  const ids: number[] = []
  // Each starts as it is created (its meeting.started due then); ending them all makes 300 more due at once.
  for (let i = 0; i < 150; i++) ids.push((await zcall('POST', '/v2/users/me/meetings', { topic: `m${i}` })).body.id)
  await Promise.all(ids.map(id => zcall('PUT', `/v2/meetings/${id}/status`, { action: 'end' })))
  await eventually(async () => count >= 450, 20_000)
  t.equal(count, 450, 'started, ended and recording.completed for each of 150 meetings')
  // Hundreds of events fall due together; without the bound all of them would be in flight at once.
  t.ok(peak <= 8 + 2, `deliveries in flight stayed within ZOOM_WEBHOOK_MAX_PENDING (peak ${peak})`)
  await eventually(async () => app.zoomEmulator.pendingWebhooks === 0, 5000)
  t.equal(app.zoomEmulator.pendingWebhooks, 0, 'every delivery settled')
})

t.test('a sweep keeps meetings that have not ended, and ended ones younger than the retention', async t => {
  let now = 1_000_000
  const store = new MeetingStore({ timeScale: 1, recordingDelayMs: 0, retentionMs: 60_000, maxMeetings: 10, onLifecycle: () => {}, now: () => now })
  t.teardown(() => store.close())
  const base = { topic: 't', type: 2 as const, duration: 1, timezone: 'UTC' }
  const endedLongAgo = store.create({ ...base })
  const endingLater = store.create({ ...base, duration: 30 })
  const future = store.create({ ...base, startMs: now + 3600_000 })
  now += 90_000
  t.equal(store.status(endedLongAgo, now), 'ended')
  t.equal(store.status(endingLater, now), 'started')
  t.equal(store.sweep(now), 0, 'ended 30 s ago: kept')
  now += 30_000
  t.equal(store.sweep(now), 1)
  t.notOk(store.get(endedLongAgo.id))
  t.ok(store.get(endingLater.id) && store.get(future.id))
})

t.test('signZoomWebhook reproduces the reference\'s test vector', async t => {
  const { VECTOR } = await import('./helper.ts')
  t.equal(signZoomWebhook(VECTOR.secret, VECTOR.timestamp, VECTOR.body), VECTOR.signature)
})

t.test('an undelivered notification is retried on Zoom\'s schedule (+5, +20, +60 Zoom minutes), scaled by ZOOM_WEBHOOK_RETRY_MINUTE_MS', async t => {
  // The receiver is down for every attempt: one post and three retries, then nothing more.
  const down = await startRecorder(t, (_request, res) => { res.statusCode = 500; res.end() })
  // 60 ms a Zoom minute: retries 300 ms, 1,200 ms and 3,600 ms after the attempt before (long
  // enough that a loaded machine's delays do not blur the 5:20:60 shape).
  const { zcall } = await startZoomApp(t, { env: { ZOOM_TIME_SCALE: '600', ZOOM_WEBHOOK_URL: `${down.origin}/zoom-hook`, ZOOM_WEBHOOK_RETRY_MINUTE_MS: '60', ZOOM_WEBHOOK_SECRET_TOKEN: SECRET } })
  await zcall('POST', '/v2/users/me/meetings', { topic: 'Retries', type: 1 })
  const started = (r: Recorded) => json(r).event === 'meeting.started'
  const attempts = await eventually(async () => { const a = down.received.filter(started); return a.length >= 4 && a }, 20_000)
  const gaps = attempts.slice(1).map((a, i) => a.at - attempts[i]!.at)
  t.ok(gaps[0]! >= 300 && gaps[1]! >= 1200 && gaps[2]! >= 3600, `gaps of at least 300, 1200, 3600 ms: ${gaps.map(Math.round).join(', ')}`)
  t.ok(gaps[1]! > gaps[0]! * 2 && gaps[2]! > gaps[1]! * 2, 'each wait longer than the last, in Zoom\'s 5:20:60 shape')
  t.same(attempts.map(a => a.body), Array(4).fill(attempts[0]!.body), 'the same notification each time')
  // Each attempt signed at its own time: a receiver refuses a timestamp over 300 s old, and at
  // Zoom's own pace the retries come 5, 25 and 85 minutes after the first post.
  const stamps = attempts.map(a => String(a.headers['x-zm-request-timestamp']))
  t.ok(Number(stamps[3]) > Number(stamps[0]), `the last retry carries a later timestamp than the first post (${stamps.join(', ')})`)
  attempts.forEach((a, i) => t.equal(a.headers['x-zm-signature'], signZoomWebhook(SECRET, stamps[i]!, a.body), `attempt ${i + 1}: signed over its own timestamp`))
})
