import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { request } from 'undici'
import { loadOrCreateSecret } from '@switchboard/service-kit/hmac'
import { startRecorder } from '@switchboard/service-kit/testing'
import { signZoomWebhook, urlValidationAnswer } from '../src/zoom-webhooks.ts'
import { eventually, startZoomApp, VECTOR } from './helper.ts'

const meeting = (extra: Record<string, unknown> = {}) => ({ topic: 'Weekly sync', start_time: '2099-06-01T10:00:00Z', duration: 30, ...extra })

t.test('create, get, update, list and delete through the service: Zoom\'s fields, our shape, mode mock', async t => {
  const { call } = await startZoomApp(t)
  const created = await call('POST', '/meetings', meeting({ agenda: 'Roadmap', timezone: 'Asia/Kolkata', settings: { waiting_room: true } }), { 'x-request-id': 'req-zoom-1' })
  t.equal(created.status, 201)
  t.equal(created.headers['x-request-id'], 'req-zoom-1')
  const m = created.body
  t.match(m, { topic: 'Weekly sync', status: 'waiting', start_time: '2099-06-01T10:00:00Z', duration: 30, timezone: 'Asia/Kolkata', agenda: 'Roadmap', mode: 'mock', host_email: 'host@switchboard.local', password: /^\w{6}$/, join_url: /\/zoom\/j\/\d+\?pwd=/, start_url: /\/zoom\/s\/\d+\?zak=/ })
  t.match(String(m.id), /^\d{11}$/)
  t.equal(m.settings.waiting_room, true)

  t.same((await call('GET', `/meetings/${m.id}`)).body, m)
  const updated = await call('PATCH', `/meetings/${m.id}`, { topic: 'Weekly sync (moved)', duration: 45 })
  t.equal(updated.status, 200)
  t.match(updated.body, { id: m.id, uuid: m.uuid, topic: 'Weekly sync (moved)', duration: 45, status: 'waiting' })

  await call('POST', '/meetings', meeting({ topic: 'Second' }))
  const list = await call('GET', '/meetings?page_size=1')
  t.equal(list.status, 200)
  t.match(list.body, { total_records: 2, page_size: 1, mode: 'mock', meetings: [{ id: m.id, topic: 'Weekly sync (moved)', status: null }] })
  const next = await call('GET', `/meetings?page_size=1&next_page_token=${list.body.next_page_token}`)
  t.equal(next.body.meetings[0].topic, 'Second')
  t.equal(next.body.next_page_token, '')
  const waiting = await call('GET', '/meetings?status=waiting')
  t.same(waiting.body.meetings.map((x: { status: string }) => x.status), ['waiting', 'waiting'], 'filtered by status, the status is known')

  const del = await call('DELETE', `/meetings/${m.id}`)
  t.same(del.body, { success: true, id: m.id, deleted: true, mode: 'mock' })
  const gone = await call('GET', `/meetings/${m.id}`)
  t.equal(gone.status, 404)
  t.match(gone.body, { code: 'ZOOM_PROVIDER_NOT_FOUND', message: `Zoom does not know it: Meeting does not exist: ${m.id}.`, details: { id: String(m.id), provider: { providerBody: { code: 3001 } } }, requestId: String })
})

t.test('the full lifecycle on a compressed clock: waiting → started → ended, then three downloadable recordings', async t => {
  // 600x: a 30-minute meeting lasts 3 s; starting a meeting minute from now is 100 ms away.
  const { call } = await startZoomApp(t, { env: { ZOOM_TIME_SCALE: '600' } })
  const start = new Date(Date.now() + 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z')
  const { body: m } = await call('POST', '/meetings', { topic: 'Demo day', start_time: start, duration: 30 })
  t.equal(m.status, 'waiting')
  const seen = new Set<string>()
  await eventually(async () => {
    const s = (await call('GET', `/meetings/${m.id}`)).body.status
    seen.add(s)
    return s === 'ended'
  }, 8000)
  t.ok(seen.has('started'), 'it was seen started on the way')
  const listed = await eventually(async () => {
    const item = (await call('GET', '/meetings')).body.meetings.find((x: { id: number }) => x.id === m.id)
    return item?.status === 'ended' && item
  })
  t.equal(listed.status, 'ended', 'the list knows it ended from the verified meeting.ended webhook')

  const rec = await call('GET', `/meetings/${m.id}/recordings`)
  t.equal(rec.status, 200)
  t.match(rec.body, { meeting_id: m.id, uuid: m.uuid, topic: 'Demo day', recording_count: 3, duration: 30, mode: 'mock', download_access_token: String })
  t.same(rec.body.recording_files.map((f: { file_type: string }) => f.file_type), ['MP4', 'M4A', 'CHAT'])
  let total = 0
  for (const f of rec.body.recording_files) {
    const res = await request(`${f.download_url}?access_token=${rec.body.download_access_token}`)
    const bytes = Buffer.from(await res.body.arrayBuffer())
    t.equal(res.statusCode, 200)
    t.equal(bytes.length, f.file_size, `${f.file_type}: ${bytes.length} bytes as reported`)
    total += bytes.length
  }
  t.equal(rec.body.total_size, total)
  const byUuid = await call('GET', `/meetings/${encodeURIComponent(m.uuid)}/recordings`)
  t.equal(byUuid.body.meeting_id, m.id, 'recordings by instance uuid too')
})

t.test('simulate_meeting_end ends a meeting at once and returns it with its recordings; clear_all_meetings forgets them all', async t => {
  const { call, app } = await startZoomApp(t)
  // Meetings in progress (no start_time: now): only a meeting that took place ends with recordings.
  const { body: m } = await call('POST', '/meetings', meeting({ start_time: undefined }))
  const ended = await call('POST', `/meetings/${m.id}/end`)
  t.equal(ended.status, 200)
  t.match(ended.body.meeting, { id: m.id, status: 'ended', mode: 'mock' })
  t.equal(ended.body.recordings.recording_count, 3)
  t.equal((await call('GET', `/meetings/${m.id}`)).body.status, 'ended')
  const quiet = (await call('POST', '/meetings', meeting({ start_time: undefined, settings: { auto_recording: 'none' } }))).body
  const noRec = await call('POST', `/meetings/${quiet.id}/end`)
  t.equal(noRec.body.recordings, null, 'no cloud recording: recordings is null')
  const recs = await call('GET', `/meetings/${quiet.id}/recordings`)
  t.equal(recs.status, 404)
  t.match(recs.body, { code: 'ZOOM_PROVIDER_NOT_FOUND', message: /This recording does not exist\./ })

  await call('POST', '/meetings', meeting())
  const cleared = await call('DELETE', '/meetings')
  t.same(cleared.body, { success: true, cleared: 3, mode: 'mock' })
  t.equal(app.zoomEmulator.store.size, 0)
  t.equal((await call('GET', '/meetings')).body.total_records, 0)
})

t.test('bad input is a 400 naming the field, and creates nothing', async t => {
  const { call, app } = await startZoomApp(t)
  const cases: Array<[string, string, unknown, RegExp]> = [
    ['POST', '/meetings', { duration: 30 }, /topic/],
    ['POST', '/meetings', meeting({ password: 'has spaces' }), /password/],
    ['POST', '/meetings', meeting({ duration: 0 }), /duration/],
    ['POST', '/meetings', meeting({ start_time: 'next tuesday' }), /start_time/],
    ['POST', '/meetings', meeting({ type: 4 }), /type/],
    ['POST', '/meetings', meeting({ settings: { auto_recording: 'tape' } }), /auto_recording/],
    ['POST', '/meetings', meeting({ surprise: 1 }), /additional properties/],
    ['PATCH', '/meetings/85746065432', {}, /fewer than 1/],
    ['GET', '/meetings/abc', undefined, /params\/id/],
    ['GET', '/meetings?page_size=500', undefined, /page_size/],
    ['GET', '/meetings?status=finished', undefined, /status/]
  ]
  for (const [method, path, body, field] of cases) {
    const res = await call(method, path, body)
    t.equal(res.status, 400, `${method} ${path} ${JSON.stringify(body)}`)
    t.equal(res.body.code, 'ZOOM_INVALID_REQUEST')
    t.match(res.body.message, field)
  }
  t.equal(app.zoomEmulator.store.size, 0)
})

t.test('provider failures map onto our errors: magic topics and forced outcomes', async t => {
  const { call, app } = await startZoomApp(t)
  const failed = await call('POST', '/meetings', meeting({ topic: '[fail] Board' }))
  t.equal(failed.status, 502)
  t.match(failed.body, { code: 'ZOOM_PROVIDER_ERROR', message: /Zoom answered HTTP 500/ })
  const limited = await call('GET', '/meetings', undefined, { 'x-switchboard-outcome': 'rate_limited' })
  t.equal(limited.status, 429)
  t.equal(limited.body.code, 'ZOOM_PROVIDER_RATE_LIMITED')
  t.equal(limited.headers['retry-after'], '1')
  const outage = await call('GET', '/meetings/85746065432', undefined, { 'x-switchboard-outcome': 'outage' })
  t.equal(outage.status, 502)
  t.equal(app.zoomEmulator.store.size, 0)
})

t.test('the webhook receiver: the reference\'s vectors, url_validation, and refusals that change nothing', async t => {
  const { call } = await startZoomApp(t, { env: { ZOOM_WEBHOOK_SECRET_TOKEN: VECTOR.secret, ZOOM_WEBHOOK_URL: 'off' } })
  const now = () => String(Math.floor(Date.now() / 1000))
  const post = (body: string, ts: string, signature?: string) => call('POST', '/webhooks/zoom', body, { 'content-type': 'application/json', 'x-zm-request-timestamp': ts, ...(signature ? { 'x-zm-signature': signature } : {}) })

  const challenge = JSON.stringify({ payload: { plainToken: VECTOR.plainToken }, event_ts: Date.now(), event: 'endpoint.url_validation' })
  const ts = now()
  const answer = await post(challenge, ts, signZoomWebhook(VECTOR.secret, ts, challenge))
  t.equal(answer.status, 200)
  t.same(answer.body, { plainToken: VECTOR.plainToken, encryptedToken: VECTOR.encryptedToken }, 'encryptedToken 80edd171…')
  t.equal(answer.text, `{"plainToken":"${VECTOR.plainToken}","encryptedToken":"${VECTOR.encryptedToken}"}`, 'the reference\'s answer, byte for byte')

  // The reference's signed event (2023): refused as stale, and accepted by a receiver told to allow its age.
  const stale = await post(VECTOR.body, VECTOR.timestamp, VECTOR.signature)
  t.equal(stale.status, 401)
  const lenient = await startZoomApp(t, { env: { ZOOM_WEBHOOK_SECRET_TOKEN: VECTOR.secret, ZOOM_WEBHOOK_URL: 'off', ZOOM_WEBHOOK_MAX_AGE_S: '2000000000' } })
  const vector = await lenient.call('POST', '/webhooks/zoom', VECTOR.body, { 'content-type': 'application/json', 'x-zm-request-timestamp': VECTOR.timestamp, 'x-zm-signature': VECTOR.signature })
  t.equal(vector.status, 200, 'v0=bddd47a8… verifies')
  t.same(vector.body, { received: true, event: 'meeting.started', applied: true })

  for (const body of [{ event: 'meeting.ended', event_ts: Date.now() }, { event: 'meeting.started', payload: { object: { id: 'abc' } } }]) {
    const raw = JSON.stringify(body)
    const at = now()
    const refused = await post(raw, at, signZoomWebhook(VECTOR.secret, at, raw))
    t.same([refused.status, refused.body.code], [400, 'ZOOM_WEBHOOK_INVALID_BODY'], 'a signed meeting event without its meeting is refused')
    t.match(refused.body.message, /needs payload\.object\.id/, 'naming the field')
  }

  const { body: m } = await call('POST', '/meetings', meeting())
  const forgedEnd = JSON.stringify({ event: 'meeting.ended', event_ts: Date.now(), payload: { account_id: 'x', object: { id: String(m.id), uuid: m.uuid } } })
  const t1 = now()
  const refusals = [
    await post(forgedEnd, t1),
    await post(forgedEnd, t1, signZoomWebhook('not-the-secret', t1, forgedEnd)),
    await post(forgedEnd.replace('meeting.ended', 'meeting.ended '), t1, signZoomWebhook(VECTOR.secret, t1, forgedEnd)),
    await post(forgedEnd, String(Number(t1) - 3600), signZoomWebhook(VECTOR.secret, String(Number(t1) - 3600), forgedEnd)),
    await post(challenge, t1)
  ]
  for (const r of refusals) {
    t.equal(r.status, 401)
    t.same(r.body, { statusCode: 401, code: 'ZOOM_WEBHOOK_UNAUTHORIZED', error: 'Unauthorized', message: 'Unauthorized', requestId: r.body.requestId })
  }
  t.equal((await call('GET', `/meetings/${m.id}`)).body.status, 'waiting', 'no forged event changed the meeting')
  t.equal((await call('GET', '/meetings')).body.meetings[0].status, null)

  const real = await post(forgedEnd, t1, signZoomWebhook(VECTOR.secret, t1, forgedEnd))
  t.same(real.body, { received: true, event: 'meeting.ended', applied: true })
  t.equal((await call('GET', `/meetings/${m.id}`)).body.status, 'ended', 'a verified meeting.ended is what marks it ended while Zoom still says waiting')
})

t.test('the emulator\'s url_validation challenge is the reference\'s: its layout, a 22-character plainToken, signed like an event', async t => {
  const endpoint = await startRecorder(t, (request, res) => {
    const { plainToken } = JSON.parse(request.body).payload
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify(urlValidationAnswer(VECTOR.secret, plainToken)))
  })
  const { zcall } = await startZoomApp(t, { env: { ZOOM_WEBHOOK_SECRET_TOKEN: VECTOR.secret, ZOOM_WEBHOOK_URL: `${endpoint.origin}/zoom` } })
  const validated = await zcall('POST', '/_switchboard/webhooks/validate')
  t.match(validated.body, { valid: true, status: 200 })
  const [challenge] = endpoint.received
  // {"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":…,"event":"endpoint.url_validation"}
  t.match(challenge!.body, /^\{"payload":\{"plainToken":"[A-Za-z0-9_-]{22}"\},"event_ts":\d{13},"event":"endpoint\.url_validation"\}$/)
  const ts = String(challenge!.headers['x-zm-request-timestamp'])
  t.match(ts, /^\d{10}$/, 'unix seconds')
  t.equal(challenge!.headers['x-zm-signature'], signZoomWebhook(VECTOR.secret, ts, challenge!.body))
})

t.test('mock mode\'s webhook secret is generated once and kept in the data folder', async t => {
  const first = await startZoomApp(t)
  const secret = readFileSync(join(first.dataDir, 'zoom-webhook-secret-token'), 'utf8').trim()
  t.ok(secret.length >= 24)
  t.equal(loadOrCreateSecret(first.dataDir, 'zoom-webhook-secret-token'), secret, 'the next start reads the same secret')
  const challenge = JSON.stringify({ payload: { plainToken: 'abc' }, event_ts: 1, event: 'endpoint.url_validation' })
  const ts = String(Math.floor(Date.now() / 1000))
  const res = await first.call('POST', '/webhooks/zoom', challenge, { 'content-type': 'application/json', 'x-zm-request-timestamp': ts, 'x-zm-signature': signZoomWebhook(secret, ts, challenge) })
  t.equal(res.status, 200)
  t.equal(res.body.plainToken, 'abc')
  const validated = await first.zcall('POST', '/_switchboard/webhooks/validate')
  t.match(validated.body, { valid: true, status: 200 }, 'the emulator validates its own receiver, as Zoom does when the URL is saved')
})

t.test('the switch: testing utilities refuse live mode; live mode without credentials is a 503 naming them', async t => {
  const { call, runtime } = await startZoomApp(t)
  await runtime.update('zoom', { mode: 'live' }, 'test')
  const res = await call('POST', '/meetings', meeting())
  t.equal(res.status, 503)
  t.equal(res.body.code, 'PROVIDER_NOT_CONFIGURED')
  t.match(res.body.message, /Zoom is in live mode but ZOOM_ACCOUNT_ID and ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET are not set/)
  const ready = await call('GET', '/ready')
  t.equal(ready.status, 503)
  t.match(ready.body.checks.provider, { ok: false, message: /ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET/ })
  for (const [method, path] of [['POST', '/meetings/85746065432/end'], ['DELETE', '/meetings']] as const) {
    const refused = await call(method, path)
    t.equal(refused.status, 409, `${method} ${path}`)
    t.equal(refused.body.code, 'ZOOM_MOCK_ONLY')
    t.match(refused.body.message, /mock-mode testing utility.*live mode/)
  }
})

t.test('the switch: live mode talks to the configured Zoom with the real credentials, same code path', async t => {
  // A second emulator stands in for zoom.us and api.zoom.us.
  const realZoom = await startZoomApp(t)
  const { call, runtime } = await startZoomApp(t, { env: { ZOOM_ACCOUNT_ID: 'live-account', ZOOM_CLIENT_ID: 'live-client', ZOOM_CLIENT_SECRET: 'live-secret', ZOOM_OAUTH_BASE_URL: realZoom.zoom, ZOOM_API_BASE_URL: `${realZoom.zoom}/v2` } })
  await runtime.update('zoom', { mode: 'live' }, 'test')
  t.equal((await call('GET', '/ready')).status, 200)
  const res = await call('POST', '/meetings', meeting({ topic: 'Real one' }))
  t.equal(res.status, 201)
  t.equal(res.body.mode, 'live')
  t.equal(realZoom.app.zoomEmulator.store.get(res.body.id)?.topic, 'Real one', 'the "real" Zoom holds the meeting')
  t.equal(realZoom.app.zoomEmulator.tokens.issued, 1, 'after one Server-to-Server token request')
  t.equal((await call('GET', `/meetings/${res.body.id}`)).body.mode, 'live')
  const rec = await call('GET', `/meetings/${res.body.id}/recordings`)
  t.equal(rec.status, 404, 'a live meeting that has not ended has no recordings')
})

t.test('no Zoom table, as the spec says, but at debug level every action is in the logs', async t => {
  const { Writable } = await import('node:stream')
  const lines: string[] = []
  const sink = new Writable({ write (chunk, _enc, cb) { lines.push(String(chunk)); cb() } })
  const { createTestInfrastructure, internalHeaders } = await import('@switchboard/service-kit/testing')
  const { buildApp } = await import('../src/app.ts')
  const { loadZoomEnv } = await import('../src/config.ts')
  const infra = await createTestInfrastructure(t)
  const app = await buildApp({ env: loadZoomEnv({ ZOOM_PORT: '0', SWITCHBOARD_DATA_DIR: infra.dataDir, ZOOM_WEBHOOK_URL: 'off' }), shared: infra, logger: { level: 'debug', stream: sink } })
  infra.closeWithInfrastructure(app)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const res = await request(`${app.selfBaseUrl()}/meetings`, { method: 'POST', headers: { 'content-type': 'application/json', ...internalHeaders() }, body: JSON.stringify(meeting()) })
  t.equal(res.statusCode, 201)
  const { id } = await res.body.json() as { id: number }
  t.ok(lines.some(l => l.includes('[MOCK MODE] Zoom emulator POST /zoom/v2/users/me/meetings → 201')), 'the emulated call is logged with the marker')
  const action = lines.map(l => JSON.parse(l)).find(l => l.msg === 'zoom create_meeting')
  t.match(action, { level: 20, service: 'zoom', action: 'create_meeting', mode: 'mock' })
  const account = await request(`${app.selfBaseUrl()}/zoom/_switchboard/account`, { headers: internalHeaders() })
  const { credentials } = await account.body.json() as { credentials: { client_secret: string } }
  // A recording download takes the token in its query: the [MOCK MODE] line masks it.
  const inQuery = 'a-token-sent-in-the-query-0123456789'
  await (await request(`${app.selfBaseUrl()}/zoom/rec/download/1/x?access_token=${inQuery}`)).body.dump()
  t.ok(lines.some(l => l.includes('/zoom/rec/download/1/x?access_token=[REDACTED]')), 'the request is logged, its token masked')
  t.notOk(lines.some(l => l.includes(credentials.client_secret) || l.includes(inQuery) || /Bearer |Basic /.test(l)), 'no credential in the logs')
  await infra.activityLog.flush()
  for (const table of ['email_logs', 'whatsapp_logs', 'payments', 'call_logs'] as const) t.equal(await infra.activityLog.count(table), 0, `nothing written to ${table}`)
  t.ok(id)
})

t.test('admin: /admin/status masks the live credentials; /admin/reset clears the emulator\'s meetings', async t => {
  const { call, runtime, app } = await startZoomApp(t, { env: { ZOOM_ACCOUNT_ID: 'acct-1234567890', ZOOM_CLIENT_ID: 'client-abcdefghijkl', ZOOM_CLIENT_SECRET: 'secret-0123456789xyz' } })
  await call('POST', '/meetings', meeting())
  t.equal(app.zoomEmulator.store.size, 1)
  const reset = await call('POST', '/admin/reset')
  t.equal(reset.status, 200)
  t.equal(app.zoomEmulator.store.size, 0)
  await runtime.update('zoom', { mode: 'live' }, 'test')
  const status = await call('GET', '/admin/status')
  t.match(status.body, { service: 'zoom', provider: 'Zoom', mode: 'live', missing: [] })
  t.same(status.body.credentials.map((c: { variable: string }) => c.variable), ['ZOOM_ACCOUNT_ID', 'ZOOM_CLIENT_ID', 'ZOOM_CLIENT_SECRET'])
  t.notMatch(JSON.stringify(status.body), /secret-0123456789xyz|client-abcdefghijkl/, 'values are masked')
})

t.test('mock mode: a token the test clock outlived is renewed before use, not refused first', async t => {
  const { call, app } = await startZoomApp(t)
  t.equal((await call('POST', '/meetings', meeting())).status, 201)
  const issued = app.zoomEmulator.tokens.issued
  await app.runtime.setClock({ frozen_at: app.clock.now() + 2 * 3_600_000, offset_ms: 0 }, 'test')
  t.equal((await call('POST', '/meetings', meeting({ topic: 'Two hours on' }))).status, 201)
  t.equal(app.zoomEmulator.tokens.issued, issued + 1, 'one new token')
  await app.activityLog.flush()
  const refused = await app.activityLog.select('activity_exchanges', { where: { channel: 'zoom', status_code: 401 } })
  t.same(refused, [], 'no call was refused for an expired token on the way')
})
