/**
 * The SendGrid emulator against SendGrid's own OpenAPI documents (twilio/sendgrid-oai:
 * tsg_mail_v3, tsg_stats_v3, tsg_webhooks_v3, read from ../shared/reference/specs): every
 * operation of theirs it serves, its success and its documented errors, each status one the
 * document lists and each body matching the document's schema for it. Where providers.md (the
 * live-verified notes) says SendGrid answers otherwise, the override below says so and why.
 */
import t, { type Test } from 'tap'
import { loadSpec, SpecConformance, type SchemaPatch, type SpecReply, type StatusOverride } from '@switchboard/service-kit/spec-conformance'
import { rawExchange, startRecorder } from '@switchboard/service-kit/testing'
import { auth, eventually, mail, startEmailApp } from './helper.ts'

/**
 * SendGrid's one error envelope as providers.md §1 records it from live answers:
 * {"errors":[{"message", "field": string|null, "help": string|object|null}], "id"?}.
 */
const ERRORS = {
  type: 'object',
  required: ['errors'],
  properties: {
    errors: {
      type: 'array',
      minItems: 1,
      items: { type: 'object', required: ['message'], properties: { message: { type: 'string' }, field: { type: ['string', 'null'] }, help: { type: ['string', 'object', 'null'] } } }
    },
    id: { type: 'string' }
  }
}

// The documents type an error's `help` as an object only; live answers carry null (the 401 whose
// 116 bytes the reference quotes) or a link string (the 400 for an invalid address) (providers.md §1).
const helpAsLive = (): SchemaPatch => ({
  at: '#/components/schemas/ErrorResponse/properties/errors/items/properties/help',
  set: { type: ['string', 'object', 'null'] },
  reason: 'providers.md §1: live errors carry help null or a link string'
})
/** What every SendGrid v3 operation may answer beyond its document's list (providers.md §1). */
const everywhere: StatusOverride[] = [
  { status: 401, schema: ERRORS, reason: 'providers.md §1: every v3 call takes a Bearer API key; a missing or refused one is 401 with the error envelope' },
  { status: 429, schema: ERRORS, reason: 'providers.md §1: 429 {"errors":[{"field":null,"message":"too many requests"}]} (docs)' },
  { status: 503, schema: ERRORS, reason: 'providers.md §1: the docs add 503 to the documented statuses' }
]

const mailSpec = new SpecConformance(loadSpec('sendgrid/tsg_mail_v3.json'), {
  statuses: [...everywhere, { status: 200, operations: ['POST /v3/mail/send'], reason: 'providers.md §1: 200, no body, when mail_settings.sandbox_mode.enable is true (docs errors page)' }],
  patches: [helpAsLive()]
})
const statsSpec = new SpecConformance(loadSpec('sendgrid/tsg_stats_v3.json'), {
  statuses: [...everywhere, { status: 400, operations: ['GET /v3/stats'], schema: ERRORS, reason: 'providers.md §1: a missing start_date is a 400 with the error envelope' }]
})
const hooksSpec = new SpecConformance(loadSpec('sendgrid/tsg_webhooks_v3.json'), {
  statuses: [
    ...everywhere,
    // The document lists only 204 for a test post, yet requires its url; the emulator refuses a
    // request without one (or with a bad one) as the create and update operations do, and an
    // unknown webhook id as the by-id operations do. (unverified: SendGrid's own answers)
    { status: 400, operations: ['POST /v3/user/webhooks/event/test'], schema: ERRORS, reason: 'EventWebhookTestRequest requires url; refused as the other operations refuse a bad url' },
    { status: 404, operations: ['POST /v3/user/webhooks/event/test'], schema: ERRORS, reason: 'an unknown id, answered as the by-id operations answer it' }
  ],
  patches: [helpAsLive()]
})

const EM = '/sendgrid'
// One app for the whole file (each test leaves state the others do not read).
const { call, url } = await startEmailApp(t)

/** Asserts the reply has the status the test expects and conforms to the spec for `operation`. */
function conforms (t: Test, spec: SpecConformance, operation: string, reply: SpecReply, status: number): void {
  t.equal(reply.status, status, `${operation}: ${status}`)
  t.same(spec.response(operation, reply), [], `${operation} ${reply.status} conforms to the spec`)
}

/** An HTTP/1.1 answer read off the wire (rawExchange), shaped as a reply. */
function parseRaw (raw: string): SpecReply {
  const [head = '', ...rest] = raw.split('\r\n\r\n')
  const [statusLine = '', ...lines] = head.split('\r\n')
  const headers = Object.fromEntries(lines.map(l => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]))
  const text = rest.join('\r\n\r\n')
  return { status: Number(statusLine.split(' ')[1]), headers, body: text ? JSON.parse(text) : undefined, text }
}

t.test('mail/send: 202, sandbox 200, and its documented errors (400, 401, 403, 405, 413, 429, 503) as tsg_mail_v3 describes them', async t => {
  const op = 'POST /v3/mail/send'
  const body = mail('deliver@example.com', { categories: ['spec'], custom_args: { order: '42' } })
  // The request the test sends is itself one the spec accepts (custom_args aside: see below).
  t.same(mailSpec.request(op, { ...body, custom_args: undefined }), [], 'the test\'s request is valid per the spec')

  const accepted = await call('POST', `${EM}/v3/mail/send`, body, auth)
  conforms(t, mailSpec, op, accepted, 202)
  t.match(accepted.headers['x-message-id'], /^[\w-]{22}$/)
  conforms(t, mailSpec, op, await call('POST', `${EM}/v3/mail/send`, mail('a@example.com', { mail_settings: { sandbox_mode: { enable: true } } }), auth), 200)

  const invalid = await call('POST', `${EM}/v3/mail/send`, mail('not-an-address'), auth)
  conforms(t, mailSpec, op, invalid, 400)
  t.equal(invalid.body.errors[0].field, 'personalizations.0.to.0.email')
  conforms(t, mailSpec, op, await call('POST', `${EM}/v3/mail/send`, { from: { email: 'a@example.com' } }, auth), 400)
  conforms(t, mailSpec, op, await call('POST', `${EM}/v3/mail/send`, '{"personalizations": [', auth), 400)
  conforms(t, mailSpec, op, await call('POST', `${EM}/v3/mail/send`, mail('a@example.com')), 401)
  conforms(t, mailSpec, op, await call('POST', `${EM}/v3/mail/send`, mail('a@example.com'), { authorization: 'Bearer not-a-key' }), 401)
  conforms(t, mailSpec, op, await call('POST', `${EM}/v3/mail/send`, mail('a@example.com', { from: { email: 'unverified@example.com' } }), auth), 403)
  conforms(t, mailSpec, op, await call('GET', `${EM}/v3/mail/send`, undefined, auth), 405)
  // Over the limit by its Content-Length alone: refused before the body is read.
  const tooLarge = parseRaw(await rawExchange(url, `POST ${EM}/v3/mail/send HTTP/1.1\r\nhost: x\r\nauthorization: ${auth.authorization}\r\n` +
    `content-type: application/json\r\ncontent-length: ${64 * 1024 * 1024}\r\nconnection: close\r\n\r\n{}`))
  conforms(t, mailSpec, op, tooLarge, 413)
  conforms(t, mailSpec, op, await call('POST', `${EM}/v3/mail/send`, mail('a@example.com'), { ...auth, 'x-switchboard-outcome': 'rate_limited' }), 429)
  conforms(t, mailSpec, op, await call('POST', `${EM}/v3/mail/send`, mail('a@example.com'), { ...auth, 'x-switchboard-outcome': 'outage' }), 503)
})

t.test('custom_args: the spec types it a string, SendGrid (and the emulator) take the object the reference documents', async t => {
  // providers.md §5, gap 5: "spec types top-level custom_args as string but it is an object in practice".
  t.not(mailSpec.request('POST /v3/mail/send', mail('a@example.com', { custom_args: { order: '42' } })).length, 0, 'the spec refuses the object')
  t.equal((await call('POST', `${EM}/v3/mail/send`, mail('a@example.com', { custom_args: { order: '42' } }), auth)).status, 202, 'the emulator takes it, as SendGrid does')
})

t.test('mail/batch: create 201, read 200, an unknown id 400, other methods 405 (tsg_mail_v3)', async t => {
  const created = await call('POST', `${EM}/v3/mail/batch`, undefined, auth)
  conforms(t, mailSpec, 'POST /v3/mail/batch', created, 201)
  conforms(t, mailSpec, 'POST /v3/mail/batch', await call('POST', `${EM}/v3/mail/batch`), 401)
  conforms(t, mailSpec, 'POST /v3/mail/batch', await call('GET', `${EM}/v3/mail/batch`, undefined, auth), 405)
  const op = 'GET /v3/mail/batch/{batch_id}'
  const read = await call('GET', `${EM}/v3/mail/batch/${created.body.batch_id}`, undefined, auth)
  conforms(t, mailSpec, op, read, 200)
  t.equal(read.body.batch_id, created.body.batch_id)
  conforms(t, mailSpec, op, await call('GET', `${EM}/v3/mail/batch/NotABatchWeCreated`, undefined, auth), 400)
  conforms(t, mailSpec, op, await call('GET', `${EM}/v3/mail/batch/${created.body.batch_id}`), 401)
  conforms(t, mailSpec, op, await call('DELETE', `${EM}/v3/mail/batch/${created.body.batch_id}`, undefined, auth), 405)
})

t.test('stats: 200 by day, week and month with every metric an integer; 400 without start_date (tsg_stats_v3)', async t => {
  const today = new Date().toISOString().slice(0, 10)
  const requests = async () => (await call('GET', `${EM}/v3/stats?start_date=${today}`, undefined, auth)).body[0].stats[0].metrics.requests as number
  const before = await requests()
  await call('POST', `${EM}/v3/mail/send`, mail(['deliver@example.com', 'open@example.com']), auth)
  const op = 'GET /v3/stats'
  for (const by of ['', '&aggregated_by=day', '&aggregated_by=week', '&aggregated_by=month', '&limit=1&offset=0']) {
    const res = await call('GET', `${EM}/v3/stats?start_date=${today}${by}`, undefined, auth)
    conforms(t, statsSpec, op, res, 200)
    t.ok(res.body.length >= 1, `a row for today (${by || 'no aggregation'})`)
  }
  t.equal((await call('GET', `${EM}/v3/stats?start_date=${today}`, undefined, auth)).body[0].date, today)
  t.equal(await requests(), before + 2, 'the send counted, once per recipient')
  conforms(t, statsSpec, op, await call('GET', `${EM}/v3/stats`, undefined, auth), 400)
  conforms(t, statsSpec, op, await call('GET', `${EM}/v3/stats?start_date=${today}`), 401)
})

t.test('event webhook settings: create, list, read, update, sign, test and delete as tsg_webhooks_v3 describes them', async t => {
  const receiver = await startRecorder(t)
  const base = `${EM}/v3/user/webhooks/event/settings`
  const create = 'POST /v3/user/webhooks/event/settings'
  const request = { url: `${receiver.origin}/hook`, enabled: true, delivered: true, friendly_name: 'Spec', oauth_client_id: 'client', oauth_client_secret: 'secret', oauth_token_url: 'https://oauth.example.com/token' }
  t.same(hooksSpec.request(create, request), [], 'the test\'s request is valid per the spec')
  const created = await call('POST', base, request, auth)
  conforms(t, hooksSpec, create, created, 201)
  const id = created.body.id as string
  conforms(t, hooksSpec, create, await call('POST', base, { url: 'not a url' }, auth), 400)
  conforms(t, hooksSpec, create, await call('POST', base, { url: request.url }, auth), 400)
  conforms(t, hooksSpec, create, await call('POST', base, { enabled: true }, auth), 400)
  conforms(t, hooksSpec, create, await call('POST', base, request), 401)

  for (const q of ['', '?include=account_status_change']) {
    const all = await call('GET', `${base}/all${q}`, undefined, auth)
    conforms(t, hooksSpec, 'GET /v3/user/webhooks/event/settings/all', all, 200)
    t.equal(all.body.webhooks.length, 2, 'the legacy webhook and the new one')
  }

  const get = 'GET /v3/user/webhooks/event/settings/{id}'
  conforms(t, hooksSpec, get, await call('GET', `${base}/${id}`, undefined, auth), 200)
  conforms(t, hooksSpec, get, await call('GET', `${base}/${id}?include=account_status_change`, undefined, auth), 200)
  conforms(t, hooksSpec, get, await call('GET', `${base}/no-such-webhook`, undefined, auth), 404)

  const patch = 'PATCH /v3/user/webhooks/event/settings/{id}'
  conforms(t, hooksSpec, patch, await call('PATCH', `${base}/${id}`, { open: true, friendly_name: null }, auth), 200)
  conforms(t, hooksSpec, patch, await call('PATCH', `${base}/${id}`, { url: 'not a url' }, auth), 400)
  conforms(t, hooksSpec, patch, await call('PATCH', `${base}/no-such-webhook`, { open: true }, auth), 404)

  const getSigned = 'GET /v3/user/webhooks/event/settings/signed/{id}'
  const patchSigned = 'PATCH /v3/user/webhooks/event/settings/signed/{id}'
  const signed = await call('PATCH', `${base}/signed/${id}`, { enabled: true }, auth)
  conforms(t, hooksSpec, patchSigned, signed, 200)
  t.match(signed.body.public_key, /^MFkw/)
  conforms(t, hooksSpec, getSigned, await call('GET', `${base}/signed/${id}`, undefined, auth), 200)
  conforms(t, hooksSpec, getSigned, await call('GET', `${base}/signed/no-such-webhook`, undefined, auth), 404)
  conforms(t, hooksSpec, patchSigned, await call('PATCH', `${base}/signed/no-such-webhook`, { enabled: true }, auth), 404)
  conforms(t, hooksSpec, 'GET /v3/user/webhooks/event/settings/all', await call('GET', `${base}/all`, undefined, auth), 200)

  const test = 'POST /v3/user/webhooks/event/test'
  const testRequest = { id, url: `${receiver.origin}/test` }
  t.same(hooksSpec.request(test, testRequest), [], 'the test\'s request is valid per the spec')
  conforms(t, hooksSpec, test, await call('POST', `${EM}/v3/user/webhooks/event/test`, testRequest, auth), 204)
  await eventually(async () => receiver.received.some(r => r.url === '/test'))
  conforms(t, hooksSpec, test, await call('POST', `${EM}/v3/user/webhooks/event/test`, { id }, auth), 400)
  conforms(t, hooksSpec, test, await call('POST', `${EM}/v3/user/webhooks/event/test`, { url: 'not a url' }, auth), 400)
  conforms(t, hooksSpec, test, await call('POST', `${EM}/v3/user/webhooks/event/test`, { id: 'no-such-webhook', url: testRequest.url }, auth), 404)

  const del = 'DELETE /v3/user/webhooks/event/settings/{id}'
  conforms(t, hooksSpec, del, await call('DELETE', `${base}/${id}`, undefined, auth), 204)
  conforms(t, hooksSpec, del, await call('DELETE', `${base}/${id}`, undefined, auth), 404)
})

t.test('every operation of the three documents the emulator serves was checked, success and error', async t => {
  // Run after the tests above (tap runs a file's tests in order).
  const seen = new Set([...mailSpec.checked(), ...statsSpec.checked(), ...hooksSpec.checked()])
  const expected = [
    'POST /v3/mail/send 202', 'POST /v3/mail/send 400', 'POST /v3/mail/send 401', 'POST /v3/mail/send 403', 'POST /v3/mail/send 405', 'POST /v3/mail/send 413',
    'POST /v3/mail/batch 201', 'POST /v3/mail/batch 405', 'GET /v3/mail/batch/{batch_id} 200', 'GET /v3/mail/batch/{batch_id} 400',
    'GET /v3/stats 200', 'GET /v3/stats 400',
    'POST /v3/user/webhooks/event/settings 201', 'POST /v3/user/webhooks/event/settings 400', 'GET /v3/user/webhooks/event/settings/all 200',
    'GET /v3/user/webhooks/event/settings/{id} 200', 'GET /v3/user/webhooks/event/settings/{id} 404',
    'PATCH /v3/user/webhooks/event/settings/{id} 200', 'PATCH /v3/user/webhooks/event/settings/{id} 400', 'PATCH /v3/user/webhooks/event/settings/{id} 404',
    'DELETE /v3/user/webhooks/event/settings/{id} 204', 'DELETE /v3/user/webhooks/event/settings/{id} 404',
    'GET /v3/user/webhooks/event/settings/signed/{id} 200', 'GET /v3/user/webhooks/event/settings/signed/{id} 404',
    'PATCH /v3/user/webhooks/event/settings/signed/{id} 200', 'PATCH /v3/user/webhooks/event/settings/signed/{id} 404',
    'POST /v3/user/webhooks/event/test 204', 'POST /v3/user/webhooks/event/test 400'
  ]
  t.same(expected.filter(e => !seen.has(e)), [], 'nothing left unchecked')
})
