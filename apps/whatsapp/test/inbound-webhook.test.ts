import t from 'tap'
import { startWhatsAppApp, WEBHOOK_PATH } from './helper.ts'

// The AiSensy receiver's inbound side, for posts that are not usable messages.

t.test('an inbound notification whose sender is not a phone number or whose text is not a string is dropped with its reason, not stored', async t => {
  const { call, activityLog } = await startWhatsAppApp(t, { env: { AISENSY_WEBHOOK_URL: 'off' } })
  const inbound = (id: string, message: Record<string, unknown>) => ({ id, topic: 'message.sender.user', data: { message: { id: `m-${id}`, ...message } } })
  for (const [id, message] of [
    ['bad-phone', { phone_number: 'abc', message_content: { text: 'hello' } }],
    ['short-phone', { phone_number: '12345', message_content: { text: 'hello' } }],
    ['object-phone', { phone_number: { n: '919876543210' }, message_content: { text: 'hello' } }],
    ['number-text', { phone_number: '919876543210', message_content: { text: 42 } }],
    ['object-text', { phone_number: '919876543210', message_content: { text: { a: 1 } } }],
    ['list-body', { phone_number: '919876543210', body: ['hi'] }]
  ] as const) {
    const res = await call('POST', WEBHOOK_PATH, inbound(id, message))
    t.same([res.status, res.body], [200, { received: 1, applied: 0, duplicate: 0, ignored: 1 }], `${id}: acknowledged (AiSensy would only post it again) and ignored`)
  }
  // One that is a message goes through beside them, in the same batch.
  const batch = await call('POST', WEBHOOK_PATH, [inbound('good', { phone_number: 919876543210, message_content: { text: 'Yes' } }), inbound('bad-again', { phone_number: 'abc', message_content: { text: 'x' } })])
  t.same(batch.body, { received: 2, applied: 1, duplicate: 0, ignored: 1 })
  await activityLog.flush()
  const rows = await activityLog.select('crm_messages', { where: { direction: 'inbound' } })
  t.same(rows.map(r => [r.contact, r.content]), [['+919876543210', 'Yes']], 'only the real message is stored, under its normalised number')
})
