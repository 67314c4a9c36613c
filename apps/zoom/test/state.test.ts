/**
 * The emulator's meetings live in the database (zoom_emulator_state): a second instance of the
 * service on the same database reads, changes and deletes what the first created, each lifecycle
 * step's webhook goes once whichever instance takes it, and a new instance started after one
 * stopped carries on a meeting's lifecycle. Runs on PostgreSQL with TEST_DATABASE_URL, else PGlite.
 */
import t, { type Test } from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { MeetingsS2SAuthClient, type S2SAuthToken, type TokenStore } from '@zoom/rivet/meetings'
import type { App } from '@switchboard/service-kit/service-app'
import { selfBaseUrl } from '@switchboard/service-kit/service-app'
import { adminHeaders, createTestInfrastructure, jsonCaller, startRecorder, type TestInfrastructure } from '@switchboard/service-kit/testing'
import { buildApp } from '../src/app.ts'
import { loadZoomEnv } from '../src/config.ts'
import { eventually } from './helper.ts'

const SECRET = 'state-test-secret-token'
const future = (ms: number) => new Date(Date.now() + ms).toISOString().replace(/\.\d{3}Z$/, 'Z')

/** One instance of the Zoom service on the given database, listening on a free port. */
async function instance (t: Test, infra: TestInfrastructure, env: Record<string, string | undefined> = {}) {
  const app: App = await buildApp({ env: loadZoomEnv({ ZOOM_PORT: '0', SWITCHBOARD_DATA_DIR: infra.dataDir, LOG_LEVEL: 'silent', ZOOM_WEBHOOK_SECRET_TOKEN: SECRET, ZOOM_WEBHOOK_URL: 'off', ...env }), shared: infra, logger: false })
  let closed = false
  const close = async () => { if (!closed) { closed = true; await app.close() } }
  t.teardown(close)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const zoom = `${selfBaseUrl(app)}/zoom`
  const call = jsonCaller(zoom)
  const token = (await call('POST', '/oauth/token?grant_type=account_credentials&account_id=acct', undefined, { authorization: `Basic ${Buffer.from('id:secret').toString('base64')}` })).body.access_token as string
  const zcall = (method: string, path: string, body?: unknown) => call(method, path, body, { authorization: `Bearer ${token}` })
  return { app, zoom, call, zcall, token, close }
}

function rivet (zoom: string) {
  let current: S2SAuthToken | undefined
  const tokenStore: TokenStore<S2SAuthToken> = {
    async getLatestToken () {
      if (current) return current
      const res = await request(`${zoom}/oauth/token`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from('rivet:secret').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'account_credentials', account_id: 'rivet-account' }).toString()
      })
      const body = await res.body.json() as { access_token: string, expires_in: number, scope: string }
      current = { accessToken: body.access_token, expirationTimeIso: new Date(Date.now() + body.expires_in * 1000).toISOString(), scopes: body.scope.split(' ') }
      return current
    },
    storeToken (token) { current = token }
  }
  return new MeetingsS2SAuthClient({ clientId: 'rivet', clientSecret: 'secret', accountId: 'rivet-account', tokenStore, disableReceiver: true, baseUrl: `${zoom}/v2` } as ConstructorParameters<typeof MeetingsS2SAuthClient>[0]).endpoints.meetings
}

t.test('two instances on one database: created through one, read, changed, listed, deleted and cleared through the other', async t => {
  const infra = await createTestInfrastructure(t)
  const one = await instance(t, infra)
  const two = await instance(t, infra)

  const created = await rivet(one.zoom).createMeeting({ path: { userId: 'me' }, body: { topic: 'Made on one', type: 2, start_time: '2099-05-01T09:00:00Z', duration: 30 } })
  t.equal(created.statusCode, 201)
  const id = created.data!.id!
  // A read that misses the second instance's cache goes to the database (after the write-behind bound).
  const read = await eventually(async () => { const r = await rivet(two.zoom).getMeeting({ path: { meetingId: id } }).catch(() => undefined); return r?.statusCode === 200 && r })
  const original = (await one.zcall('GET', `/v2/meetings/${id}`)).body
  t.match(read.data, { id, topic: 'Made on one', start_time: '2099-05-01T09:00:00Z', duration: 30, uuid: original.uuid, password: original.password, host_id: original.host_id })
  t.equal((await two.zcall('GET', `/v2/meetings/${id}`)).status, 200, 'a token from one instance is good on the other')

  t.equal((await two.zcall('PATCH', `/v2/meetings/${id}`, { topic: 'Renamed on two' })).status, 204)
  await eventually(async () => (await one.zcall('GET', `/v2/meetings/${id}`)).body.topic === 'Renamed on two')
  t.pass('a change made through two reaches one (its sync)')

  const second = (await two.zcall('POST', '/v2/users/me/meetings', { topic: 'Made on two', start_time: '2099-06-01T09:00:00Z' })).body
  const listed = await eventually(async () => { const l = (await one.zcall('GET', '/v2/users/me/meetings')).body; return l.total_records === 2 && l })
  t.same(listed.meetings.map((m: { id: number }) => m.id).sort(), [id, second.id].sort(), 'one lists what two created')

  t.equal((await one.zcall('DELETE', `/v2/meetings/${second.id}`)).status, 204)
  await eventually(async () => (await two.zcall('GET', `/v2/meetings/${second.id}`)).status === 404)
  t.pass('a meeting deleted through one is gone from two')

  t.same((await one.call('DELETE', '/_switchboard/meetings', undefined, adminHeaders())).body, { cleared: 1 }, 'clear_all_meetings takes the admin token')
  await eventually(async () => (await two.zcall('GET', '/v2/users/me/meetings')).body.total_records === 0)
  t.equal((await two.zcall('GET', `/v2/meetings/${id}`)).status, 404, 'clear_all_meetings through one clears two')
})

t.test('recordings trashed through one instance are trashed on the other and after a restart', async t => {
  const infra = await createTestInfrastructure(t)
  const one = await instance(t, infra)
  const two = await instance(t, infra)
  const m = (await one.zcall('POST', '/v2/users/me/meetings', { topic: 'Recorded', duration: 30 })).body
  t.equal((await one.zcall('PUT', `/v2/meetings/${m.id}/status`, { action: 'end' })).status, 204)
  await eventually(async () => (await two.zcall('GET', `/v2/meetings/${m.id}/recordings`)).status === 200)
  t.equal((await two.zcall('DELETE', `/v2/meetings/${m.id}/recordings`)).status, 204, 'trashed through two')
  await eventually(async () => (await one.zcall('GET', `/v2/meetings/${m.id}/recordings`)).status === 404)
  t.same((await one.zcall('GET', '/v2/users/me/recordings?trash=true')).body.meetings.map((r: { id: number }) => r.id), [m.id], 'one lists them in the trash')
  t.equal((await one.zcall('DELETE', `/v2/meetings/${m.id}/recordings`)).status, 404, 'and will not trash them twice')
  await one.close()
  await two.close()
  const three = await instance(t, infra)
  t.equal((await three.zcall('GET', `/v2/meetings/${m.id}/recordings`)).status, 404, 'a new instance keeps them trashed')
  t.equal((await three.zcall('DELETE', `/v2/meetings/${m.id}/recordings?action=delete`)).status, 204, 'and can delete them for good')
  t.same((await three.zcall('GET', '/v2/users/me/recordings?trash=true')).body.meetings, [])
})

t.test('instances with data folders of their own, given one INTERNAL_TOKEN (no Secret Token set), accept each other\'s tokens', async t => {
  const infra = await createTestInfrastructure(t)
  const own = () => { const dir = mkdtempSync(join(tmpdir(), 'zoom-instance-')); t.teardown(() => rmSync(dir, { recursive: true, force: true })); return dir }
  const shared = { ZOOM_WEBHOOK_SECRET_TOKEN: undefined, INTERNAL_TOKEN: 'sb_internal_shared-by-both-instances' }
  const one = await instance(t, infra, { ...shared, SWITCHBOARD_DATA_DIR: own() })
  const two = await instance(t, infra, { ...shared, SWITCHBOARD_DATA_DIR: own() })
  const created = (await one.zcall('POST', '/v2/users/me/meetings', { topic: 'Made on one', start_time: '2099-05-01T09:00:00Z' })).body
  const read = await eventually(async () => { const r = await two.zcall('GET', `/v2/meetings/${created.id}`); return r.status !== 404 && r })
  t.equal(read.status, 200, `a token one issued is good on two (${read.status} ${read.body?.message ?? ''})`)
  t.equal(read.body.host_id, created.host_id, 'one account, one host')
  t.equal(read.body.password, created.password)
})

t.test('two instances, one meeting: each lifecycle webhook is posted once, by whichever instance claims it', async t => {
  const infra = await createTestInfrastructure(t)
  const hook = await startRecorder(t)
  const env = { ZOOM_TIME_SCALE: '600', ZOOM_WEBHOOK_URL: `${hook.origin}/events`, ZOOM_RECORDING_DELAY_MS: '0' }
  const one = await instance(t, infra, env)
  const two = await instance(t, infra, env)
  // 600x: starts in about 1 s, lasts 1 s; both instances hold it by then (two through its sync).
  const m = (await one.zcall('POST', '/v2/users/me/meetings', { topic: 'Shared', start_time: future(10 * 60_000), duration: 10 })).body
  await eventually(async () => two.app.zoomEmulator.store.get(m.id) !== undefined)
  const events = () => hook.received.map(r => JSON.parse(r.body)).filter(e => String(e.payload.object.id) === String(m.id)).map(e => e.event as string)
  await eventually(async () => events().length >= 3, 10_000)
  // Later claims would have shown by now: every instance's timer for these steps has fired.
  await eventually(async () => (await one.zcall('GET', `/v2/meetings/${m.id}`)).body.status === 'finished')
  t.same(events().sort(), ['meeting.ended', 'meeting.started', 'recording.completed'], 'three events, none twice')
})

t.test('a restart keeps meetings, tokens and passcodes, and a meeting that fell due while stopped starts', async t => {
  const infra = await createTestInfrastructure(t)
  const hook = await startRecorder(t)
  const env = { ZOOM_TIME_SCALE: '600', ZOOM_WEBHOOK_URL: `${hook.origin}/events` }
  const before = await instance(t, infra, env)
  // Starts 2 meeting minutes (200 ms) from now: due while no instance runs.
  const m = (await before.zcall('POST', '/v2/users/me/meetings', { topic: 'Due while stopped', start_time: future(2 * 60_000), duration: 60 })).body
  await before.close()
  t.equal(hook.received.length, 0, 'nothing was sent before the stop')

  const after = await instance(t, infra, env)
  const got = await after.zcall('GET', `/v2/meetings/${m.id}`)
  t.equal(got.status, 200)
  t.match(got.body, { id: m.id, uuid: m.uuid, topic: 'Due while stopped', password: m.password, encrypted_password: m.encrypted_password, host_id: m.host_id })
  t.equal(new URL(got.body.start_url).search, new URL(m.start_url).search, 'the same start link (ZAK): derived from the Secret Token, not from a key made at start')
  t.equal((await jsonCaller(after.zoom)('GET', `/v2/meetings/${m.id}`, undefined, { authorization: `Bearer ${before.token}` })).status, 200, 'a token issued before the restart is still good')
  const started = await eventually(async () => hook.received.find(r => JSON.parse(r.body).event === 'meeting.started'), 10_000)
  t.equal(JSON.parse(started.body).payload.object.id, String(m.id), 'the step that fell due while stopped was posted after the restart')
})

t.test('an instance holding a meeting a moment too long never writes its older copy over a change made through another', async t => {
  const infra = await createTestInfrastructure(t)
  const one = await instance(t, infra)
  const two = await instance(t, infra)
  const m = (await one.zcall('POST', '/v2/users/me/meetings', { topic: 'Made on one', start_time: '2099-05-01T09:00:00Z', duration: 30 })).body
  await eventually(async () => (await two.zcall('GET', `/v2/meetings/${m.id}`)).status === 200)
  // Two holds the meeting and has not synced since one's changes (the up-to-1 s window, held open).
  const persistence = two.app.zoomEmulator.opts.persistence!
  const sync = persistence.sync
  persistence.sync = async () => {}
  t.teardown(() => { persistence.sync = sync })

  t.equal((await one.zcall('PATCH', `/v2/meetings/${m.id}`, { topic: 'Renamed on one' })).status, 204)
  t.equal((await one.zcall('PUT', `/v2/meetings/${m.id}/status`, { action: 'end' })).status, 204)
  await one.app.zoomEmulator.opts.persistence!.state.flush()
  t.equal((await two.zcall('PATCH', `/v2/meetings/${m.id}`, { agenda: 'Agenda from two' })).status, 204)
  await persistence.state.flush()
  persistence.sync = sync

  const onTwo = (await two.zcall('GET', `/v2/meetings/${m.id}`)).body
  t.match(onTwo, { topic: 'Renamed on one', agenda: 'Agenda from two', status: 'finished' }, 'two answers its change on the stored copy, one\'s changes kept')
  await eventually(async () => (await one.zcall('GET', `/v2/meetings/${m.id}`)).body.agenda === 'Agenda from two')
  t.match((await one.zcall('GET', `/v2/meetings/${m.id}`)).body, { topic: 'Renamed on one', agenda: 'Agenda from two', status: 'finished' }, 'one keeps its rename and its end')
  const [row] = await infra.activityLog.select('zoom_emulator_state', { where: { kind: 'meeting', id: String(m.id) } })
  t.match(row?.doc, { topic: 'Renamed on one', agenda: 'Agenda from two' }, 'the database too')
  t.not((row?.doc as { endedReal: number }).endedReal, 0, 'and the meeting stays ended')
})

t.test('a meeting is deleted on its stored copy: one another instance started meanwhile stays, one it deleted is not found', async t => {
  const infra = await createTestInfrastructure(t)
  const one = await instance(t, infra)
  const two = await instance(t, infra)
  const live = (await one.zcall('POST', '/v2/users/me/meetings', { topic: 'Moved to now on one', start_time: '2099-05-01T09:00:00Z', duration: 60 })).body
  const gone = (await one.zcall('POST', '/v2/users/me/meetings', { topic: 'Deleted on one', start_time: '2099-05-01T09:00:00Z', duration: 60 })).body
  for (const m of [live, gone]) await eventually(async () => (await two.zcall('GET', `/v2/meetings/${m.id}`)).status === 200)
  // Two holds both and has not synced since one's changes (the up-to-1 s window, held open).
  const persistence = two.app.zoomEmulator.opts.persistence!
  const sync = persistence.sync
  persistence.sync = async () => {}
  t.teardown(() => { persistence.sync = sync })

  t.equal((await one.zcall('PATCH', `/v2/meetings/${live.id}`, { start_time: new Date(Date.now() - 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z') })).status, 204)
  t.equal((await one.zcall('DELETE', `/v2/meetings/${gone.id}`)).status, 204)
  await one.app.zoomEmulator.opts.persistence!.state.flush()

  const refused = await two.zcall('DELETE', `/v2/meetings/${live.id}`)
  t.match(refused, { status: 400, body: { code: 3002 } }, 'in progress as stored: two refuses, though its own copy still waits for 2099')
  t.equal((await one.zcall('GET', `/v2/meetings/${live.id}`)).status, 200, 'and the meeting is still there for one')
  t.match(await two.zcall('DELETE', `/v2/meetings/${gone.id}`), { status: 404, body: { code: 3001 } }, 'deleted through one: not found through two, as Zoom answers a second delete')
  t.equal((await two.zcall('GET', `/v2/meetings/${gone.id}`)).status, 404, 'and two forgot it')
})
