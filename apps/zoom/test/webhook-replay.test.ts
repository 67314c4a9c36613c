import t from 'tap'
import { signZoomWebhook } from '../src/zoom-webhooks.ts'
import { startZoomApp } from './helper.ts'

const SECRET = 'zoom-replay-secret-0123456789'

t.test('a replayed Zoom webhook (same event, event_ts and object, still fresh) is dropped; a new event is not', async t => {
  const { call } = await startZoomApp(t, { env: { ZOOM_WEBHOOK_SECRET_TOKEN: SECRET, ZOOM_WEBHOOK_URL: 'off' } })
  const { body: m } = await call('POST', '/meetings', { topic: 'Replay', type: 2, start_time: new Date(Date.now() + 3_600_000).toISOString(), duration: 30 })
  const signed = (event: string, eventTs: number) => {
    const body = JSON.stringify({ event, event_ts: eventTs, payload: { account_id: 'x', object: { id: String(m.id), uuid: m.uuid } } })
    const ts = String(Math.floor(Date.now() / 1000))
    return { body, headers: { 'content-type': 'application/json', 'x-zm-request-timestamp': ts, 'x-zm-signature': signZoomWebhook(SECRET, ts, body) } }
  }
  const post = (p: { body: string, headers: Record<string, string> }) => call('POST', '/webhooks/zoom', p.body, p.headers)
  const startedAt = Date.now()
  const started = signed('meeting.started', startedAt)
  const first = await post(started)
  t.same([first.status, first.body.applied], [200, true])
  const endedPost = signed('meeting.ended', startedAt + 1000)
  const ended = await post(endedPost)
  t.same([ended.status, ended.body.applied], [200, true])
  // The captured posts sent again, byte for byte, while their signatures are still fresh.
  for (const [name, captured] of [['meeting.started', started], ['meeting.ended', endedPost]] as const) {
    const replay = await post(captured)
    t.same([replay.status, replay.body], [200, { received: true, event: name, applied: false }], `${name} replayed: answered 200 so Zoom stops retrying, applied: false`)
  }
  t.equal((await call('GET', `/meetings/${m.id}`)).body.status, 'ended', 'the meeting stays ended')
})
