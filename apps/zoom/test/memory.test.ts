import t from 'tap'
import { runInNewContext } from 'node:vm'
import { setFlagsFromString } from 'node:v8'
import { Agent, request } from 'undici'
import { MeetingStore } from '../src/emulator/store.ts'
import { eventually, startZoomApp } from './helper.ts'

t.test('20,000 meetings end and are swept after the retention; the API sees them until then', async t => {
  // 1 minute at 60000x lasts 1 ms: each meeting ends almost at once; retention 1 s, sweep every 100 ms.
  const { zoom, zcall, token, app } = await startZoomApp(t, { env: { ZOOM_WEBHOOK_URL: 'off', ZOOM_ENDED_RETENTION_S: '1', ZOOM_SWEEP_INTERVAL_MS: '100', ZOOM_TIME_SCALE: '60000' } })
  const store = app.zoomEmulator.store
  const started = Date.now()
  // Most straight into the store the API serves (HTTP throughput is the benchmark's business) ...
  for (let i = 0; i < 19_000; i++) store.create({ topic: `Load ${i}`, type: 2, duration: 1, timezone: 'UTC' })
  // ... and a thousand through the API, concurrently.
  const auth = `Bearer ${await token()}`
  const agent = new Agent({ connections: 16 })
  t.teardown(() => agent.close())
  let next = 0
  let created = 0
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < 1000) {
      next++
      const res = await request(`${zoom}/v2/users/me/meetings`, { method: 'POST', dispatcher: agent, headers: { authorization: auth, 'content-type': 'application/json' }, body: JSON.stringify({ topic: 'Over HTTP', duration: 1 }) })
      await res.body.dump()
      if (res.statusCode === 201) created++
    }
  }))
  t.equal(created, 1000)
  const listed = (await zcall('GET', '/v2/users/me/meetings?type=previous_meetings&page_size=300')).body
  t.ok(listed.total_records > 0, `${listed.total_records} ended meetings listed before the sweep (${Date.now() - started} ms in)`)
  t.ok(store.size > 0 && store.size <= 20_000)
  await eventually(async () => store.size === 0, 20_000)
  t.equal(store.size, 0, 'every ended meeting was dropped after the retention')
  t.equal(store.scheduled, 0, 'no event subscription (ZOOM_WEBHOOK_URL=off): the scheduler holds nothing')
  t.equal((await zcall('GET', '/v2/users/me/meetings')).body.total_records, 0)
  t.equal((await zcall('POST', '/v2/users/me/meetings', { topic: 'After the sweep', start_time: '2099-01-01T00:00:00Z' })).status, 201)
  t.equal(store.size, 1, 'meetings that have not ended are never swept')
})

t.test('the scheduler drops stale entries (rescheduled and deleted meetings) once they outnumber live ones', async t => {
  const emitted: string[] = []
  const store = new MeetingStore({ timeScale: 1, recordingDelayMs: 0, retentionMs: 86_400_000, maxMeetings: 200_000, onLifecycle: (_m, e) => { emitted.push(e) } })
  t.teardown(() => store.close())
  const start = Date.now() + 3600_000
  const meetings = Array.from({ length: 20_000 }, (_v, i) => store.create({ topic: `m${i}`, type: 2, duration: 30, timezone: 'UTC', startMs: start + i }))
  t.equal(store.scheduled, 20_000, 'one step each')
  for (const m of meetings) store.update(m, { startMs: m.startMs + 60_000 })
  for (const m of meetings) store.update(m, { startMs: m.startMs + 60_000 })
  t.equal(store.scheduled, 60_000, 'each reschedule leaves its old entry behind')
  for (const m of meetings.slice(5000)) store.delete(m)
  t.equal(store.sweep(), 0, 'nothing has ended')
  t.equal(store.scheduled, 5000, 'after the sweep: one live entry per remaining meeting')
  // One meeting moved to now and ended: its steps are the live entries.
  store.update(meetings[0]!, { startMs: Date.now() - 1 })
  store.end(meetings[0]!)
  t.same(emitted, ['meeting.started', 'meeting.ended', 'recording.completed'], 'the live entries still run')
})

t.test('100,000 meetings fit in a modest heap', async t => {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  const store = new MeetingStore({ timeScale: 1, recordingDelayMs: 0, retentionMs: 86_400_000, maxMeetings: 200_000, onLifecycle: () => {} })
  t.teardown(() => store.close())
  gc()
  const before = process.memoryUsage().heapUsed
  const start = Date.now() + 3600_000
  for (let i = 0; i < 100_000; i++) store.create({ topic: `Customer call ${i}`, type: 2, duration: 30, timezone: 'UTC', startMs: start + i * 1000 })
  gc()
  const perMeeting = (process.memoryUsage().heapUsed - before) / 100_000
  t.equal(store.size, 100_000)
  t.ok(perMeeting < 600, `about ${Math.round(perMeeting)} bytes per meeting (record, id index and scheduler entry): ${Math.round(perMeeting * 100_000 / 1048576)} MB for 100,000`)
})
