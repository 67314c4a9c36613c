/**
 * Reads while the database is away: 503 with Retry-After and a message that says so, at once, from
 * the services and from the gateway's own reads, and back to 200 when the database returns.
 */
import t from 'tap'
import { createTestDatabase } from '@switchboard/activity-log/testing'
import { startPostgres } from '../../../scripts/postgres-server.ts'
import { admin, api, eventually, startStack, tcpProxy } from './helper.ts'

let serverUrl = process.env.TEST_DATABASE_URL
if (!serverUrl) {
  const server = await startPostgres()
  t.teardown(() => server.stop())
  serverUrl = server.url
}

t.test('the database away: reads answer 503 with Retry-After, naming the database; back to 200 after', async t => {
  const databaseUrl = await createTestDatabase(t, serverUrl)
  const direct = new URL(databaseUrl)
  const proxy = await tcpProxy(direct.hostname, Number(direct.port))
  t.teardown(() => proxy.close())
  const viaProxy = new URL(databaseUrl)
  viaProxy.port = String(proxy.port)
  const { call } = await startStack(t, { DATABASE_URL: viaProxy.toString() })
  t.equal((await call('GET', '/api/automation/email/stats', undefined, api)).status, 200)

  proxy.cut()
  for (const [path, headers, code] of [
    ['/api/automation/email/stats', api, 'EMAIL_DATABASE_UNAVAILABLE'],
    ['/api/automation/call/logs', api, 'VOICE_DATABASE_UNAVAILABLE'],
    ['/api/admin/stats', admin, 'GATEWAY_DATABASE_UNAVAILABLE']
  ] as const) {
    const res = await call('GET', path, undefined, headers)
    t.equal(res.status, 503, `${path} while the database is away`)
    t.match(res.body, { code, message: /database is unreachable/ })
    t.ok(Number(res.headers['retry-after']) > 0, 'with Retry-After')
    t.ok(res.ms < 2000, `answered at once (${Math.round(res.ms)} ms), not after a 2 s wait`)
  }

  proxy.restore()
  t.ok(await eventually(async () => (await call('GET', '/api/automation/email/stats', undefined, api)).status === 200, 10_000), 'reads work again once it is back')
})
