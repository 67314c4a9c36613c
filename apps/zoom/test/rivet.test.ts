import t from 'tap'
import { request } from 'undici'
import { MeetingsS2SAuthClient, type S2SAuthToken, type TokenStore } from '@zoom/rivet/meetings'
import { eventually, startZoomApp } from './helper.ts'

/**
 * Rivet fetches tokens from a hard-coded https://zoom.us (providers.md §5), so offline it gets them
 * through a tokenStore: this one asks the emulator's /oauth/token (Server-to-Server OAuth, as
 * Rivet would) and refreshes 60 s before expiry, as Rivet does.
 */
function emulatorTokenStore (zoomBase: string, creds: { clientId: string, clientSecret: string, accountId: string }): TokenStore<S2SAuthToken> & { fetched: number } {
  let current: S2SAuthToken | undefined
  const store = {
    fetched: 0,
    async getLatestToken () {
      if (current && Date.parse(current.expirationTimeIso) - Date.now() > 60_000) return current
      const res = await request(`${zoomBase}/oauth/token`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${creds.clientId}:${creds.clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'account_credentials', account_id: creds.accountId }).toString()
      })
      const body = await res.body.json() as { access_token: string, expires_in: number, scope: string }
      store.fetched++
      current = { accessToken: body.access_token, expirationTimeIso: new Date(Date.now() + body.expires_in * 1000).toISOString(), scopes: body.scope.split(' ') }
      return current
    },
    storeToken (token: S2SAuthToken) { current = token }
  }
  return store
}

const creds = { clientId: 'rivet-client', clientSecret: 'rivet-secret', accountId: 'rivet-account' }

t.test('@zoom/rivet pointed at the emulator: meetings, status, recordings and Zoom\'s errors', async t => {
  const { zoom } = await startZoomApp(t)
  const tokenStore = emulatorTokenStore(zoom, creds)
  // baseUrl is honoured at runtime but missing from Rivet's option types, hence the cast.
  const client = new MeetingsS2SAuthClient({ ...creds, tokenStore, disableReceiver: true, baseUrl: `${zoom}/v2` } as ConstructorParameters<typeof MeetingsS2SAuthClient>[0])
  const { meetings, cloudRecording } = client.endpoints

  const created = await meetings.createMeeting({ path: { userId: 'me' }, body: { topic: 'From Rivet', type: 2, start_time: '2099-05-01T09:00:00Z', duration: 30, settings: { join_before_host: true } } })
  t.equal(created.statusCode, 201)
  t.match(created.trackingId, /^v=2\.0;/)
  const id = created.data!.id!
  t.type(id, 'number')
  t.match(created.data!, { topic: 'From Rivet', duration: 30, start_time: '2099-05-01T09:00:00Z', join_url: new RegExp(`/j/${id}`) })

  const got = await meetings.getMeeting({ path: { meetingId: id } })
  t.match(got.data, { id, status: 'waiting', settings: { join_before_host: true } })
  const patched = await meetings.updateMeeting({ path: { meetingId: id }, body: { topic: 'From Rivet, renamed' } })
  t.equal(patched.statusCode, 204)
  t.equal((await meetings.getMeeting({ path: { meetingId: id } })).data!.topic, 'From Rivet, renamed')

  await meetings.createMeeting({ path: { userId: 'me' }, body: { topic: 'Second' } })
  const list = await meetings.listMeetings({ path: { userId: 'me' }, query: { page_size: 1 } })
  const page = list.data!
  t.equal(page.total_records, 2)
  t.equal(page.meetings?.length, 1)
  t.ok(page.next_page_token)
  const rest = await meetings.listMeetings({ path: { userId: 'me' }, query: { page_size: 1, next_page_token: page.next_page_token } })
  t.equal(rest.data!.next_page_token, '')

  // Zoom ends a meeting in progress: moved to now, it has started.
  await meetings.updateMeeting({ path: { meetingId: id }, body: { start_time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') } })
  const ended = await meetings.updateMeetingStatus({ path: { meetingId: id }, body: { action: 'end' } })
  t.equal(ended.statusCode, 204)
  const rec = await cloudRecording.getMeetingRecordings({ path: { meetingId: String(id) } })
  const recordings = rec.data!
  t.same(recordings.recording_files?.map(f => f.file_type), ['MP4', 'M4A', 'CHAT'])
  t.equal(recordings.total_size, recordings.recording_files?.reduce((s, f) => s + (f.file_size ?? 0), 0))

  const deleted = await meetings.deleteMeeting({ path: { meetingId: id } })
  t.equal(deleted.statusCode, 204)
  await t.rejects(meetings.getMeeting({ path: { meetingId: id } }), { name: 'ApiResponseError', message: `[404/3001]: "Meeting does not exist: ${id}."` })
  await t.rejects(meetings.createMeeting({ path: { userId: 'me' }, body: { topic: 'x'.repeat(300) } }), { message: '[400/300]: "Validation Failed."' })
  t.equal(tokenStore.fetched, 1, 'one token served every call')
})

t.test('Rivet\'s own webhook receiver verifies the emulator\'s signed events and answers its url_validation', async t => {
  const secret = 'rivet-webhook-secret'
  const client = new MeetingsS2SAuthClient({ ...creds, webhooksSecretToken: secret, port: 0 })
  const events: Array<{ event: string, payload: { object: { id: string | number } } }> = []
  for (const name of ['meeting.started', 'meeting.ended', 'recording.completed'] as const) {
    client.webEventConsumer!.event(name, (e) => { events.push(e as unknown as typeof events[number]) })
  }
  const server = await client.start() as import('node:http').Server
  t.teardown(() => { server.close() })
  const port = (server.address() as { port: number }).port
  const hookUrl = `http://127.0.0.1:${port}/zoom/events`

  const { zcall } = await startZoomApp(t, { env: { ZOOM_WEBHOOK_URL: hookUrl, ZOOM_WEBHOOK_SECRET_TOKEN: secret } })
  const validation = await zcall('POST', '/_switchboard/webhooks/validate')
  t.match(validation.body, { url: hookUrl, valid: true, status: 200 }, 'Rivet verified the challenge\'s signature and answered it as we compute it')

  const { body: m } = await zcall('POST', '/v2/users/me/meetings', { topic: 'Watched by Rivet' })
  await zcall('PUT', `/v2/meetings/${m.id}/status`, { action: 'end' })
  await eventually(async () => events.length >= 3, 5000)
  t.same(events.map(e => e.event).sort(), ['meeting.ended', 'meeting.started', 'recording.completed'])
  t.ok(events.every(e => String(e.payload.object.id) === String(m.id)))

  const wrong = await startZoomApp(t, { env: { ZOOM_WEBHOOK_URL: hookUrl, ZOOM_WEBHOOK_SECRET_TOKEN: 'some-other-secret' } })
  t.match((await wrong.zcall('POST', '/_switchboard/webhooks/validate')).body, { valid: false, status: 400 }, 'a different secret fails Rivet\'s check')
})
