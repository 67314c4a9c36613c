import t from 'tap'
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
