import t from 'tap'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { LOG_ID_ARG } from '../src/service/email-service.ts'
import { loadSigningKey } from '../src/emulator/event-webhook.ts'
import { serializeEvents, signEvents, SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../src/sendgrid-webhooks.ts'
import { eventually, startEmailApp } from './helper.ts'

t.test('a replayed SendGrid event (same sg_event_id, signature still fresh) is dropped; new events apply', async t => {
  const app = await startEmailApp(t)
  const sent = await app.call('POST', '/emails', { to_email: 'deliver@example.com', subject: 'Hi', content: '<p>Hi</p>' })
  t.equal(sent.status, 202)
  const id = sent.body.id as string
  await eventually(async () => { await app.activityLog.flush(); return (await app.activityLog.select('email_logs', { where: { id } })).length > 0 })
  // The emulator's signing key, which the receiver trusts (as it trusts SendGrid's in live mode).
  const { privateKey } = loadSigningKey(app.dataDir)
  const signed = (events: Array<Record<string, unknown>>) => {
    const body = serializeEvents(events as never)
    const ts = String(Math.floor(Date.now() / 1000))
    return { body, headers: { 'content-type': 'application/json', [TIMESTAMP_HEADER]: ts, [SIGNATURE_HEADER]: signEvents(privateKey, ts, body) } }
  }
  const event = (event: string, sgEventId: string) => ({ email: 'deliver@example.com', timestamp: Math.floor(Date.now() / 1000), event, sg_event_id: sgEventId, [LOG_ID_ARG]: id })
  const post = (p: { body: string, headers: Record<string, string> }) => app.call('POST', '/webhooks/sendgrid', p.body, p.headers)

  const bounce = signed([event('bounce', 'evt-bounce-1')])
  t.same((await post(bounce)).body, { received: 1, applied: 1 })
  // The captured post, byte for byte, again: received, but nothing applied.
  t.same((await post(bounce)).body, { received: 1, applied: 0 }, 'the replay is dropped')
  // A new post repeating the old event next to a new one: only the new one applies.
  t.same((await post(signed([event('bounce', 'evt-bounce-1'), event('open', 'evt-open-1'), event('open', 'evt-open-1')]))).body, { received: 3, applied: 1 })
})

t.test('a signed event whose sb_log_id is not one of our row ids applies nothing and parks nothing; the rest of its batch applies', async t => {
  const app = await startEmailApp(t)
  const sent = await app.call('POST', '/emails', { to_email: 'deliver@example.com', subject: 'Hi', content: '<p>Hi</p>' }, { 'x-switchboard-outcome': 'success' })
  const id = sent.body.id as string
  await eventually(async () => { await app.activityLog.flush(); return (await app.activityLog.select('email_logs', { where: { id, status: 'delivered' } })).length > 0 })
  const { privateKey } = loadSigningKey(app.dataDir)
  const events = [
    { email: 'x@example.com', timestamp: Math.floor(Date.now() / 1000), event: 'bounce', sg_event_id: 'evt-odd-1', [LOG_ID_ARG]: 'not-a-uuid' },
    { email: 'deliver@example.com', timestamp: Math.floor(Date.now() / 1000), event: 'open', sg_event_id: 'evt-open-2', [LOG_ID_ARG]: id }
  ]
  const body = serializeEvents(events as never)
  const ts = String(Math.floor(Date.now() / 1000))
  const res = await app.call('POST', '/webhooks/sendgrid', body, { 'content-type': 'application/json', [TIMESTAMP_HEADER]: ts, [SIGNATURE_HEADER]: signEvents(privateKey, ts, body) })
  t.same(res.body, { received: 2, applied: 1 }, 'only the event naming a row of ours counts as applied')
  await app.activityLog.flush()
  t.equal((await app.activityLog.select('email_logs', { where: { id } }))[0]?.status, 'opened', 'the good event of the batch moved its row')
  // Before, the odd id reached the database: "invalid input syntax for type uuid" failed the batch,
  // which was set aside in the journal's .rejected file.
  t.notOk(existsSync(join(app.dataDir, 'activity-log.journal.jsonl.rejected')), 'nothing was set aside as rejected')
  t.equal(await app.activityLog.advance('email_logs', 'id', 'also-not-a-uuid', 'delivered'), undefined, 'and the log itself takes a move for such an id as moving nothing')
  await app.activityLog.flush()
  t.notOk(existsSync(join(app.dataDir, 'activity-log.journal.jsonl.rejected')))
})
