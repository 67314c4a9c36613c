import t from 'tap'
import { randomBytes } from 'node:crypto'
import { createTestActivityLog, createTestBackend } from '@switchboard/activity-log/testing'
import { claimWebhookEvents } from '../src/server/webhook-replay.ts'

t.test('posts that arrive together are claimed in one statement; each key is applied once, by the first post that carries it', async t => {
  const backend = await createTestBackend(t)
  const calls: string[] = []
  const counted = { ...backend, rpc: (fn: string, args?: Record<string, unknown>) => { calls.push(fn); return backend.rpc(fn, args) } } as typeof backend
  const log = await createTestActivityLog(t, { backend: counted })
  calls.length = 0

  const [a, b, c, other] = await Promise.all([
    claimWebhookEvents(log, 'zoom', ['meeting.started|1|m1'], 60),
    claimWebhookEvents(log, 'zoom', ['meeting.started|1|m1', 'meeting.ended|2|m1'], 60), // a replay racing the original, and a new event
    claimWebhookEvents(log, 'zoom', ['meeting.started|3|m2'], 60),
    claimWebhookEvents(log, 'sendgrid', ['meeting.started|3|m2'], 60) // another provider's keys are its own
  ])
  t.same([...a], ['meeting.started|1|m1'])
  t.same([...b], ['meeting.ended|2|m1'], 'the replayed key is not applied a second time')
  t.same([...c], ['meeting.started|3|m2'])
  t.same([...other], ['meeting.started|3|m2'])
  t.same(calls, ['claim_webhook_receipts', 'claim_webhook_receipts'], 'one call per provider for the four posts')

  const again = await claimWebhookEvents(log, 'zoom', ['meeting.started|1|m1', 'meeting.started|9|m9'], 60)
  t.same([...again], ['meeting.started|9|m9'], 'a key claimed before stays claimed')
})

t.test('a key of any length is claimed (a digest is stored past 200 characters), and the posts batched with it are too', async t => {
  // SendGrid's sg_event_id can be set by a send's custom_args (up to 10,000 bytes): stored whole, a
  // random 8 KB key failed the receipts' primary key, and with it every post claimed in that call.
  const log = await createTestActivityLog(t, { backend: await createTestBackend(t) })
  const huge = randomBytes(6000).toString('base64')
  const [long, other] = await Promise.all([
    claimWebhookEvents(log, 'sendgrid', [huge, 'ev-1'], 60),
    claimWebhookEvents(log, 'sendgrid', ['ev-2'], 60)
  ])
  t.same([...long], [huge, 'ev-1'])
  t.same([...other], ['ev-2'])
  t.same([...await claimWebhookEvents(log, 'sendgrid', [huge, `${huge}x`], 60)], [`${huge}x`], 'the long key replayed is dropped; another long one is its own')
})
