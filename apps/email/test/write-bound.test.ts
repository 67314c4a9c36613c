/**
 * The activity log's bound (ACTIVITY_LOG_MAX_PENDING) refuses a send before SendGrid is called,
 * never after: a 503 WRITE_QUEUE_FULL says nothing was sent, so a retry sends the mail once. A
 * SendGrid standing in for the real one (live mode) counts what reached it; the database holds its
 * commits so the queue fills as under load.
 */
import t from 'tap'
import { createHeldBackend } from '@switchboard/activity-log/testing'
import { eventually, startRecorder } from '@switchboard/service-kit/testing'
import { startEmailApp } from './helper.ts'

const send = (to: string) => ({ to_email: to, subject: 'Receipt', content: '<p>Thanks!</p>' })
const LIVE = { SENDGRID_API_KEY: 'SG.live-key.abcdefghijk' }

t.test('a full write queue refuses a send before SendGrid gets it: the 503 is true, nothing was sent', async t => {
  const sendgrid = await startRecorder(t, (_request, res) => { res.writeHead(202, { 'x-message-id': `m${Date.now()}` }).end() })
  const db = await createHeldBackend(t)
  const { call, runtime, activityLog } = await startEmailApp(t, { env: { ...LIVE, SENDGRID_BASE_URL: sendgrid.origin }, activityLog: { backend: db.backend, maxPending: 1 } })
  await runtime.update('email', { mode: 'live' }, 'test')

  db.hold()
  const first = call('POST', '/emails', send('first@example.com'))
  t.ok(await eventually(async () => sendgrid.received.length === 1 && activityLog.pending === 1), 'the first send reached SendGrid; its row waits for the database')

  const refused = await call('POST', '/emails', send('second@example.com'))
  t.equal(refused.status, 503)
  t.equal(refused.body.code, 'EMAIL_WRITE_QUEUE_FULL')
  t.equal(refused.headers['retry-after'], '1')
  t.equal(sendgrid.received.length, 1, 'the refused send never reached SendGrid')

  db.release()
  t.equal((await first).status, 202, 'the first send is answered once its row is stored')
  const retried = await call('POST', '/emails', send('second@example.com'))
  t.equal(retried.status, 202, 'the retry is sent')
  t.same(sendgrid.received.map(r => JSON.parse(r.body).personalizations[0].to[0].email), ['first@example.com', 'second@example.com'], 'each mail went out once')
})

t.test('sends admitted before the queue filled keep their rows: SendGrid took them, so they are never refused after it', async t => {
  // SendGrid answers only once both sends reached it: both were admitted while the queue was empty.
  const waiting: Array<() => void> = []
  const sendgrid = await startRecorder(t, (_request, res) => {
    waiting.push(() => res.writeHead(202, { 'x-message-id': `m${waiting.length}` }).end())
    if (waiting.length === 2) for (const answer of waiting) answer()
  })
  const db = await createHeldBackend(t)
  const { call, runtime, activityLog } = await startEmailApp(t, { env: { ...LIVE, SENDGRID_BASE_URL: sendgrid.origin }, activityLog: { backend: db.backend, maxPending: 1 } })
  await runtime.update('email', { mode: 'live' }, 'test')

  db.hold()
  const sends = [call('POST', '/emails', send('a@example.com')), call('POST', '/emails', send('b@example.com'))]
  // Before the fix the second row was refused at once (its send answered 503 after SendGrid took it).
  t.ok(await eventually(async () => activityLog.pending === 2, 3000).catch(() => false), 'both rows wait for the database, one past the bound')
  db.release()
  const answers = await Promise.all(sends)
  t.same(answers.map(a => a.status), [202, 202], 'both answered as sent')
  await activityLog.flush()
  t.equal((await activityLog.select('email_logs', { where: { id: { in: answers.map(a => a.body.id) } } })).length, 2, 'both rows stored')
})
