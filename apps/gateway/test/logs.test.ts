/**
 * The gateway's log for a person at info: one line per request someone sent, none for the admin
 * page's polling or health checks (those are at debug), and no request's token.
 */
import t, { type Test } from 'tap'
import { Writable } from 'node:stream'
import { createTestInfrastructure, freePort, jsonCaller } from '@switchboard/service-kit/testing'
import { selfBaseUrl } from '@switchboard/service-kit/service-app'
import { buildApp } from '../src/app.ts'
import { loadGatewayEnv } from '../src/config.ts'
import { ADMIN_TOKEN, API_TOKEN, api } from './helper.ts'

async function gatewayLoggingAt (t: Test, level: string) {
  const lines: Array<Record<string, any>> = []
  const stream = new Writable({ write (chunk, _enc, done) { for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l)); done() } })
  const infra = await createTestInfrastructure(t)
  // The email service is not running: the send is answered 503 by the gateway itself.
  const env = loadGatewayEnv({ GATEWAY_PORT: '0', SWITCHBOARD_DATA_DIR: infra.dataDir, API_TOKEN, ADMIN_TOKEN, EMAIL_SERVICE_URL: `http://127.0.0.1:${await freePort()}` })
  const gateway = await buildApp({ env, tokens: { apiToken: API_TOKEN, adminToken: ADMIN_TOKEN }, logger: { level, stream }, services: ['email'], shared: infra })
  infra.closeWithInfrastructure(gateway)
  await gateway.listen({ port: 0, host: '127.0.0.1' })
  return { lines, call: jsonCaller(selfBaseUrl(gateway)) }
}

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }
const requestLines = (lines: Array<Record<string, any>>) => lines.filter(l => typeof l.statusCode === 'number' && typeof l.ms === 'number')

t.test('at info: the send, not the polling', async t => {
  const { lines, call } = await gatewayLoggingAt(t, 'info')
  await call('GET', '/api/admin/journal', undefined, admin)
  await call('GET', '/api/admin/settings/mock-mode', undefined, admin)
  await call('GET', '/health')
  await call('POST', '/api/automation/trigger/email', { to_email: 'a@example.com', subject: 's', content: 'c' }, api)
  const logged = requestLines(lines).map(l => l.msg.replace(/\(\d+ ms\)/, '(n ms)'))
  t.same(logged, ['POST /api/automation/trigger/email → 503 (n ms)'], 'one line, for what a person sent')
  t.notOk(lines.some(l => l.msg === 'incoming request' || l.msg === 'request completed'), 'not Fastify\'s two lines per request')
  t.notOk(JSON.stringify(lines).includes(API_TOKEN) || JSON.stringify(lines).includes(ADMIN_TOKEN), 'no token in any line')
})

t.test('at debug: the polling too', async t => {
  const { lines, call } = await gatewayLoggingAt(t, 'debug')
  await call('GET', '/api/admin/journal', undefined, admin)
  t.match(requestLines(lines).map(l => ({ level: l.level, msg: l.msg })), [{ level: 20, msg: /^GET \/api\/admin\/journal → 200/ }])
})
