import t from 'tap'
import { freePort, providerErrorOf, startRecorder } from '@switchboard/service-kit/testing'
import { meetingPathId, type CachedToken, type TokenStore } from '../src/client/zoom-client.ts'
import { startZoomApp } from './helper.ts'

t.test('the client\'s whole surface against the emulator: create, get, update, list, end, recordings, download, delete', async t => {
  const { client } = await startZoomApp(t)
  const zoom = client()
  const created = await zoom.createMeeting('me', { topic: 'Client', duration: 20, start_time: '2099-03-01T10:00:00Z', settings: { waiting_room: true } })
  t.match(created, { topic: 'Client', duration: 20, status: 'waiting', start_time: '2099-03-01T10:00:00Z' })
  t.equal((await zoom.getMeeting(created.id)).uuid, created.uuid)
  await zoom.updateMeeting(created.id, { topic: 'Client (moved)', start_time: '2099-03-02T10:00:00Z' })
  t.match(await zoom.getMeeting(String(created.id)), { topic: 'Client (moved)', start_time: '2099-03-02T10:00:00Z' })

  for (let i = 0; i < 4; i++) await zoom.createMeeting('me', { topic: `Page ${i}`, start_time: '2099-03-03T10:00:00Z' })
  const first = await zoom.listMeetings('me', { page_size: 2 })
  const second = await zoom.listMeetings('me', { page_size: 2, next_page_token: first.next_page_token })
  const third = await zoom.listMeetings('me', { page_size: 2, next_page_token: second.next_page_token })
  t.same([first, second, third].map(p => p.meetings.length), [2, 2, 1])
  t.equal(third.next_page_token, '')
  t.equal(new Set([first, second, third].flatMap(p => p.meetings.map(m => m.id))).size, 5)

  // Zoom ends a meeting in progress: moved to now, it has started, and ending it makes its recordings.
  await zoom.updateMeeting(created.id, { start_time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') })
  await zoom.endMeeting(created.id)
  const rec = await zoom.getMeetingRecordings(created.uuid, { include_fields: 'download_access_token' })
  t.equal(rec.recording_count, 3)
  t.type(rec.download_access_token, 'string')
  for (const f of rec.recording_files) {
    const { bytes, contentType } = await zoom.downloadRecording(f.download_url)
    t.equal(bytes.length, f.file_size, `${f.file_type}: ${bytes.length} bytes, as reported`)
    t.match(contentType, f.file_type === 'CHAT' ? /^text\/plain/ : /^(video|audio)\/mp4$/)
  }
  await zoom.deleteMeeting(created.id)
  const gone = await providerErrorOf(zoom.getMeeting(created.id))
  t.match(gone, { provider: 'Zoom', kind: 'not_found', statusCode: 404, message: `Meeting does not exist: ${created.id}.`, providerBody: { code: 3001 } })
})

t.test('one token for many concurrent calls (a single-flight refresh), reused until near expiry', async t => {
  const { client, app } = await startZoomApp(t)
  const zoom = client()
  const issuedBefore = app.zoomEmulator.tokens.issued
  await Promise.all(Array.from({ length: 50 }, () => zoom.listMeetings('me', { page_size: 1 })))
  t.equal(zoom.tokenRequests, 1, '50 concurrent calls shared one token request')
  t.equal(app.zoomEmulator.tokens.issued - issuedBefore, 1)
  await zoom.listMeetings('me')
  t.equal(zoom.tokenRequests, 1, 'the cached token is reused')
})

t.test('a token within the refresh margin is replaced before use; an expired one refused by Zoom is refreshed and the call retried', async t => {
  const { client, token, call, app } = await startZoomApp(t)
  let stored: CachedToken | undefined
  const store: TokenStore = { get: () => stored, set: (v) => { stored = v } }

  // The client believes this token has 30 s left: inside Rivet's 60 s margin, so it refreshes first.
  const nearlyExpired = await token()
  stored = { accessToken: nearlyExpired, expiresAt: Date.now() + 30_000 }
  const early = client({ tokenStore: store })
  await early.listMeetings('me')
  t.equal(early.tokenRequests, 1)
  t.not(stored?.accessToken, nearlyExpired)

  // This one the client believes good for an hour (a clock skew, a revocation), but Zoom expired it.
  const stale = await token()
  stored = { accessToken: stale, expiresAt: Date.now() + 3600_000 }
  // An hour and a second later on the emulators' clock: its one-hour life is over.
  app.clock.apply({ frozen_at: null, offset_ms: 3_601_000 })
  const refused = await call('GET', '/zoom/v2/users/me/meetings', undefined, { authorization: `Bearer ${stale}` })
  t.same(refused.body, { code: 124, message: 'Access token is expired.' }, 'Zoom refuses the expired token')
  const late = client({ tokenStore: store, refreshMarginSeconds: 0 })
  const page = await late.listMeetings('me')
  t.equal(page.total_records, 0, 'the call succeeded after one refresh')
  t.equal(late.tokenRequests, 1)
  t.not(stored?.accessToken, stale)
})

t.test('failures become ProviderErrors a service can act on, with Zoom\'s body kept', async t => {
  const { client } = await startZoomApp(t)
  const invalid = await providerErrorOf(client().createMeeting('me', { topic: 'x', password: 'not valid!' }))
  t.match(invalid, { kind: 'rejected', statusCode: 400, message: 'Validation Failed. (password: Invalid field.)', providerBody: { code: 300 } })
  const user = await providerErrorOf(client().createMeeting('ghost@example.com', { topic: 'x' }))
  t.match(user, { kind: 'not_found', message: 'User does not exist: ghost@example.com.' })
  const creds = await providerErrorOf(client({ clientSecret: 'invalid' }).listMeetings('me'))
  t.match(creds, { kind: 'auth', statusCode: 400, message: 'Invalid client_id or client_secret (invalid_client)' })
  t.notMatch(JSON.stringify(creds), /client-secret|invalid:/, 'the error carries no credentials')
  const limited = await providerErrorOf(client().listMeetings('me', {}, { 'x-switchboard-outcome': 'rate_limited' }))
  t.match(limited, { kind: 'rate_limited', retryAfter: '1', retryable: true })
  const down = await providerErrorOf(client().getMeeting(1, { 'x-switchboard-outcome': 'outage' }))
  t.match(down, { kind: 'unavailable', statusCode: 503 })

  const port = await freePort()
  const unreachable = await providerErrorOf(client({ oauthBaseUrl: `http://127.0.0.1:${port}`, apiBaseUrl: `http://127.0.0.1:${port}/v2` }).listMeetings('me'))
  t.equal(unreachable.kind, 'unreachable')
})

t.test('meeting ids and uuids in paths: uuids starting with "/" or holding "//" are double-encoded', async t => {
  t.equal(meetingPathId(85746065432), '85746065432')
  t.equal(meetingPathId('ab+c/de=='), 'ab%2Bc%2Fde%3D%3D')
  t.equal(meetingPathId('/abc=='), '%252Fabc%253D%253D')
  t.equal(meetingPathId('ab//cd=='), 'ab%252F%252Fcd%253D%253D')
})

t.test('a token endpoint that echoes the request back in its error: the Basic credential (id:secret in base64) is redacted', async t => {
  const { client } = await startZoomApp(t)
  const echo = await startRecorder(t, (request, res) => {
    res.statusCode = 400
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ reason: `unknown client, credential=${String(request.headers.authorization).split(' ')[1]}`, error: 'invalid_request' }))
  })
  const clientId = 'echo-client-id-42'
  const clientSecret = 'echo-client-secret-4242'
  const basic = Buffer.from(`${clientId}:${clientSecret}`).toString('base64')
  const err = await providerErrorOf(client({ clientId, clientSecret, oauthBaseUrl: echo.origin }).listMeetings('me'))
  t.equal(echo.received.length, 1, 'the token request was made')
  t.match(err, { kind: 'auth' })
  t.notMatch(JSON.stringify({ message: err.message, body: err.providerBody }), basic, 'neither the message nor the body Zoom sent back carries it')
})
