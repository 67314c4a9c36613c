import t, { type Test } from 'tap'
import sgMail from '@sendgrid/mail'
import { Client } from '@sendgrid/client'
import { startRecorder } from '@switchboard/service-kit/testing'
import { auth, eventually, mail, startEmailApp } from './helper.ts'
import { PAUSE_EXPIRY_MS, ScheduledSends } from '../src/emulator/scheduled-sends.ts'

interface Event { email: string, event: string, timestamp: number }

/** The email app with its Event Webhook pointed at a recorder, and the official SDK pointed at the emulator. */
async function setUp (t: Test) {
  const receiver = await startRecorder(t)
  const app = await startEmailApp(t, { env: { SENDGRID_EVENT_WEBHOOK_URL: `${receiver.origin}/events` } })
  const client = new Client()
  client.setApiKey('SG.official-sdk.test-key-123')
  client.setDefaultRequest('baseUrl', `${app.url}/sendgrid`)
  sgMail.setClient(client)
  const events = () => receiver.received.flatMap(post => JSON.parse(post.body) as Event[])
  const eventsFor = (email: string) => events().filter(e => e.email === email)
  const createBatch = async () => {
    const [res, body] = await client.request({ method: 'POST', url: '/v3/mail/batch' })
    t.equal(res.statusCode, 201)
    return (body as { batch_id: string }).batch_id
  }
  return { ...app, client, events, eventsFor, createBatch }
}

const nowSeconds = () => Math.floor(Date.now() / 1000)

t.test('a batch id is created (201), validates (200), and an unknown one is SendGrid\'s 400', async t => {
  const { call, createBatch } = await setUp(t)
  const batchId = await createBatch()
  t.match(batchId, /^[A-Za-z0-9]{32}$/)
  t.same((await call('GET', `/sendgrid/v3/mail/batch/${batchId}`, undefined, auth)).body, { batch_id: batchId })
  const unknown = await call('GET', '/sendgrid/v3/mail/batch/NotABatchWeCreated', undefined, auth)
  t.equal(unknown.status, 400)
  // tsg_mail_v3 MailBatch400's example, its "null" being JSON null (providers.md, gap 5).
  t.same(unknown.body, { errors: [{ message: 'invalid batch id', field: null }] })
  const send = await call('POST', '/sendgrid/v3/mail/send', mail('deliver@example.com', { batch_id: 'NotABatchWeCreated' }), auth)
  t.equal(send.status, 400, 'mail/send refuses a batch id that was never created')
  t.match(send.body, { errors: [{ field: 'batch_id' }] })
})

t.test('the batch paths answer other methods with the spec\'s 405 (tsg_mail_v3 MailBatch405), not a 404', async t => {
  const { call, createBatch } = await setUp(t)
  const batchId = await createBatch()
  for (const [method, path, allow] of [['GET', '/sendgrid/v3/mail/batch', 'POST'], ['DELETE', '/sendgrid/v3/mail/batch', 'POST'], ['POST', `/sendgrid/v3/mail/batch/${batchId}`, 'GET'], ['DELETE', `/sendgrid/v3/mail/batch/${batchId}`, 'GET'], ['PATCH', `/sendgrid/v3/mail/batch/${batchId}`, 'GET']] as const) {
    const res = await call(method, path, undefined, auth)
    t.equal(res.status, 405, `${method} ${path}`)
    t.same(res.body, { errors: [{ message: 'method not allowed', field: null }] })
    t.equal(res.headers.allow, allow)
  }
  t.equal((await call('GET', '/sendgrid/v3/mail/batch', undefined, {})).status, 401, 'the key is checked first')
})

t.test('send_at holds the message: its events all come at or after send_at', async t => {
  const { eventsFor } = await setUp(t)
  const sendAt = nowSeconds() + 2
  const [res] = await sgMail.send({ to: 'deliver+held@example.com', from: 'sender@example.com', subject: 'Later', text: 'x', sendAt })
  t.equal(res.statusCode, 202)
  const events = await eventually(async () => eventsFor('deliver+held@example.com').length >= 2 && eventsFor('deliver+held@example.com'))
  t.same(events.map(e => e.event), ['processed', 'delivered'])
  t.ok(events.every(e => e.timestamp >= sendAt), `every event stamped at or after send_at (${sendAt}): ${events.map(e => e.timestamp).join(', ')}`)
})

t.test('cancel: the batch\'s messages are discarded at send_at while others at the same time go out', async t => {
  const { client, eventsFor, createBatch, call } = await setUp(t)
  const batchId = await createBatch()
  // At least a second ahead, so the cancel below lands before send_at whatever the millisecond.
  const sendAt = nowSeconds() + 2
  await sgMail.send({ to: 'deliver+cancelled@example.com', from: 'sender@example.com', subject: 's', text: 'x', sendAt, batchId })
  const [created, body] = await client.request({ method: 'POST', url: '/v3/user/scheduled_sends', body: { batch_id: batchId, status: 'cancel' } })
  t.equal(created.statusCode, 201)
  t.same(body, { batch_id: batchId, status: 'cancel' })
  // The control message, due at the same second, shows the cancelled one's time has come and gone.
  await sgMail.send({ to: 'deliver+control@example.com', from: 'sender@example.com', subject: 's', text: 'x', sendAt })
  await eventually(async () => eventsFor('deliver+control@example.com').length >= 2)
  t.same(eventsFor('deliver+cancelled@example.com'), [], 'no event for the cancelled message')
  t.same((await call('GET', '/sendgrid/v3/user/scheduled_sends', undefined, auth)).body, [{ batch_id: batchId, status: 'cancel' }])
})

t.test('pause holds the batch past send_at; removing the pause sends it', async t => {
  const { client, eventsFor, createBatch, call } = await setUp(t)
  const batchId = await createBatch()
  await client.request({ method: 'POST', url: '/v3/user/scheduled_sends', body: { batch_id: batchId, status: 'pause' } })
  const sendAt = nowSeconds() + 1
  await sgMail.send({ to: 'deliver+paused@example.com', from: 'sender@example.com', subject: 's', text: 'x', sendAt, batchId })
  await sgMail.send({ to: 'deliver+control@example.com', from: 'sender@example.com', subject: 's', text: 'x', sendAt })
  await eventually(async () => eventsFor('deliver+control@example.com').length >= 2)
  t.same(eventsFor('deliver+paused@example.com'), [], 'still held after its send_at')
  t.same((await call('GET', `/sendgrid/v3/user/scheduled_sends/${batchId}`, undefined, auth)).body, [{ batch_id: batchId, status: 'pause' }])

  const removed = await call('DELETE', `/sendgrid/v3/user/scheduled_sends/${batchId}`, undefined, auth)
  t.equal(removed.status, 204)
  await eventually(async () => eventsFor('deliver+paused@example.com').length >= 2)
  t.same(eventsFor('deliver+paused@example.com').map(e => e.event), ['processed', 'delivered'])
  t.same((await call('GET', `/sendgrid/v3/user/scheduled_sends/${batchId}`, undefined, auth)).body, [], 'no status left')
})

t.test('scheduled_sends answers SendGrid\'s codes: 400 twice or bad status, 404 unknown, PATCH 204', async t => {
  const { call, createBatch } = await setUp(t)
  const batchId = await createBatch()
  const path = '/sendgrid/v3/user/scheduled_sends'
  t.equal((await call('POST', path, { batch_id: batchId, status: 'pause' }, auth)).status, 201)
  const again = await call('POST', path, { batch_id: batchId, status: 'cancel' }, auth)
  t.equal(again.status, 400, 'a second status goes through PATCH')
  t.match(again.body, { errors: [{ field: 'batch_id', message: /PATCH/ }] })

  const badStatus = await call('POST', path, { batch_id: batchId, status: 'stop' }, auth)
  t.equal(badStatus.status, 400)
  t.match(badStatus.body, { errors: [{ field: 'status' }] })
  const missing = await call('POST', path, { status: 'pause' }, auth)
  t.equal(missing.status, 400)
  t.match(missing.body, { errors: [{ field: 'batch_id' }] })
  t.match((await call('POST', path, { batch_id: 'NeverCreated', status: 'pause' }, auth)).body, { errors: [{ message: 'invalid batch id' }] })

  const patched = await call('PATCH', `${path}/${batchId}`, { status: 'cancel' }, auth)
  t.equal(patched.status, 204)
  t.same((await call('GET', `${path}/${batchId}`, undefined, auth)).body, [{ batch_id: batchId, status: 'cancel' }])

  const other = await createBatch()
  t.equal((await call('PATCH', `${path}/${other}`, { status: 'cancel' }, auth)).status, 404, 'PATCH needs a status set first')
  t.equal((await call('DELETE', `${path}/${other}`, undefined, auth)).status, 404)
  t.same((await call('GET', `${path}/NeverCreated`, undefined, auth)).body, { errors: [{ message: 'batch id not found', field: null }] })
  t.equal((await call('GET', path, undefined, {})).status, 401, 'the Bearer check applies')
})

t.test('on a clock: held until send_at, a pause expires 72 hours past it, a cancel discards', async t => {
  let now = 1_000_000_000_000
  const released: string[] = []
  const scheduled = new ScheduledSends({ now: () => now }, data => released.push(data as string))
  const paused = scheduled.createBatch()
  const cancelled = scheduled.createBatch()
  scheduled.setStatus(paused, 'pause')
  scheduled.setStatus(cancelled, 'cancel')
  const at = now / 1000 + 60
  scheduled.hold(at, undefined, 'm1', 'plain')
  scheduled.hold(at, paused, 'm2', 'paused')
  scheduled.hold(at, cancelled, 'm3', 'cancelled')

  now += 59_000
  scheduled.releaseDue()
  t.same(released, [], 'nothing before send_at')
  now += 1000
  scheduled.releaseDue()
  t.same(released, ['plain'])
  t.equal(scheduled.discarded, 1, 'the cancelled one is discarded at its send_at')
  now += PAUSE_EXPIRY_MS
  scheduled.releaseDue()
  t.equal(scheduled.heldCount, 1, 'exactly 72 hours past: still held')
  now += 1
  scheduled.releaseDue()
  t.same(released, ['plain'], 'the paused one never went out')
  t.equal(scheduled.discarded, 2, 'expired')
  t.equal(scheduled.heldCount, 0)
})
