import t from 'tap'
import { createHmac } from 'node:crypto'
import { TokenIssuer } from '../src/emulator/oauth.ts'
import { eventually, startZoomApp } from './helper.ts'

const SECRET_TOKEN = 'a-secret-token-two-stacks-could-share'

const basic = (id: string, secret: string) => ({ authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` })
const future = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z')

t.test('Server-to-Server OAuth: query params or form body, Zoom\'s token shape and errors', async t => {
  const { call } = await startZoomApp(t)
  const viaQuery = await call('POST', '/zoom/oauth/token?grant_type=account_credentials&account_id=acct', undefined, basic('cid', 'secret'))
  t.equal(viaQuery.status, 200)
  t.match(viaQuery.body, { access_token: /^[\w-]+\.[\w-]+\.[\w-]+$/, token_type: 'bearer', expires_in: 3600, scope: /meeting:write:meeting:admin/, api_url: /\/zoom$/ })
  t.same(Object.keys(viaQuery.body).sort(), ['access_token', 'api_url', 'expires_in', 'scope', 'token_type'])

  // Rivet's way: an application/x-www-form-urlencoded body.
  const viaForm = await call('POST', '/zoom/oauth/token', 'grant_type=account_credentials&account_id=acct', { ...basic('cid', 'secret'), 'content-type': 'application/x-www-form-urlencoded' })
  t.equal(viaForm.status, 200)
  t.not(viaForm.body.access_token, viaQuery.body.access_token, 'several tokens may coexist')

  const noClient = await call('POST', '/zoom/oauth/token?grant_type=account_credentials&account_id=acct')
  t.equal(noClient.status, 400)
  t.same(noClient.body, { reason: 'Invalid client_id or client_secret', error: 'invalid_client' })
  const wrongSecret = await call('POST', '/zoom/oauth/token?grant_type=account_credentials&account_id=acct', undefined, basic('cid', 'invalid'))
  t.same(wrongSecret.body, { reason: 'Invalid client_id or client_secret', error: 'invalid_client' })
  const grant = await call('POST', '/zoom/oauth/token?grant_type=client_credentials&account_id=acct', undefined, basic('cid', 'secret'))
  t.same(grant.body, { reason: 'unsupported grant type', error: 'unsupported_grant_type' })
  const noAccount = await call('POST', '/zoom/oauth/token?grant_type=account_credentials', undefined, basic('cid', 'secret'))
  t.equal(noAccount.status, 400)
  t.equal(noAccount.body.error, 'invalid_request')
})

t.test('API calls need a valid, unexpired Bearer token: Zoom\'s 401 code 124', async t => {
  const { call, token, app } = await startZoomApp(t)
  const none = await call('GET', '/zoom/v2/users/me/meetings')
  t.equal(none.status, 401)
  t.same(none.body, { code: 124, message: 'Invalid access token.' })
  const forged = await call('GET', '/zoom/v2/users/me/meetings', undefined, { authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJ4IjoxfQ.c2lnbmF0dXJl' })
  t.same(forged.body, { code: 124, message: 'Invalid access token.' })
  const fresh = await token()
  t.equal((await call('GET', '/zoom/v2/users/me/meetings', undefined, { authorization: `Bearer ${fresh}` })).status, 200)
  // An hour and a second later on the emulators' clock (the token lives 3600 s, as Zoom's do).
  app.clock.apply({ frozen_at: null, offset_ms: 3_601_000 })
  const expired = await call('GET', '/zoom/v2/users/me/meetings', undefined, { authorization: `Bearer ${fresh}` })
  t.equal(expired.status, 401)
  t.same(expired.body, { code: 124, message: 'Access token is expired.' })
  t.equal((await call('GET', '/zoom/v2/users/me/meetings', undefined, { authorization: `Bearer ${await token()}` })).status, 200, 'a token issued on the advanced clock is good')
})

t.test('create meeting: 201 with Zoom\'s ids, URLs, passcodes and fields', async t => {
  const { zcall, app } = await startZoomApp(t)
  const res = await zcall('POST', '/v2/users/me/meetings', { topic: 'Quarterly review', type: 2, start_time: future(30), duration: 45, timezone: 'Asia/Kolkata', agenda: 'Numbers', settings: { waiting_room: true } })
  t.equal(res.status, 201)
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
  const m = res.body
  t.type(m.id, 'number', 'id is a JSON number (int64)')
  t.match(String(m.id), /^\d{9,11}$/)
  t.match(m.uuid, /^[A-Za-z0-9+/]{22}==$/)
  t.equal(m.uuid.length, 24)
  t.match(m, { topic: 'Quarterly review', type: 2, status: 'waiting', duration: 45, timezone: 'Asia/Kolkata', agenda: 'Numbers', host_email: 'host@switchboard.local', pre_schedule: false })
  t.match(m.start_time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
  t.match(m.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
  t.match(m.join_url, new RegExp(`/zoom/j/${m.id}\\?pwd=[\\w-]{32}\\.1$`))
  t.match(m.start_url, new RegExp(`/zoom/s/${m.id}\\?zak=`))
  t.match(m.password, /^[A-Za-z0-9]{6}$/)
  t.match(m.h323_password, /^\d{6}$/)
  t.equal(m.settings.waiting_room, true, 'the caller\'s settings over the defaults')
  t.equal(m.settings.auto_recording, 'cloud')
  t.equal(res.headers['content-location'], `${app.zoomEmulator.view.baseUrl()}/v2/meetings/${m.id}`)
  t.match(res.headers['x-zm-trackingid'], /^v=2\.0;clid=us05;rid=WEB_[0-9a-f]{32}$/)

  const got = await zcall('GET', `/v2/meetings/${m.id}`)
  t.equal(got.status, 200)
  t.equal(got.headers['content-type'], 'application/json; charset=utf-8')
  t.same(got.body, m, 'GET answers the same meeting')

  const local = await zcall('POST', '/v2/users/me/meetings', { topic: 'Local time', start_time: '2030-01-15T10:00:00', timezone: 'Asia/Kolkata' })
  t.equal(local.body.start_time, '2030-01-15T04:30:00Z', 'a local start_time is read in its timezone and answered in UTC')
  const defaults = await zcall('POST', '/v2/users/me/meetings', {})
  t.match(defaults.body, { topic: 'Zoom Meeting', type: 2, duration: 60, timezone: 'UTC', status: 'started' }, 'no start_time: it starts now')
  const own = await zcall('POST', '/v2/users/me/meetings', { topic: 'Own passcode', password: 'ab@_-*12' })
  t.equal(own.body.password, 'ab@_-*12')
})

t.test('the reference\'s examples, byte for byte and in its key order (providers.md §5)', async t => {
  const { call, zcall } = await startZoomApp(t)
  // The token: {access_token, token_type, expires_in, scope, api_url}, in the reference's order.
  const token = await call('POST', '/zoom/oauth/token?grant_type=account_credentials&account_id=acct', undefined, basic('cid', 'secret'))
  t.same(Object.keys(token.body), ['access_token', 'token_type', 'expires_in', 'scope', 'api_url'])
  t.equal(token.text, JSON.stringify({ access_token: token.body.access_token, token_type: 'bearer', expires_in: 3600, scope: token.body.scope, api_url: token.body.api_url }))
  t.equal(typeof token.body.scope, 'string', 'Rivet refuses a token whose scope is not a string')
  t.equal((await call('POST', '/zoom/oauth/token?grant_type=account_credentials&account_id=acct')).text, '{"reason":"Invalid client_id or client_secret","error":"invalid_client"}')
  t.equal((await call('POST', '/zoom/oauth/token?grant_type=client_credentials&account_id=acct', undefined, basic('cid', 'secret'))).text, '{"reason":"unsupported grant type","error":"unsupported_grant_type"}')

  // The error envelope {code, message}, validation adding errors [{field, message}].
  t.equal((await call('GET', '/zoom/v2/users/me/meetings')).text, '{"code":124,"message":"Invalid access token."}')
  const missing = await zcall('GET', '/v2/meetings/85746065432')
  t.same([missing.status, missing.text], [404, '{"code":3001,"message":"Meeting does not exist: 85746065432."}'])
  t.equal((await zcall('POST', '/v2/users/nobody@example.com/meetings', { topic: 'x' })).text, '{"code":1001,"message":"User does not exist: nobody@example.com."}')
  t.equal((await zcall('POST', '/v2/users/me/meetings', { duration: -1 })).text, '{"code":300,"message":"Validation Failed.","errors":[{"field":"duration","message":"Invalid field."}]}')
  t.equal((await zcall('POST', '/v2/users/me/meetings', [1])).text, '{"code":300,"message":"Request Body should be a valid JSON object."}')

  // A meeting: id an int64 of 9 to 11 digits, uuid 24 base64 characters ending "==", created 201.
  const created = await zcall('POST', '/v2/users/me/meetings', { topic: 'Demo', start_time: future(60), duration: 30 })
  t.equal(created.status, 201)
  t.equal(typeof created.body.id, 'number')
  t.match(created.text, /"id":\d{9,11},/)
  t.match(created.body.uuid, /^[A-Za-z0-9+/]{22}==$/)

  // The list: {page_size, total_records, next_page_token, …, meetings}, next_page_token "" on the last page.
  const list = await zcall('GET', '/v2/users/me/meetings')
  const keys = Object.keys(list.body)
  t.same([keys[0], keys[1], keys[2], keys.at(-1)], ['page_size', 'total_records', 'next_page_token', 'meetings'])
  t.equal(list.body.next_page_token, '', 'the last page\'s next_page_token is the empty string')
})

t.test('Zoom\'s error bodies: validation (300), unknown user (1001) and meeting (3001), in-progress delete (3002)', async t => {
  const { zcall, call, token } = await startZoomApp(t)
  const invalid = await zcall('POST', '/v2/users/me/meetings', { topic: 'x'.repeat(201), type: 5, password: 'way-too-long-passcode', start_time: 'tomorrow', duration: -1, timezone: 'Mars/Olympus' })
  t.equal(invalid.status, 400)
  t.same(invalid.body, {
    code: 300,
    message: 'Validation Failed.',
    errors: ['topic', 'type', 'timezone', 'start_time', 'duration', 'password'].map(field => ({ field, message: 'Invalid field.' }))
  })
  const nested = await zcall('POST', '/v2/users/me/meetings', { settings: { auto_recording: 'tape' } })
  t.same(nested.body.errors, [{ field: 'settings.auto_recording', message: 'Invalid field.' }])
  const notJson = await call('POST', '/zoom/v2/users/me/meetings', '{"topic":', { 'content-type': 'application/json', authorization: `Bearer ${await token()}` })
  t.equal(notJson.status, 400)
  t.same(notJson.body, { code: 300, message: 'Request Body should be a valid JSON object.' })
  const arrayBody = await zcall('POST', '/v2/users/me/meetings', [1, 2])
  t.same(arrayBody.body, { code: 300, message: 'Request Body should be a valid JSON object.' })

  const user = await zcall('POST', '/v2/users/nobody@example.com/meetings', { topic: 'x' })
  t.equal(user.status, 404)
  t.same(user.body, { code: 1001, message: 'User does not exist: nobody@example.com.' })
  const missing = await zcall('GET', '/v2/meetings/85746065432')
  t.equal(missing.status, 404)
  t.same(missing.body, { code: 3001, message: 'Meeting does not exist: 85746065432.' })
  t.same((await zcall('PATCH', '/v2/meetings/85746065432', { topic: 'x' })).body, { code: 3001, message: 'Meeting does not exist: 85746065432.' })
  t.same((await zcall('DELETE', '/v2/meetings/85746065432')).body, { code: 3001, message: 'Meeting does not exist: 85746065432.' })
  t.same((await zcall('GET', '/v2/meetings/not-a-number')).body, { code: 3001, message: 'Meeting does not exist: not-a-number.' })

  const live = await zcall('POST', '/v2/users/me/meetings', { topic: 'In progress' })
  const del = await zcall('DELETE', `/v2/meetings/${live.body.id}`)
  t.equal(del.status, 400)
  t.same(del.body, { code: 3002, message: 'Sorry, you cannot delete this meeting since it is in progress.' })
  const badAction = await zcall('PUT', `/v2/meetings/${live.body.id}/status`, { action: 'pause' })
  t.same(badAction.body, { code: 300, message: 'Validation Failed.', errors: [{ field: 'action', message: 'Invalid field.' }] })
})

t.test('PATCH and DELETE answer 204 with no body; the meeting changes, then is gone', async t => {
  const { zcall } = await startZoomApp(t)
  const { body: m } = await zcall('POST', '/v2/users/me/meetings', { topic: 'Before', start_time: future(60) })
  const patch = await zcall('PATCH', `/v2/meetings/${m.id}`, { topic: 'After', duration: 15, agenda: 'New', settings: { mute_upon_entry: true } })
  t.equal(patch.status, 204)
  t.equal(patch.text, '')
  const after = (await zcall('GET', `/v2/meetings/${m.id}`)).body
  t.match(after, { id: m.id, uuid: m.uuid, topic: 'After', duration: 15, agenda: 'New', password: m.password, status: 'waiting' })
  t.equal(after.settings.mute_upon_entry, true)
  const invalid = await zcall('PATCH', `/v2/meetings/${m.id}`, { duration: 'long' })
  t.same(invalid.body, { code: 300, message: 'Validation Failed.', errors: [{ field: 'duration', message: 'Invalid field.' }] })
  const del = await zcall('DELETE', `/v2/meetings/${m.id}`, undefined, { 'content-type': 'application/json' })
  t.equal(del.status, 204, 'an empty JSON body (as SDKs send on DELETE) is fine')
  t.equal((await zcall('GET', `/v2/meetings/${m.id}`)).body.code, 3001)
})

t.test('list meetings: page_size and next_page_token walk every meeting once; type filters by status', async t => {
  const { zcall } = await startZoomApp(t)
  const ids: number[] = []
  for (let i = 0; i < 7; i++) ids.push((await zcall('POST', '/v2/users/me/meetings', { topic: `M${i}`, start_time: future(60 + i) })).body.id)
  const seen: number[] = []
  let token = ''
  const sizes: number[] = []
  do {
    const page = await zcall('GET', `/v2/users/me/meetings?page_size=3${token ? `&next_page_token=${token}` : ''}`)
    t.equal(page.status, 200)
    t.equal(page.body.total_records, 7)
    t.equal(page.body.page_size, 3)
    sizes.push(page.body.meetings.length)
    seen.push(...page.body.meetings.map((m: { id: number }) => m.id))
    token = page.body.next_page_token
  } while (token)
  t.same(sizes, [3, 3, 1])
  t.same(seen, ids, 'creation order, each once')
  const item = (await zcall('GET', '/v2/users/me/meetings?page_size=1')).body.meetings[0]
  t.same(Object.keys(item).sort(), ['agenda', 'created_at', 'duration', 'host_id', 'id', 'join_url', 'pmi', 'start_time', 'timezone', 'topic', 'type', 'uuid'], 'list items carry no status, passcode or start URL')

  // Two that start now (no start_time); one of them ended.
  const over = (await zcall('POST', '/v2/users/me/meetings', { topic: 'Over' })).body
  await zcall('PUT', `/v2/meetings/${over.id}/status`, { action: 'end' })
  const live = await zcall('POST', '/v2/users/me/meetings', { topic: 'Live now' })
  const count = async (type: string) => (await zcall('GET', `/v2/users/me/meetings?type=${type}`)).body.total_records
  t.equal(await count('scheduled'), 9)
  t.equal(await count('upcoming'), 7)
  t.equal(await count('live'), 1)
  t.equal(await count('previous_meetings'), 1)
  t.equal((await zcall('GET', '/v2/users/me/meetings?type=live')).body.meetings[0].id, live.body.id)
  t.equal((await zcall('GET', '/v2/users/me/meetings?page_size=1000')).body.page_size, 300, 'page_size is capped at 300')
  const bad = await zcall('GET', '/v2/users/me/meetings?type=everything&next_page_token=garbage')
  t.equal(bad.status, 400)
  t.same(bad.body.errors.map((e: { field: string }) => e.field), ['type', 'next_page_token'])
})

t.test('ending a meeting makes three recordings (MP4, M4A, CHAT), each downloadable at its reported size', async t => {
  const { zcall, call, token } = await startZoomApp(t, { env: { ZOOM_TIME_SCALE: '600' } })
  const { body: m } = await zcall('POST', '/v2/users/me/meetings', { topic: 'Recorded', duration: 30 })
  const before = await zcall('GET', `/v2/meetings/${m.id}/recordings`)
  t.equal(before.status, 404)
  t.same(before.body, { code: 3301, message: 'This recording does not exist.' })
  await new Promise(resolve => setTimeout(resolve, 200)) // 200 ms at 600x = 2 meeting minutes
  t.equal((await zcall('PUT', `/v2/meetings/${m.id}/status`, { action: 'end' })).status, 204)
  t.equal((await zcall('GET', `/v2/meetings/${m.id}`)).body.status, 'finished')
  t.equal((await zcall('PUT', `/v2/meetings/${m.id}/status`, { action: 'end' })).status, 204, 'ending it again changes nothing')

  const rec = await zcall('GET', `/v2/meetings/${m.id}/recordings?include_fields=download_access_token`)
  t.equal(rec.status, 200)
  const r = rec.body
  t.match(r, { uuid: m.uuid, id: m.id, topic: 'Recorded', recording_count: 3, host_id: m.host_id, download_access_token: String })
  t.ok(r.duration >= 2 && r.duration <= 30, `at least the two meeting minutes it ran, at most its 30 (${r.duration})`)
  t.same(r.recording_files.map((f: { file_type: string }) => f.file_type), ['MP4', 'M4A', 'CHAT'])
  t.same(r.recording_files.map((f: { file_extension: string }) => f.file_extension), ['MP4', 'M4A', 'TXT'])
  t.same(r.recording_files.map((f: { recording_type: string }) => f.recording_type), ['shared_screen_with_speaker_view', 'audio_only', 'chat_file'])
  let total = 0
  const bearer = { authorization: `Bearer ${await token()}` }
  for (const f of r.recording_files) {
    t.match(f, { meeting_id: m.uuid, status: 'completed', id: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/ })
    const path = new URL(f.download_url).pathname
    const dl = await call('GET', path, undefined, bearer)
    t.equal(dl.status, 200, f.file_type)
    const bytes = Buffer.byteLength(dl.text, 'latin1')
    t.equal(Number(dl.headers['content-length']), f.file_size, `${f.file_type}: content-length is file_size`)
    total += f.file_size
    if (f.file_type === 'CHAT') {
      t.equal(bytes, f.file_size)
      t.match(dl.text, /^00:00:05\tFrom Switchboard Host to Everyone:\n\tWelcome to "Recorded"/)
    }
    const withToken = await call('GET', `${path}?access_token=${r.download_access_token}`)
    t.equal(withToken.status, 200, 'the download_access_token works as ?access_token=')
  }
  t.equal(r.total_size, total, 'total_size is the sum of the files')
  const unauth = await call('GET', new URL(r.recording_files[0].download_url).pathname)
  t.equal(unauth.status, 401)
  t.same(unauth.body, { code: 124, message: 'Invalid access token.' })

  // Another meeting's download token does not open this one.
  const other = (await zcall('POST', '/v2/users/me/meetings', { topic: 'Other' })).body
  await zcall('PUT', `/v2/meetings/${other.id}/status`, { action: 'end' })
  const otherToken = (await zcall('GET', `/v2/meetings/${other.id}/recordings?include_fields=download_access_token`)).body.download_access_token
  t.equal((await call('GET', `${new URL(r.recording_files[0].download_url).pathname}?access_token=${otherToken}`)).status, 401)
})

t.test('the MP4 and M4A are ISO media files byte for byte; the pages and share link answer', async t => {
  const { zcall, zoom, token } = await startZoomApp(t)
  const { body: m } = await zcall('POST', '/v2/users/me/meetings', { topic: 'Bytes <&>' })
  await zcall('PUT', `/v2/meetings/${m.id}/status`, { action: 'end' })
  const r = (await zcall('GET', `/v2/meetings/${m.id}/recordings`)).body
  const { request } = await import('undici')
  const auth = { authorization: `Bearer ${await token()}` }
  for (const [i, brand, type] of [[0, 'isom', 'video/mp4'], [1, 'M4A ', 'audio/mp4']] as const) {
    const res = await request(r.recording_files[i].download_url, { headers: auth })
    const buf = Buffer.from(await res.body.arrayBuffer())
    t.equal(buf.length, r.recording_files[i].file_size)
    t.equal(res.headers['content-type'], type)
    t.match(String(res.headers['content-disposition']), /^attachment; filename="GMT\d{8}-\d{6}_Recording.*\.(mp4|m4a)"$/)
    t.equal(buf.subarray(4, 8).toString('latin1'), 'ftyp')
    t.equal(buf.subarray(8, 12).toString('latin1'), brand)
    const ftypSize = buf.readUInt32BE(0)
    t.equal(buf.subarray(ftypSize + 4, ftypSize + 8).toString('latin1'), 'mdat')
    t.equal(buf.readUInt32BE(ftypSize), buf.length - ftypSize, 'the mdat box runs to the end')
    const again = Buffer.from(await (await request(r.recording_files[i].download_url, { headers: auth })).body.arrayBuffer())
    t.ok(again.equals(buf), 'the same bytes on every download')
  }
  const join = await request(m.join_url)
  t.equal(join.statusCode, 200)
  t.match(await join.body.text(), /Bytes &#60;&#38;&#62;.*mock meeting/s)
  const share = await request(r.share_url)
  t.equal(share.statusCode, 200)
  t.match(await share.body.text(), /MP4 \(\d+ bytes\)/)
  t.equal((await request(`${zoom}/j/12345678901`)).statusCode, 404)
})

t.test('recordings by instance uuid, single- or double-encoded (Zoom requires double for "/")', async t => {
  const { zcall } = await startZoomApp(t)
  let m: { id: number, uuid: string } | undefined
  for (let i = 0; i < 200 && !m; i++) {
    const created = (await zcall('POST', '/v2/users/me/meetings', { topic: `uuid ${i}` })).body
    if (created.uuid.includes('/')) m = created
    else await zcall('DELETE', `/v2/meetings/${created.id}`).catch(() => {})
  }
  if (!m) throw new Error('no uuid with a slash in 200 tries')
  await zcall('PUT', `/v2/meetings/${m.id}/status`, { action: 'end' })
  const once = await zcall('GET', `/v2/meetings/${encodeURIComponent(m.uuid)}/recordings`)
  t.equal(once.status, 200)
  t.equal(once.body.id, m.id)
  const twice = await zcall('GET', `/v2/meetings/${encodeURIComponent(encodeURIComponent(m.uuid))}/recordings`)
  t.equal(twice.status, 200)
  t.equal(twice.body.uuid, m.uuid)
  const unknown = await zcall('GET', `/v2/meetings/${encodeURIComponent('AAAAAAAAAAAAAAAAAAAAAA==')}/recordings`)
  t.same(unknown.body, { code: 3301, message: 'This recording does not exist.' })
})

t.test('forced outcomes and magic topics answer in Zoom\'s envelope', async t => {
  const { zcall } = await startZoomApp(t)
  const limited = await zcall('GET', '/v2/users/me/meetings', undefined, { 'x-switchboard-outcome': 'rate_limited' })
  t.equal(limited.status, 429)
  t.same(limited.body, { code: 429, message: 'You have reached the maximum per-second rate limit for this API. Try again later.' })
  t.equal(limited.headers['retry-after'], '1')
  t.equal((await zcall('GET', '/v2/users/me/meetings', undefined, { 'x-switchboard-outcome': 'failure' })).status, 500)
  t.equal((await zcall('GET', '/v2/users/me/meetings', undefined, { 'x-switchboard-outcome': 'outage' })).status, 503)

  const fail = await zcall('POST', '/v2/users/me/meetings', { topic: '[fail] Board meeting' })
  t.equal(fail.status, 500)
  t.equal(fail.headers['x-switchboard-simulated'], 'failure')
  t.equal((await zcall('POST', '/v2/users/me/meetings', { topic: '[rate_limited] x' })).status, 429)
  t.equal((await zcall('POST', '/v2/users/me/meetings', { topic: '[outage] x' })).status, 503)
  t.equal((await zcall('POST', '/v2/users/me/meetings', { topic: 'Fail-safe review' })).status, 201, 'only the bracketed tag is magic')
  t.equal((await zcall('GET', '/_switchboard/state')).body.meetings, 1, 'refused creates made no meeting')

  const quiet = (await zcall('POST', '/v2/users/me/meetings', { topic: '[no_recording] Standup' })).body
  const local = (await zcall('POST', '/v2/users/me/meetings', { topic: 'Local only', settings: { auto_recording: 'local' } })).body
  for (const m of [quiet, local]) {
    await zcall('PUT', `/v2/meetings/${m.id}/status`, { action: 'end' })
    t.equal((await zcall('GET', `/v2/meetings/${m.id}`)).body.status, 'finished')
    t.equal((await zcall('GET', `/v2/meetings/${m.id}/recordings`)).body.code, 3301, `${m.topic}: no cloud recording`)
  }
})

t.test('a success rate below 1 fails some calls; the spec\'s default for Zoom is instant and always successful', async t => {
  const { zcall, runtime } = await startZoomApp(t, { simulation: { successRate: 0 } })
  const res = await zcall('GET', '/v2/users/me/meetings')
  t.equal(res.status, 500)
  t.same(res.body, { code: 500, message: 'An internal error occurred.' })
  const { SERVICES } = await import('@switchboard/service-kit/services')
  t.same(SERVICES.zoom.simulation.latencyMs, { min: 0, max: 0 })
  t.equal(SERVICES.zoom.simulation.successRate, 1)
  await runtime.update('zoom', { simulation: { successRate: 1 } }, 'test')
  t.equal((await zcall('GET', '/v2/users/me/meetings')).status, 200, 'a runtime change applies at once')
})

t.test('the emulator holds at most ZOOM_MAX_MEETINGS and says what to do', async t => {
  const { zcall } = await startZoomApp(t, { env: { ZOOM_MAX_MEETINGS: '2' } })
  await zcall('POST', '/v2/users/me/meetings', { topic: 'a' })
  await zcall('POST', '/v2/users/me/meetings', { topic: 'b' })
  const third = await zcall('POST', '/v2/users/me/meetings', { topic: 'c' })
  t.equal(third.status, 400)
  t.match(third.body, { code: 300, message: /maximum of 2 meetings.*DELETE \/api\/zoom\/meetings/ })
  t.same((await zcall('DELETE', '/_switchboard/meetings')).body, { cleared: 2 })
  t.equal((await zcall('POST', '/v2/users/me/meetings', { topic: 'c' })).status, 201)
})

t.test('the list\'s type is one of Zoom\'s: a name Object.prototype has is Zoom\'s 300, not a 500', async t => {
  const { zcall } = await startZoomApp(t)
  t.equal((await zcall('POST', '/v2/users/me/meetings', { topic: 'Listed', type: 2, start_time: future(30) })).status, 201)
  for (const type of ['__proto__', 'hasOwnProperty', 'constructor', 'toString']) {
    const res = await zcall('GET', `/v2/users/me/meetings?type=${type}`)
    t.equal(res.status, 400, `${type}: ${JSON.stringify(res.body)}`)
    t.same(res.body, { code: 300, message: 'Validation Failed.', errors: [{ field: 'type', message: 'Invalid field.' }] })
  }
  t.equal((await zcall('GET', '/v2/users/me/meetings?type=upcoming')).body.total_records, 1)
})

t.test('EMULATOR_AUTH=issued: only the stack\'s own Server-to-Server app gets a token, and only its tokens are taken', async t => {
  const { app, call } = await startZoomApp(t, { env: { EMULATOR_AUTH: 'issued', ZOOM_WEBHOOK_SECRET_TOKEN: SECRET_TOKEN } })
  const { credentials: c } = (await call('GET', '/zoom/_switchboard/account')).body as { credentials: Record<string, string> }
  const token = (accountId: string, id: string, secret: string) => call('POST', `/zoom/oauth/token?grant_type=account_credentials&account_id=${accountId}`, undefined, basic(id, secret))
  t.equal((await token('acct-1', 'client-id', 'client-secret')).status, 400, 'any other app')
  t.equal((await token(c.account_id!, c.client_id!, 'not-its-secret')).status, 400, 'the app\'s id with another secret')
  t.same((await token('acct-1', c.client_id!, c.client_secret!)).body, { reason: 'Invalid client_id or client_secret', error: 'invalid_client' }, 'the app, asking for another account')
  const issued = await token(c.account_id!, c.client_id!, c.client_secret!)
  t.equal(issued.status, 200)
  t.equal((await call('GET', '/zoom/v2/users/me/meetings', undefined, { authorization: `Bearer ${issued.body.access_token as string}` })).status, 200)
  // A token signed by this emulator for another app: one issued before the switch (they outlive restarts).
  const before = app.zoomEmulator.tokens.accessToken('acct-1', 'client-id').token
  const refused = await call('GET', '/zoom/v2/users/me/meetings', undefined, { authorization: `Bearer ${before}` })
  t.equal(refused.status, 401)
  t.match(refused.body, { code: 124, message: 'Invalid access token.' })

  // A recording's download: the account's token and the emulator's download token open it; a token
  // signed with the key of EMULATOR_AUTH=any (before the switch, or another stack sharing the
  // Secret Token) does not, as a Bearer or as ?access_token=.
  const own = { authorization: `Bearer ${issued.body.access_token as string}` }
  const m = (await call('POST', '/zoom/v2/users/me/meetings', { topic: 'Recorded' }, own)).body
  t.equal((await call('PUT', `/zoom/v2/meetings/${m.id as number}/status`, { action: 'end' }, own)).status, 204)
  const rec = await eventually(async () => { const r = await call('GET', `/zoom/v2/meetings/${m.id as number}/recordings?include_fields=download_access_token`, undefined, own); return r.status === 200 ? r.body : undefined })
  const path = new URL(rec.recording_files[0].download_url).pathname
  t.equal((await call('GET', `${path}?access_token=${issued.body.access_token as string}`)).status, 200, 'the account\'s token')
  t.equal((await call('GET', `${path}?access_token=${rec.download_access_token as string}`)).status, 200, 'the download token')
  const anyKey = createHmac('sha256', SECRET_TOKEN).update('switchboard-zoom-emulator:token-key').digest()
  const foreign = new TokenIssuer(() => 3600, anyKey).accessToken(c.account_id!, c.client_id!).token
  t.equal((await call('GET', `${path}?access_token=${foreign}`)).status, 401, 'a token of the any-mode key, even naming this account')
  t.equal((await call('GET', path, undefined, { authorization: `Bearer ${foreign}` })).status, 401, 'nor as a Bearer')
})
