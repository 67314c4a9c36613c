/**
 * An event retried in the same process is signed at its own time: Standard Webhooks receivers
 * refuse a timestamp older than 5 minutes, and a retry's first attempt may be that old by then.
 */
import t from 'tap'
import { Webhook } from 'standardwebhooks'
import { startRecorder } from '@switchboard/service-kit/testing'
import { admin, api, eventually, startStack } from './helper.ts'

t.test('a failed event delivery is retried signed anew: a later webhook-timestamp, verified by standardwebhooks', async t => {
  let answered = 0
  const app = await startRecorder(t, (_request, res) => { res.statusCode = answered++ === 0 ? 503 : 200; res.end() })
  const s = await startStack(t)
  const endpoint = await s.call('POST', '/api/admin/endpoints', { url: `${app.origin}/hooks`, types: ['email.delivered'] }, admin)
  t.equal(endpoint.status, 201)
  t.equal((await s.call('POST', '/api/automation/trigger/email', { to_email: 'deliver@example.com', subject: 'Retry me', content: 'x' }, api)).status, 202)

  // The outbox's first backoff for events is 5 s: the retry comes from this process, no restart.
  const [first, retry] = (await eventually(async () => app.received.length >= 2 && app.received, 30_000)) ?? []
  t.equal(retry!.headers['webhook-id'], first!.headers['webhook-id'], 'the same event')
  const stamp = (r: typeof first) => Number(r!.headers['webhook-timestamp'])
  t.ok(stamp(retry) > stamp(first), `the retry carries its own, later timestamp (${stamp(first)} → ${stamp(retry)})`)
  const headers = { 'webhook-id': String(retry!.headers['webhook-id']), 'webhook-timestamp': String(retry!.headers['webhook-timestamp']), 'webhook-signature': String(retry!.headers['webhook-signature']) }
  t.match(new Webhook(endpoint.body.secret).verify(retry!.body, headers), { type: 'email.delivered' }, 'signed over it')
})
