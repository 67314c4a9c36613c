/**
 * Values at the edges of what the admin API and the activity log take: instants PostgreSQL reads
 * differently from Ajv and JavaScript, forged cursors, and a caller's X-Request-Id too large for
 * the index of the rows it names. Each was a 500, or a row lost after its request was answered.
 */
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { admin, api, eventually, startStack } from './helper.ts'

t.test('edges of the admin API and the activity log', async t => {
  const { call, stack } = await startStack(t)
  const log = stack.shared.activityLog

  await t.test('an instant PostgreSQL would refuse is a 400 naming the field, not a 500', async t => {
    for (const [path, field] of [
      ['/api/admin/activity?since=0000-01-01T00:00:00Z', 'querystring/since'],
      ['/api/admin/journal?until=2020-01-01T00:00:00%2B23:00', 'querystring/until'],
      ['/api/admin/messages/email?to=a@example.com&since=2020-01-01%C2%A000:00:00Z', 'querystring/since']
    ] as const) {
      const res = await call('GET', path, undefined, admin)
      t.equal(res.status, 400, `${path}: ${res.text.slice(0, 200)}`)
      t.match(res.body, { code: 'GATEWAY_INVALID_REQUEST', message: new RegExp(`^${field} must match format "date-time"`) })
    }
    t.equal((await call('GET', '/api/admin/activity?since=2020-01-01T00:00:00%2B05:30', undefined, admin)).status, 200, 'an ordinary offset still reads')
  })

  await t.test('a forged cursor is ADMIN_INVALID_CURSOR, whatever Date.parse makes of it', async t => {
    const forge = (parts: unknown) => Buffer.from(JSON.stringify(parts)).toString('base64url')
    for (const parts of [['1', '00000000-0000-4000-8000-000000000000'], ['Sat', '00000000-0000-4000-8000-000000000000'], ['2020-01-01T00:00:00Z', '-'.repeat(36)], ['2020-01-01T00:00:00Z', '0'.repeat(36)]]) {
      const res = await call('GET', `/api/admin/activity?cursor=${forge(parts)}`, undefined, admin)
      t.equal(res.status, 400, `${JSON.stringify(parts)}: ${res.text.slice(0, 200)}`)
      t.equal(res.body.code, 'ADMIN_INVALID_CURSOR')
    }
  })

  await t.test('the clock stays within the years the database stamps: a send is stored at its edges', async t => {
    t.teardown(async () => { await call('POST', '/api/admin/clock/real', undefined, admin) })
    for (const to of ['0000-06-01T00:00:00Z', '0001-01-01T00:00:00+01:00']) {
      const res = await call('POST', '/api/admin/clock/set', { to }, admin)
      t.equal(res.status, 400, `${to}: ${res.text.slice(0, 200)}`)
      t.match(res.body, { code: /INVALID_REQUEST$/, message: /body\/to/ })
    }
    t.equal((await call('POST', '/api/admin/clock/set', { to: '9999-12-31T00:00:00Z' }, admin)).status, 200)
    const past = await call('POST', '/api/admin/clock/advance', { seconds: 86_400 }, admin)
    t.equal(past.status, 400, past.text.slice(0, 200))
    t.match(past.body, { code: 'ADMIN_INVALID_REQUEST', message: /body\/seconds/ })
    t.equal((await call('POST', '/api/admin/clock/set', { to: '0001-01-01T00:00:00Z' }, admin)).status, 200)
    const sent = await call('POST', '/api/automation/trigger/email', { to_email: 'deliver@example.com', subject: 'At the first instant', content: 'x' }, api)
    t.equal(sent.status, 202, sent.text)
    await log.flush(10_000)
    t.equal(await log.count('email_logs', { id: sent.body.id }), 1, 'the row of the send answered 202 is stored')
  })

  await t.test('an 8 KB X-Request-Id: the request gets an id of ours, its row is stored, and so is every write after it', async t => {
    const huge = randomBytes(6000).toString('base64')
    const first = await call('POST', '/api/automation/trigger/email', { to_email: 'deliver@example.com', subject: 'Long request id', content: 'x' }, { ...api, 'x-request-id': huge })
    t.equal(first.status, 202, first.text)
    t.not(first.headers['x-request-id'], huge)
    const second = await call('POST', '/api/automation/trigger/email', { to_email: 'deliver@example.com', subject: 'After it', content: 'x' }, api)
    t.equal(second.status, 202, second.text)
    const stored = await eventually(async () => (await log.count('email_logs', { id: { in: [first.body.id, second.body.id] } })) === 2, 15_000)
    t.ok(stored, 'both rows are in the database (before: the first was retried forever, the second queued behind it)')
    const [row] = await log.select('email_logs', { where: { id: first.body.id }, limit: 1 })
    t.equal(row?.request_id, first.headers['x-request-id'])
  })

  await t.test('a reset drops a campaign still running: its contacts not yet sent are not sent into the cleared logs', async t => {
    const contacts = Array.from({ length: 2000 }, (_x, i) => ({ to_number: `+9198${String(i).padStart(8, '0')}`, params: ['Ada'] }))
    const created = await call('POST', '/api/automation/whatsapp/campaigns', { name: 'racing a reset', template_name: 'welcome_message', contacts }, { ...api, 'x-switchboard-latency-ms': '100' })
    t.equal(created.status, 202, created.text.slice(0, 200))
    t.ok(await eventually(async () => (await log.count('whatsapp_logs')) > 0, 15_000), 'the campaign is sending')
    const reset = await call('POST', '/api/admin/reset', undefined, admin)
    t.equal(reset.status, 200, reset.text)
    t.equal(await log.count('jobs'), 0, 'no job left to claim contacts from')
    t.equal(await log.count('job_items'), 0)
    t.equal((await call('GET', `/api/automation/whatsapp/campaigns/${created.body.id}`, undefined, api)).status, 404)
  })
})
