/**
 * What crosses the gateway → service hop, seen from a stand-in service (a plain node:http server
 * that records each request): the method, path and query, the body, which headers go on and which
 * stay behind, and the service's answer relayed unchanged but for its connection headers.
 */
import t, { type Test } from 'tap'
import { once } from 'node:events'
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http'
import { Readable } from 'node:stream'
import { request } from 'undici'
import { selfBaseUrl } from '@switchboard/service-kit/service-app'
import { createTestInfrastructure, startRecorder } from '@switchboard/service-kit/testing'
import { buildApp } from '../src/app.ts'
import { loadGatewayEnv } from '../src/config.ts'
import { ADMIN_TOKEN, API_TOKEN } from './helper.ts'

interface Answer { status: number, headers: Record<string, string>, body: string }

async function gatewayBefore (t: Test, answer: Answer) {
  const upstream = await startRecorder(t, (_request, res) => { res.writeHead(answer.status, answer.headers).end(answer.body) })
  const infra = await createTestInfrastructure(t)
  const upstreams = { EMAIL_SERVICE_URL: upstream.origin, WHATSAPP_SERVICE_URL: upstream.origin }
  const env = loadGatewayEnv({ GATEWAY_PORT: '0', SWITCHBOARD_DATA_DIR: infra.dataDir, API_TOKEN, ADMIN_TOKEN, ...upstreams })
  const gateway = await buildApp({ env, tokens: { apiToken: API_TOKEN, adminToken: ADMIN_TOKEN }, logger: false, services: ['email', 'whatsapp'], shared: infra })
  infra.closeWithInfrastructure(gateway)
  await gateway.listen({ port: 0, host: '127.0.0.1' })
  return { url: selfBaseUrl(gateway), seen: upstream.received }
}

async function rawPost (url: string, headers: Record<string, string>, body: string): Promise<{ statusCode: number, headers: IncomingHttpHeaders, body: string }> {
  const req = httpRequest(url, { method: 'POST', headers, agent: false })
  req.end(body)
  const [res] = await once(req, 'response') as [IncomingMessage]
  let text = ''
  res.setEncoding('utf8')
  for await (const chunk of res) text += chunk
  return { statusCode: res.statusCode!, headers: res.headers, body: text }
}

const sent = { status: 202, headers: { 'content-type': 'application/json; charset=utf-8', 'x-message-id': 'm-1', connection: 'x-upstream-hop', 'x-upstream-hop': 'secret' }, body: '{"id":"e-1","status":"queued"}' }

t.test('a JSON body: validated, sent on as JSON with the request id; the token and hop-by-hop headers stay behind', async t => {
  const { url, seen } = await gatewayBefore(t, sent)
  // node:http sends the Connection header as written (undici's client would refuse to).
  const res = await rawPost(`${url}/api/automation/trigger/email`, {
    authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json; charset=utf-8', 'x-request-id': 'caller-id-1', 'x-switchboard-latency-ms': '5', connection: 'keep-alive, x-client-hop', 'x-client-hop': 'secret'
  }, JSON.stringify({ to_email: 'a@example.com', subject: 'Hi', content: '<p>Hi</p>' }))
  const text = res.body
  t.equal(res.statusCode, 202)
  t.equal(text, sent.body, 'the service\'s bytes, unchanged')
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
  t.equal(res.headers['x-message-id'], 'm-1')
  t.equal(res.headers['x-upstream-hop'], undefined, 'a header the service named in Connection is not relayed')
  t.equal(res.headers['x-request-id'], 'caller-id-1')

  t.equal(seen.length, 1)
  const got = seen[0]!
  t.equal(got.method, 'POST')
  t.equal(got.url, '/emails')
  // The validated body, with the schema's defaults filled in.
  t.same(JSON.parse(got.body), { to_email: 'a@example.com', subject: 'Hi', content: '<p>Hi</p>', content_type: 'text/html' })
  t.equal(got.headers['content-type'], 'application/json')
  t.equal(got.headers['content-length'], String(Buffer.byteLength(got.body)))
  t.equal(got.headers.authorization, undefined, 'the gateway token stays at the gateway')
  t.equal(got.headers['x-client-hop'], undefined, 'a header the caller named in Connection stops at the gateway')
  t.equal(got.headers['x-request-id'], 'caller-id-1')
  t.equal(got.headers['x-switchboard-latency-ms'], '5', 'simulation headers reach the service')
  t.equal(got.headers['x-forwarded-for'], '127.0.0.1')
})

t.test('a GET: the caller\'s query string is added to the service path, no body is sent', async t => {
  const { url, seen } = await gatewayBefore(t, { status: 200, headers: { 'content-type': 'application/json' }, body: '{"items":[]}' })
  const res = await request(`${url}/api/automation/whatsapp/inbound?contact=%2B919876543210&limit=5`, { headers: { authorization: `Bearer ${API_TOKEN}` } })
  t.equal(res.statusCode, 200)
  t.same(await res.body.json(), { items: [] })
  t.equal(seen[0]!.url, '/inbound?contact=%2B919876543210&limit=5')
  t.equal(seen[0]!.body, '')
  t.equal(seen[0]!.headers['content-length'], undefined)
  // A parameter the route does not know is refused at the gateway, never passed on.
  const unknown = await request(`${url}/api/automation/email/stats?since=2026-01-01`, { headers: { authorization: `Bearer ${API_TOKEN}` } })
  t.equal(unknown.statusCode, 400)
  t.match(await unknown.body.json(), { code: 'GATEWAY_INVALID_REQUEST', details: [{ field: 'querystring/since' }] })
  t.equal(seen.length, 1)
})

t.test('a chunked request body is sent on with its length, not as chunks', async t => {
  const { url, seen } = await gatewayBefore(t, sent)
  const payload = JSON.stringify({ to_email: 'a@example.com', subject: 'Hi', content: '<p>Hi</p>' })
  // A stream of unknown length: undici sends it with Transfer-Encoding: chunked.
  const res = await request(`${url}/api/automation/trigger/email`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
    body: Readable.from([payload.slice(0, 10), payload.slice(10)])
  })
  await res.body.text()
  t.equal(res.statusCode, 202)
  t.equal(seen[0]!.headers['transfer-encoding'], undefined)
  t.equal(seen[0]!.headers['content-length'], String(Buffer.byteLength(seen[0]!.body)))
})

t.test('a service\'s error answer is relayed with its status and body', async t => {
  const refusal = '{"statusCode":422,"code":"EMAIL_PROVIDER_REJECTED","message":"SendGrid rejected the request"}'
  const { url } = await gatewayBefore(t, { status: 422, headers: { 'content-type': 'application/json' }, body: refusal })
  const res = await request(`${url}/api/automation/trigger/email`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ to_email: 'a@example.com', subject: 'Hi', content: '<p>Hi</p>' })
  })
  t.equal(res.statusCode, 422)
  t.equal(await res.body.text(), refusal)
})
