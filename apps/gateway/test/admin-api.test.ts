import t from 'tap'
import { RuntimeSettings } from '@switchboard/service-kit/runtime-settings'
import { eventually } from '@switchboard/service-kit/testing'
import { ADMIN_TOKEN, api, startStack } from './helper.ts'

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }
const email = { to_email: 'deliver@example.com', subject: 'Hi', content: '<p>Hi</p>' }

t.test('settings: every service with mode, readiness, placeholder keys and simulation; admin token only', async t => {
  const { call } = await startStack(t)
  t.equal((await call('GET', '/api/admin/settings/mock-mode', undefined, api)).status, 401, 'the API token does not open admin routes')
  const res = await call('GET', '/api/admin/settings/mock-mode', undefined, admin)
  t.equal(res.status, 200)
  t.match(res.body, {
    mock_mode: true,
    use_mock_zoom: true,
    services: { email: { provider: 'SendGrid', mode: 'mock', reachable: true, ready: true, fallback: false, fallback_allowed: true, missing: ['SENDGRID_API_KEY'], credentials: [{ variable: 'SENDGRID_API_KEY', configured: false, display: 'mock mode: not needed' }], simulation: { success_rate: 1, scenario: 'none' } } }
  })
})

t.test('switching to live without the key is refused, naming it, and changes nothing', async t => {
  const { call, runtime } = await startStack(t)
  const res = await call('POST', '/api/admin/settings/mock-mode', { mock_mode: false, service: 'email' }, admin)
  t.equal(res.status, 422)
  t.equal(res.body.code, 'ADMIN_CREDENTIALS_MISSING')
  t.match(res.body.message, /email needs SENDGRID_API_KEY/)
  t.equal(runtime.get('email').mode, 'mock')
  const bad = await call('POST', '/api/admin/settings/mock-mode', { mock_mode: 'no' }, admin)
  t.equal(bad.status, 400)
  t.match(bad.body.message, /mock_mode/)
})

t.test('a switch is recorded, reaches another instance within two seconds, and survives a restart', async t => {
  const { call, activityLog } = await startStack(t, { emailEnv: { SENDGRID_API_KEY: 'SG.live.abcdefghijklmnop' } })
  // Another service instance elsewhere, polling the same database at the default interval.
  const elsewhere = new RuntimeSettings({ activityLog, seed: { mockMode: true, useMockZoom: true }, pollMs: 1000 })
  await elsewhere.start()
  t.teardown(() => elsewhere.stop())
  t.equal(elsewhere.get('email').mode, 'mock')

  const switched = Date.now()
  const res = await call('POST', '/api/admin/settings/mock-mode', { mock_mode: false, service: 'email' }, admin)
  t.equal(res.status, 200)
  t.match(res.body.services.email, { mode: 'live', ready: true, credentials: [{ display: 'SG.****mnop' }] })
  t.equal(res.body.mock_mode, false)
  await eventually(async () => elsewhere.get('email').mode === 'live')
  t.pass(`the other instance followed at its next poll (${Date.now() - switched} ms)`)

  const afterRestart = new RuntimeSettings({ activityLog, seed: { mockMode: true, useMockZoom: true }, pollMs: 1000 })
  await afterRestart.start()
  afterRestart.stop()
  t.equal(afterRestart.get('email').mode, 'live', 'MOCK_MODE only seeds the first start; the stored switch wins')

  const changes = await call('GET', '/api/admin/settings/changes', undefined, admin)
  t.match(changes.body.items[0], { key: 'mode.email', from_value: 'mock', to_value: 'live', changed_by: 'admin@127.0.0.1' })
})

t.test('simulation controls apply at once; bad values name the field', async t => {
  const { call } = await startStack(t)
  const patched = await call('PATCH', '/api/admin/settings/services/email', { simulation: { success_rate: 0, latency_ms: { min: 0, max: 5 } } }, admin)
  t.equal(patched.status, 200)
  t.match(patched.body.simulation, { success_rate: 0, latency_ms: { min: 0, max: 5 } })
  const failed = await call('POST', '/api/automation/trigger/email', { ...email, to_email: 'someone@example.com' }, api)
  t.equal(failed.status, 502, 'a 0 success rate fails the next send')

  const outage = await call('PATCH', '/api/admin/settings/services/email', { simulation: { success_rate: 1, scenario: 'rate_limit' } }, admin)
  t.equal(outage.body.simulation.scenario, 'rate_limit')
  t.equal((await call('POST', '/api/automation/trigger/email', email, api)).status, 429)

  const seeded = await call('PATCH', '/api/admin/settings/services/email', { simulation: { seed: 42 } }, admin)
  t.equal(seeded.body.simulation.seed, 42)
  const unseeded = await call('PATCH', '/api/admin/settings/services/email', { simulation: { seed: null } }, admin)
  t.equal(unseeded.body.simulation.seed, null, 'null clears the seed (random again), it is not coerced to 0')

  const inverted = await call('PATCH', '/api/admin/settings/services/email', { simulation: { latency_ms: { min: 10, max: 5 } } }, admin)
  t.equal(inverted.status, 400)
  t.match(inverted.body.message, /latency_ms/)
  const unknown = await call('PATCH', '/api/admin/settings/services/email', { simulation: { scenario: 'meteor' } }, admin)
  t.equal(unknown.status, 400)
  t.match(unknown.body.message, /scenario/)
  const noFallback = await call('PATCH', '/api/admin/settings/services/payments', { fallback: true }, admin)
  t.equal(noFallback.status, 422)
  t.equal(noFallback.body.code, 'ADMIN_FALLBACK_NOT_ALLOWED')
  const noZoomFallback = await call('PATCH', '/api/admin/settings/services/zoom', { fallback: true }, admin)
  t.equal(noZoomFallback.status, 422)
  t.match(noZoomFallback.body.message, /join link/)
  const settings = await call('GET', '/api/admin/settings/mock-mode', undefined, admin)
  t.match(settings.body.services.email, { fallback_allowed: true, fallback_note: null })
})

t.test('journal, detail, stats and reset', async t => {
  const { call } = await startStack(t)
  const first = await call('POST', '/api/automation/trigger/email', email, { ...api, 'x-request-id': 'journal-1' })
  await call('POST', '/api/automation/trigger/email', { ...email, to_email: 'reject@example.com' }, api)
  const journal = await call('GET', '/api/admin/journal?service=email', undefined, admin)
  t.equal(journal.status, 200)
  t.equal(journal.body.items.length, 2)
  t.match(journal.body.items[0], { service: 'email', contact: 'reject@example.com', status: 'failed' })
  const byRequest = await call('GET', '/api/admin/journal?request_id=journal-1', undefined, admin)
  t.same(byRequest.body.items.map((i: { id: string }) => i.id), [first.body.id])
  const detail = await call('GET', `/api/admin/journal/email/${first.body.id}`, undefined, admin)
  t.match(detail.body, { service: 'email', row: { id: first.body.id, request_id: 'journal-1', subject: 'Hi' } })
  const stats = await call('GET', '/api/admin/stats?minutes=10', undefined, admin)
  t.match(stats.body.services.email, { total: 2, failed: 1, success_rate: 0.5 })
  t.equal(stats.body.services.email.series.reduce((n: number, s: { count: number }) => n + s.count, 0), 2)

  const reset = await call('POST', '/api/admin/reset', undefined, admin)
  t.match(reset.body, { cleared: { email_logs: 2 }, services: { email: 'reset' } })
  t.same((await call('GET', '/api/admin/journal', undefined, admin)).body.items, [])
})
