import t, { type Test } from 'tap'
import { createHmac } from 'node:crypto'
import { Derivations, newMeetingUuid, newUserId, trackingId, zoomTime } from '../src/emulator/ids.ts'
import { DEFAULT_SETTINGS, meetingBody, meetingJson, type View } from '../src/emulator/render.ts'
import { MeetingStore } from '../src/emulator/store.ts'
import { signZoomWebhook, verifyZoomWebhook } from '../src/zoom-webhooks.ts'
import { VECTOR } from './helper.ts'

function view (t: Test): View {
  const store = new MeetingStore({ timeScale: 1, recordingDelayMs: 0, retentionMs: 86_400_000, maxMeetings: 1000, onLifecycle: () => {} })
  t.teardown(() => store.close())
  const host = { id: 'z8yCxjabcdEFGHfp8uQAbc', email: 'host@switchboard.local', firstName: 'Switchboard', lastName: 'Host', accountId: 'AAAA', timezone: 'UTC', pmi: '5000000000' }
  return { store, host, derive: new Derivations(), baseUrl: () => 'http://127.0.0.1:3005/zoom' }
}

t.test('ids drawn from the random pool keep Zoom\'s shapes and never repeat, across many refills', async t => {
  const uuids = new Set<string>()
  const tracking = new Set<string>()
  // 8 KiB per refill, 16 bytes per id: 20,000 of each is dozens of refills.
  for (let i = 0; i < 20_000; i++) {
    const uuid = newMeetingUuid()
    if (!/^[A-Za-z0-9+/]{22}==$/.test(uuid)) t.fail(`uuid ${uuid}`)
    uuids.add(uuid)
    const id = trackingId()
    if (!/^v=2\.0;clid=us05;rid=WEB_[0-9a-f]{32}$/.test(id)) t.fail(`tracking id ${id}`)
    tracking.add(id)
  }
  t.equal(uuids.size, 20_000, 'every uuid distinct')
  t.equal(tracking.size, 20_000, 'every tracking id distinct')
  t.match(newUserId(), /^[A-Za-z0-9_-]{22}$/)
})

t.test('zoomTime: UTC whole seconds, right whichever second came before', async t => {
  const a = Date.UTC(2023, 10, 14, 22, 13, 20, 999)
  const b = Date.UTC(2030, 0, 15, 4, 30, 0, 0)
  t.equal(zoomTime(a), '2023-11-14T22:13:20Z')
  t.equal(zoomTime(a), '2023-11-14T22:13:20Z', 'the same second again')
  t.equal(zoomTime(b), '2030-01-15T04:30:00Z')
  t.equal(zoomTime(a - 999), '2023-11-14T22:13:20Z')
  t.equal(zoomTime(a + 1), '2023-11-14T22:13:21Z', 'the next second')
  t.throws(() => zoomTime(Number.NaN), RangeError, 'no time is no string')
})

t.test('passcodes: a generated 6-character one, digits as long as the passcode, a 32-character pwd; stable, and new when the passcode changes', async t => {
  const d = new Derivations()
  const uuid = newMeetingUuid()
  const gen = d.passcodes(uuid, undefined)
  t.match(gen.password, /^[A-Za-z0-9]{6}$/)
  t.match(gen.numeric, /^\d{6}$/)
  t.match(gen.encrypted, /^[\w-]{32}\.1$/)
  t.same(d.passcodes(uuid, undefined), gen, 'the same on every read')
  const own = d.passcodes(uuid, 'ab@_-*1234')
  t.equal(own.password, 'ab@_-*1234')
  t.match(own.numeric, /^\d{10}$/, 'a 10-character passcode has a 10-digit numeric form')
  t.not(own.encrypted, gen.encrypted, 'another passcode, another pwd= value')
  t.match(d.passcodes(uuid, 'abc').numeric, /^\d{6}$/, 'at least 6 digits')
  t.not(d.passcodes(newMeetingUuid(), undefined).encrypted, gen.encrypted, 'another meeting, another pwd= value')
  t.match(d.zak(uuid), /^eyJ0eXAiOiJKV1QiLCJzdiI6IjAwMDAwMSIsInptX3NrbSI6InptX28ybSIsImFsZyI6IkhTMjU2In0\.[\w-]{86}$/)
  t.equal(d.zak(uuid), d.zak(uuid))
})

t.test('meetingJson is exactly JSON.stringify(meetingBody) for every kind of meeting', async t => {
  const v = view(t)
  const s = v.store
  const start = Date.now() + 3600_000
  const meetings = {
    plain: s.create({ topic: 'Plain', type: 2, duration: 30, timezone: 'UTC' }),
    scheduled: s.create({ topic: 'Quote " and \\ and \u2028 and é', type: 2, duration: 45, timezone: 'Asia/Kolkata', agenda: 'Line\nbreak', startMs: start }),
    ownPasscode: s.create({ topic: 'Own', type: 2, duration: 30, timezone: 'UTC', password: 'ab@_-*12' }),
    noFixedTime: s.create({ topic: 'Type 3', type: 3, duration: 30, timezone: 'UTC' }),
    settings: s.create({ topic: 'Settings', type: 2, duration: 30, timezone: 'UTC', settings: { waiting_room: true } }),
    recurring: s.create({ topic: 'Weekly', type: 8, duration: 30, timezone: 'UTC', startMs: start, recurrence: { type: 2, repeat_interval: 1, end_times: 3 } }),
    tracked: s.create({ topic: 'Tracked', type: 2, duration: 30, timezone: 'UTC', trackingFields: [{ field: 'team', value: 'sales' }], preSchedule: true })
  }
  for (const [name, m] of Object.entries(meetings)) {
    const json = meetingJson(v, m)
    t.equal(json, JSON.stringify(meetingBody(v, m)), name)
    t.doesNotThrow(() => JSON.parse(json), `${name}: valid JSON`)
  }
  const plain = JSON.parse(meetingJson(v, meetings.plain))
  t.same(plain.settings, DEFAULT_SETTINGS, 'the account\'s settings')
  t.same(Object.keys(plain).slice(-3), ['settings', 'pre_schedule', 'creation_source'], 'Zoom\'s order')
  t.equal(plain.start_time, plain.created_at, 'no start_time: it starts now')
  t.notOk('start_time' in JSON.parse(meetingJson(v, meetings.noFixedTime)), 'type 3 has no start_time')
  t.equal(JSON.parse(meetingJson(v, meetings.settings)).settings.waiting_room, true)
  t.equal(DEFAULT_SETTINGS.waiting_room, false, 'the shared defaults are untouched')
  t.ok(Object.isFrozen(DEFAULT_SETTINGS) && Object.isFrozen(DEFAULT_SETTINGS.breakout_room), 'and cannot be changed through an answer')
})

t.test('webhook signatures: the reference vector, one secret of several, and refusals of anything else', async t => {
  const body = Buffer.from(VECTOR.body)
  const ts = VECTOR.timestamp
  t.equal(signZoomWebhook(VECTOR.secret, ts, body), VECTOR.signature, 'a Buffer body signs as its text does')
  t.equal(signZoomWebhook('another', ts, VECTOR.body), `v0=${createHmac('sha256', 'another').update(`v0:${ts}:${VECTOR.body}`).digest('hex')}`)
  t.ok(verifyZoomWebhook([VECTOR.secret], ts, body, VECTOR.signature))
  t.ok(verifyZoomWebhook(['old-secret', VECTOR.secret], ts, body, VECTOR.signature), 'any configured secret')
  t.ok(verifyZoomWebhook(['', VECTOR.secret], ts, body, VECTOR.signature), 'an empty secret is skipped')
  t.notOk(verifyZoomWebhook([''], ts, body, VECTOR.signature), 'no secret verifies nothing')
  t.notOk(verifyZoomWebhook([], ts, body, VECTOR.signature))
  const refused = {
    'another secret': verifyZoomWebhook(['other'], ts, body, VECTOR.signature),
    'another timestamp': verifyZoomWebhook([VECTOR.secret], String(Number(ts) + 1), body, VECTOR.signature),
    'another body': verifyZoomWebhook([VECTOR.secret], ts, Buffer.from(`${VECTOR.body} `), VECTOR.signature),
    'a changed digit': verifyZoomWebhook([VECTOR.secret], ts, body, VECTOR.signature.replace(/.$/, c => (c === '0' ? '1' : '0'))),
    'upper-case hex': verifyZoomWebhook([VECTOR.secret], ts, body, VECTOR.signature.toUpperCase().replace('V0=', 'v0=')),
    'no prefix': verifyZoomWebhook([VECTOR.secret], ts, body, VECTOR.signature.slice(3)),
    truncated: verifyZoomWebhook([VECTOR.secret], ts, body, VECTOR.signature.slice(0, -1)),
    extended: verifyZoomWebhook([VECTOR.secret], ts, body, `${VECTOR.signature}0`),
    'multi-byte': verifyZoomWebhook([VECTOR.secret], ts, body, `${VECTOR.signature.slice(0, -2)}é`),
    empty: verifyZoomWebhook([VECTOR.secret], ts, body, '')
  }
  for (const [name, ok] of Object.entries(refused)) t.equal(ok, false, name)
})
