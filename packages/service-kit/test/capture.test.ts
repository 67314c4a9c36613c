import t, { type Test } from 'tap'
import Fastify from 'fastify'
import type { ActivityExchangeRow } from '@switchboard/activity-log'
import { registerCapture } from '../src/server/capture.ts'
import { registerSecrets } from '../src/server/redact.ts'

async function app (t: Test, maxString?: number) {
  const rows: ActivityExchangeRow[] = []
  const server = Fastify()
  t.teardown(() => server.close())
  registerCapture(server, {
    channel: 'email',
    emulatorPrefix: '/emu',
    store: { record: async (_table, row) => { rows.push(row) } },
    internal: request => request.headers['x-test-internal'] === 'yes',
    ...(maxString ? { maxString } : {})
  })
  server.describeExchanges(x => x.path === '/skip' ? { skip: true } : x.path === '/send' ? { content: { kind: 'email', subject: (x.requestBody as { subject: string }).subject }, contacts: ['Ada@Example.com', '+91 90000 00004'], providerId: 'pm-1' } : undefined)
  server.post('/emu/send', async (_request, reply) => reply.header('x-message-id', 'msg-42').code(202).send({ ok: true, nested: { execution_id: 'ex-7' } }))
  server.get('/emu/skip', async () => ({ ok: true }))
  server.get('/emu/_switchboard/state', async () => ({ secret: 'not recorded' }))
  server.post('/emu/_switchboard/complete/pr-12345678', async (_request, reply) => reply.header('x-switchboard-scenario-rule', 'story twice step 1/3').send({ status: 'Failed' }))
  server.post('/webhooks/x', async (_request, reply) => reply.code(401).send({ statusCode: 401, code: 'EMAIL_WEBHOOK_SIGNATURE_INVALID', error: 'Unauthorized', message: 'Unauthorized' }))
  server.post('/webhooks/ok', async () => ({ received: 1 }))
  server.get('/other', async () => ({}))
  await server.ready()
  return { server, rows }
}

const settle = () => new Promise(resolve => setImmediate(resolve))

t.test('an emulator exchange: headers and bodies stored redacted, ids and recipients kept, direct marked by the credential', async t => {
  const { server, rows } = await app(t)
  registerSecrets(['configured-secret-value-123'])
  await server.inject({
    method: 'POST',
    url: '/emu/send?api_key=query-secret-1&page=2',
    headers: { authorization: 'Bearer SG.abcdefghij.klmnopqrstuv', 'x-api-key': 'abc', 'content-type': 'application/json' },
    payload: { subject: 'Hi', apiKey: 'body-secret', note: 'has configured-secret-value-123 inside', personalizations: [{ custom_args: { sb_log_id: 'row-1' } }] }
  })
  await server.inject({ method: 'POST', url: '/emu/send', headers: { 'x-test-internal': 'yes', 'content-type': 'application/json' }, payload: { subject: 'Via the service' } })
  await settle()
  t.equal(rows.length, 2)
  const [direct, internal] = rows
  t.match(direct, { channel: 'email', kind: 'provider', direct: true, method: 'POST', status_code: 202, provider_id: 'pm-1', content: { kind: 'email', subject: 'Hi' }, truncated: false })
  t.equal(direct!.path, '/emu/send?api_key=%5BREDACTED%5D&page=2', 'a secret-named query value is redacted')
  t.equal(direct!.request!.headers.authorization, 'Bearer [REDACTED]')
  t.equal(direct!.request!.headers['x-api-key'], '[REDACTED]')
  t.match(direct!.request!.body, { subject: 'Hi', apiKey: '[REDACTED]', note: 'has [REDACTED] inside' })
  t.same(direct!.response!.body, { ok: true, nested: { execution_id: 'ex-7' } })
  t.equal(direct!.response!.headers['x-message-id'], 'msg-42')
  t.ok(['row-1', 'ex-7', 'msg-42', 'pm-1'].every(id => direct!.refs!.includes(id)), `refs ${direct!.refs!.join(',')}`)
  t.same(direct!.contacts, ['ada@example.com', '+91 90000 00004', '919000000004'], 'emails lower-cased, phones as sent and as digits')
  t.notOk(JSON.stringify(direct).includes('body-secret') || JSON.stringify(direct).includes('query-secret-1') || JSON.stringify(direct).includes('klmnopqrstuv'))
  t.equal(internal!.direct, false, 'with the internal credential: not direct')
  t.equal(internal!.request!.headers['x-test-internal'], 'yes', 'other headers kept')
})

t.test('what is not recorded: control routes, skipped exchanges, the server\'s other routes', async t => {
  const { server, rows } = await app(t)
  await server.inject({ method: 'GET', url: '/emu/_switchboard/state' })
  await server.inject({ method: 'GET', url: '/emu/skip' })
  await server.inject({ method: 'GET', url: '/other' })
  await server.inject({ method: 'POST', url: '/webhooks/ok', payload: { a: 1 } })
  await settle()
  t.same(rows.map(r => r.path), ['/webhooks/ok'], 'only the webhook post, proving the hook ran')
})

t.test('a control route whose answer a scenario decided is recorded, with the rule and its ids', async t => {
  const { server, rows } = await app(t)
  await server.inject({ method: 'POST', url: '/emu/_switchboard/complete/pr-12345678', headers: { 'x-test-internal': 'yes' }, payload: {} })
  await settle()
  t.match(rows, [{ kind: 'provider', direct: false, path: '/emu/_switchboard/complete/pr-12345678', response: { headers: { 'x-switchboard-scenario-rule': 'story twice step 1/3' } } }])
  t.ok(rows[0]!.refs!.includes('pr-12345678'), 'tied to the row by the id in its path')
})

t.test('a webhook post: the receiver\'s verdict', async t => {
  const { server, rows } = await app(t)
  await server.inject({ method: 'POST', url: '/webhooks/x', payload: [{ event: 'delivered', sb_log_id: 'row-9' }] })
  await server.inject({ method: 'POST', url: '/webhooks/ok', payload: { event: 'open' } })
  await settle()
  t.match(rows[0], { kind: 'webhook', direct: false, status_code: 401, verification: { ok: false, status_code: 401, detail: /refused \(HTTP 401 EMAIL_WEBHOOK_SIGNATURE_INVALID\)/ } })
  t.ok(rows[0]!.refs!.includes('row-9'))
  t.match(rows[1], { kind: 'webhook', verification: { ok: true, status_code: 200 } })
})

t.test('a cut never splits a character in two (an emoji is two UTF-16 units)', async t => {
  const { server, rows } = await app(t, 100)
  await server.inject({ method: 'POST', url: '/emu/send', payload: { subject: `a${'🎉'.repeat(100)}` } })
  await settle()
  const subject = (rows[0]!.request!.body as { subject: string }).subject
  t.equal(subject, `a${'🎉'.repeat(49)}…[truncated: 102 more characters]`, 'cut before the emoji whose first half fell on the limit')
  t.notOk(subject.includes('\ufffd'), 'no replacement character for half an emoji')
})

t.test('long values are cut with a note and the row says so', async t => {
  const { server, rows } = await app(t, 100)
  await server.inject({ method: 'POST', url: '/emu/send', payload: { subject: 'x'.repeat(250) } })
  await settle()
  t.equal(rows[0]!.truncated, true)
  t.equal((rows[0]!.request!.body as { subject: string }).subject, `${'x'.repeat(100)}…[truncated: 150 more characters]`)
  t.equal((rows[0]!.content as { subject: string }).subject.length, 100 + '…[truncated: 150 more characters]'.length, 'content is capped too')
})
