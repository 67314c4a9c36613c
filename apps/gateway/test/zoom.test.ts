import t from 'tap'
import type { Test } from 'tap'
import { createHmac } from 'node:crypto'
import { request } from 'undici'
import { selfBaseUrl } from '@switchboard/service-kit/service-app'
import { createTestInfrastructure, jsonCaller } from '@switchboard/service-kit/testing'
import { buildApp as buildZoom } from '@switchboard/zoom/app'
import { loadZoomEnv } from '@switchboard/zoom/config'
import { buildApp } from '../src/app.ts'
import { loadGatewayEnv } from '../src/config.ts'
import { ADMIN_TOKEN, API_TOKEN, api } from './helper.ts'

const SECRET = 'gateway-zoom-secret-token'
const meeting = { topic: 'Gateway sync', start_time: '2099-07-01T10:00:00Z', duration: 30 }

/** The gateway in front of a real Zoom service, both on free ports, on one test database. */
async function startZoomStack (t: Test) {
  const infra = await createTestInfrastructure(t)
  const base = { SWITCHBOARD_DATA_DIR: infra.dataDir, LOG_LEVEL: 'silent' }
  const zoom = await buildZoom({ env: loadZoomEnv({ ...base, ZOOM_PORT: '0', ZOOM_WEBHOOK_SECRET_TOKEN: SECRET }), shared: infra, logger: false })
  infra.closeWithInfrastructure(zoom)
  await zoom.listen({ port: 0, host: '127.0.0.1' })
  const env = loadGatewayEnv({ ...base, GATEWAY_PORT: '0', API_TOKEN, ADMIN_TOKEN, ZOOM_SERVICE_URL: selfBaseUrl(zoom) })
  const gateway = await buildApp({ env, tokens: { apiToken: API_TOKEN, adminToken: ADMIN_TOKEN }, logger: false, services: ['zoom'], shared: infra })
  infra.closeWithInfrastructure(gateway)
  await gateway.listen({ port: 0, host: '127.0.0.1' })
  const url = selfBaseUrl(gateway)
  return { ...infra, zoom, gateway, call: jsonCaller(url) }
}

t.test('/api/zoom/* needs the API token (or the admin token); 401 names the token it wants', async t => {
  const { call, zoom } = await startZoomStack(t)
  for (const [method, path] of [['POST', '/api/zoom/meetings'], ['GET', '/api/zoom/meetings'], ['DELETE', '/api/zoom/meetings'], ['GET', '/api/zoom/meetings/85746065432'], ['POST', '/api/zoom/meetings/85746065432/end']] as const) {
    for (const headers of [{}, { authorization: 'Bearer wrong-token-wrong-token' }] as Array<Record<string, string>>) {
      const res = await call(method, path, method === 'POST' ? meeting : undefined, headers)
      t.equal(res.status, 401, `${method} ${path}`)
      t.same(res.body, { statusCode: 401, code: 'GATEWAY_UNAUTHORIZED', error: 'Unauthorized', message: res.body.message, requestId: res.body.requestId })
      t.match(res.body.message, /needs the API token .*API_TOKEN/, 'says which token and where to find it')
    }
  }
  t.equal(zoom.zoomEmulator.store.size, 0, 'nothing reached the service')
  const admin = await call('POST', '/api/zoom/meetings', meeting, { authorization: `Bearer ${ADMIN_TOKEN}` })
  t.equal(admin.status, 201, 'the admin token opens them too')
})

t.test('every spec method through the gateway: create, get, update, list, end, recordings, delete, clear', async t => {
  const { call } = await startZoomStack(t)
  const created = await call('POST', '/api/zoom/meetings', meeting, { ...api, 'x-request-id': 'gw-zoom-1' })
  t.equal(created.status, 201)
  t.equal(created.headers['x-request-id'], 'gw-zoom-1')
  const m = created.body
  t.match(m, { topic: 'Gateway sync', status: 'waiting', mode: 'mock', join_url: /\/zoom\/j\// })
  t.equal((await call('GET', `/api/zoom/meetings/${m.id}`, undefined, api)).body.uuid, m.uuid)
  const updated = await call('PATCH', `/api/zoom/meetings/${m.id}`, { topic: 'Gateway sync (moved)' }, api)
  t.equal(updated.body.topic, 'Gateway sync (moved)')

  await call('POST', '/api/zoom/meetings', { ...meeting, topic: 'Second' }, api)
  const page = await call('GET', '/api/zoom/meetings?page_size=1', undefined, api)
  t.match(page.body, { page_size: 1, total_records: 2, meetings: [{ id: m.id }] }, 'the query string is forwarded')
  const next = await call('GET', `/api/zoom/meetings?page_size=1&next_page_token=${page.body.next_page_token}`, undefined, api)
  t.equal(next.body.meetings[0].topic, 'Second')
  t.equal((await call('GET', '/api/zoom/meetings?status=started', undefined, api)).body.total_records, 0)

  const ended = await call('POST', `/api/zoom/meetings/${m.id}/end`, undefined, api)
  t.equal(ended.status, 200)
  t.equal(ended.body.meeting.status, 'ended')
  const rec = await call('GET', `/api/zoom/meetings/${m.id}/recordings`, undefined, api)
  t.same(rec.body.recording_files.map((f: { file_type: string }) => f.file_type), ['MP4', 'M4A', 'CHAT'])
  const byUuid = await call('GET', `/api/zoom/meetings/${encodeURIComponent(m.uuid)}/recordings`, undefined, api)
  t.equal(byUuid.body.meeting_id, m.id, 'by uuid, with "/" and "+" escaped')
  const file = rec.body.recording_files[0]
  const dl = await request(`${file.download_url}?access_token=${rec.body.download_access_token}`)
  t.equal(Buffer.from(await dl.body.arrayBuffer()).length, file.file_size)

  t.same((await call('DELETE', `/api/zoom/meetings/${m.id}`, undefined, api)).body, { success: true, id: m.id, deleted: true, mode: 'mock' })
  t.equal((await call('GET', `/api/zoom/meetings/${m.id}`, undefined, api)).body.code, 'ZOOM_PROVIDER_NOT_FOUND')
  t.same((await call('DELETE', '/api/zoom/meetings', undefined, api)).body, { success: true, cleared: 1, mode: 'mock' })
})

t.test('the gateway rejects bad input itself, naming the field, and forwards nothing', async t => {
  const { call, zoom } = await startZoomStack(t)
  const cases: Array<[string, string, unknown, RegExp]> = [
    ['POST', '/api/zoom/meetings', { duration: 30 }, /topic/],
    ['POST', '/api/zoom/meetings', { ...meeting, password: 'x'.repeat(11) }, /password/],
    ['PATCH', '/api/zoom/meetings/85746065432', { duration: 'long' }, /duration/],
    ['GET', '/api/zoom/meetings/not-an-id', undefined, /id/],
    ['GET', '/api/zoom/meetings?page_size=0', undefined, /page_size/]
  ]
  for (const [method, path, body, field] of cases) {
    const res = await call(method, path, body, api)
    t.equal(res.status, 400, `${method} ${path}`)
    t.equal(res.body.code, 'GATEWAY_INVALID_REQUEST')
    t.match(res.body.message, field)
  }
  t.equal(zoom.zoomEmulator.store.size, 0)
})

t.test('Zoom webhooks pass through unchanged: url_validation answered, forged posts refused', async t => {
  const { call } = await startZoomStack(t)
  const sign = (ts: string, body: string) => `v0=${createHmac('sha256', SECRET).update(`v0:${ts}:${body}`).digest('hex')}`
  const ts = String(Math.floor(Date.now() / 1000))
  // Deliberately not compact JSON: only raw-byte forwarding keeps this signature valid.
  const challenge = '{ "payload": { "plainToken": "qgg8vlvZRS6UYooatFL8Aw" }, "event_ts": 1, "event": "endpoint.url_validation" }'
  const res = await call('POST', '/api/webhooks/zoom', challenge, { 'content-type': 'application/json', 'x-zm-request-timestamp': ts, 'x-zm-signature': sign(ts, challenge) })
  t.equal(res.status, 200)
  t.same(res.body, { plainToken: 'qgg8vlvZRS6UYooatFL8Aw', encryptedToken: createHmac('sha256', SECRET).update('qgg8vlvZRS6UYooatFL8Aw').digest('hex') })
  const forged = await call('POST', '/api/webhooks/zoom', challenge, { 'content-type': 'application/json', 'x-zm-request-timestamp': ts, 'x-zm-signature': sign(ts, `${challenge} `) })
  t.equal(forged.status, 401)
  t.equal(forged.body.code, 'ZOOM_WEBHOOK_UNAUTHORIZED')
})
