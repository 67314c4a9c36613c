import t from 'tap'
import { createPublicKey, verify } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import { request } from 'undici'
import { EventWebhook } from '@sendgrid/eventwebhook'
import { startRecorder } from '@switchboard/service-kit/testing'
import { auth, eventually, mail, startEmailApp } from './helper.ts'
import { magicFate } from '../src/emulator/magic.ts'
import { MailStats } from '../src/emulator/stats.ts'

t.test('authorization is checked for shape, with SendGrid\'s bodies', async t => {
  const { call } = await startEmailApp(t)
  const none = await call('POST', '/sendgrid/v3/mail/send', mail('a@example.com'))
  t.equal(none.status, 401)
  t.same(none.body, { errors: [{ field: null, message: 'authorization required', help: null }] })
  const bad = await call('POST', '/sendgrid/v3/mail/send', mail('a@example.com'), { authorization: 'Bearer not-a-sendgrid-key' })
  t.equal(bad.status, 401)
  // The reference records this exact body, 116 bytes long.
  t.equal(bad.text, '{"errors":[{"message":"The provided authorization grant is invalid, expired, or revoked","field":null,"help":null}]}')
  t.equal(bad.text.length, 116)
})

t.test('a valid send is 202 with a 22-character X-Message-Id and rate-limit headers', async t => {
  const { call } = await startEmailApp(t)
  const res = await call('POST', '/sendgrid/v3/mail/send', mail('a@example.com'), auth)
  t.equal(res.status, 202)
  t.equal(res.text, '')
  t.match(res.headers['x-message-id'], /^[A-Za-z0-9_-]{22}$/)
  for (const h of ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset']) t.ok(res.headers[h], h)
})

t.test('sandbox mode validates and answers 200 without queueing', async t => {
  const { call } = await startEmailApp(t)
  const res = await call('POST', '/sendgrid/v3/mail/send', mail('a@example.com', { mail_settings: { sandbox_mode: { enable: true } } }), auth)
  t.equal(res.status, 200)
  t.notOk(res.headers['x-message-id'])
})

t.test('validation answers the reference\'s error bodies', async t => {
  const { call } = await startEmailApp(t)
  const badAddress = await call('POST', '/sendgrid/v3/mail/send', mail('not-an-address'), auth)
  t.equal(badAddress.status, 400)
  t.same(badAddress.body, { errors: [{ message: 'Does not contain a valid address.', field: 'personalizations.0.to.0.email', help: 'http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message.personalizations.to' }] })

  // A refused address is named where it is, as the validation above names it (personalizations.0.to.0.email
  // is the reference's example for the first to; a cc is .cc.N with the cc anchor).
  const secondTo = await call('POST', '/sendgrid/v3/mail/send', mail('x', { personalizations: [{ to: [{ email: 'deliver@example.com' }] }, { to: [{ email: 'deliver@example.com' }, { email: 'reject@example.com' }] }] }), auth)
  t.same([secondTo.status, secondTo.body], [400, { errors: [{ message: 'Does not contain a valid address.', field: 'personalizations.1.to.1.email', help: 'http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message.personalizations.to' }] }])
  const inCc = await call('POST', '/sendgrid/v3/mail/send', mail('x', { personalizations: [{ to: [{ email: 'deliver@example.com' }], cc: [{ email: 'reject@example.com' }] }] }), auth)
  t.same(inCc.body.errors, [{ message: 'Does not contain a valid address.', field: 'personalizations.0.cc.0.email', help: 'http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message.personalizations.cc' }])

  const noPersonalizations = await call('POST', '/sendgrid/v3/mail/send', mail([], {}), auth)
  t.same(noPersonalizations.body, { errors: [{ message: 'The personalizations field is required and must have at least one personalization.', field: 'personalizations', help: 'http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message.personalizations' }] })

  const emptyContent = await call('POST', '/sendgrid/v3/mail/send', mail('a@example.com', { content: [{ type: 'text/plain', value: '' }] }), auth)
  t.equal(emptyContent.status, 400)
  t.match(emptyContent.body.errors, [{ message: 'The content value must be a string at least one character in length.', field: 'content.0.value' }])

  // SendGrid lists every problem at once.
  const several = await call('POST', '/sendgrid/v3/mail/send', { personalizations: [{ to: [{ email: 'x' }] }], content: [{ type: 'text/plain', value: 'v' }] }, auth)
  t.same(several.body.errors.map((e: { field: string }) => e.field), ['personalizations.0.to.0.email', 'from', 'subject'])

  const tooMany = await call('POST', '/sendgrid/v3/mail/send', mail(Array.from({ length: 1001 }, (_v, i) => `r${i}@example.com`)), auth)
  t.equal(tooMany.status, 400)
  t.match(tooMany.body.errors[0], { field: 'personalizations' })

  const notJson = await call('POST', '/sendgrid/v3/mail/send', '{"personalizations": [', { ...auth, 'content-type': 'application/json' })
  t.equal(notJson.status, 400)
  t.ok(Array.isArray(notJson.body.errors), 'a broken body still gets SendGrid\'s envelope')
})

t.test('an unverified sender gets 403, an oversized message 413', async t => {
  const { call } = await startEmailApp(t)
  const forbidden = await call('POST', '/sendgrid/v3/mail/send', mail('a@example.com', { from: { email: 'unverified@example.com' } }), auth)
  t.equal(forbidden.status, 403)
  t.match(forbidden.body.errors, [{ field: 'from', message: /does not match a verified Sender Identity/ }])
  const big = await call('POST', '/sendgrid/v3/mail/send', mail('a@example.com', { content: [{ type: 'text/plain', value: 'x'.repeat(31 * 1024 * 1024) }] }), auth)
  t.equal(big.status, 413)
  t.same(big.body, { errors: [{ message: 'content too large', field: null, help: null }] })
})

t.test('forced outcomes: 429 with retry-after, 503 on failure and outage', async t => {
  const { call } = await startEmailApp(t)
  const limited = await call('POST', '/sendgrid/v3/mail/send', mail('a@example.com'), { ...auth, 'x-switchboard-outcome': 'rate_limited' })
  t.equal(limited.status, 429)
  t.same(limited.body, { errors: [{ field: null, message: 'too many requests' }] })
  t.equal(limited.headers['retry-after'], '1')
  t.equal(limited.headers['x-ratelimit-remaining'], '0', 'a 429 says nothing is left')
  t.ok(Number(limited.headers['x-ratelimit-reset']) <= Math.ceil(Date.now() / 1000) + 1, 'until a second from now')
  const failed = await call('POST', '/sendgrid/v3/mail/send', mail('a@example.com'), { ...auth, 'x-switchboard-outcome': 'failure' })
  t.equal(failed.status, 503)
  t.equal(failed.headers['x-switchboard-simulated'], 'failure')
})

t.test('fail@ alone fails its request (503); among several recipients it bounces and the others are delivered; a forced failure fails a whole bulk', async t => {
  const receiver = await startRecorder(t)
  const { call } = await startEmailApp(t, { env: { SENDGRID_EVENT_WEBHOOK_URL: `${receiver.origin}/events` } })
  const alone = await call('POST', '/sendgrid/v3/mail/send', mail('fail@example.com'), auth)
  t.equal(alone.status, 503)
  const several = await call('POST', '/sendgrid/v3/mail/send', mail(['deliver+1@example.com', 'fail+2@example.com', 'deliver+3@example.com']), auth)
  t.equal(several.status, 202, 'the request is accepted')
  const events = () => receiver.received.flatMap(p => JSON.parse(p.body) as Array<{ email: string, event: string, type?: string }>)
  await eventually(async () => events().filter(e => e.event !== 'processed').length >= 3)
  const outcome = (email: string) => events().filter(e => e.email === email && e.event !== 'processed').map(e => e.type ?? e.event)
  t.same([outcome('deliver+1@example.com'), outcome('fail+2@example.com'), outcome('deliver+3@example.com')], [['delivered'], ['blocked'], ['delivered']])
  const forced = await call('POST', '/sendgrid/v3/mail/send', mail(['deliver+4@example.com', 'a@example.com']), { ...auth, 'x-switchboard-outcome': 'failure' })
  t.equal(forced.status, 503, 'x-switchboard-outcome: failure fails the request, however many recipients')
})

t.test('the success rate applies: 0 fails single sends, 1 never does', async t => {
  const zero = await startEmailApp(t, { simulation: { successRate: 0 } })
  const res = await zero.call('POST', '/sendgrid/v3/mail/send', mail('a@example.com'), auth)
  t.equal(res.status, 503)
  const deliver = await zero.call('POST', '/sendgrid/v3/mail/send', mail('deliver@example.com'), auth)
  t.equal(deliver.status, 202, 'a magic "deliver" recipient wins over the rate')
})

t.test('a seed makes latencies reproducible', async t => {
  const { Simulator } = await import('@switchboard/service-kit/simulation')
  const settings = { latencyMs: { min: 300, max: 1300 }, successRate: 0.9, seed: 42, scenario: 'none' as const }
  const a = new Simulator(() => settings)
  const b = new Simulator(() => settings)
  const seqA = Array.from({ length: 20 }, () => a.decide())
  const seqB = Array.from({ length: 20 }, () => b.decide())
  t.same(seqA, seqB)
  t.ok(seqA.every(d => d.delayMs >= 300 && d.delayMs <= 1300))
  t.ok(new Set(seqA.map(d => d.delayMs)).size > 10, 'latencies vary within the range')
})

t.test('events are posted as signed SendGrid batches that verify with the official SDK', async t => {
  const receiver = await startRecorder(t)
  const { call } = await startEmailApp(t, { env: { SENDGRID_EVENT_WEBHOOK_URL: `${receiver.origin}/events` } })
  const received = receiver.received

  const res = await call('POST', '/sendgrid/v3/mail/send', mail(['deliver@example.com', 'bounce@example.com'], { personalizations: [{ to: [{ email: 'deliver@example.com' }], custom_args: { row: '1' } }, { to: [{ email: 'bounce@example.com' }], custom_args: { row: '2' } }] }), auth)
  t.equal(res.status, 202)
  const messageId = String(res.headers['x-message-id'])
  // Events go out in batches per tick, so count events, not posts (4: processed + an outcome each).
  const eventCount = () => received.reduce((n, post) => n + (JSON.parse(post.body) as unknown[]).length, 0)
  const until = Date.now() + 5000
  while (eventCount() < 4 && Date.now() < until) await new Promise(resolve => setTimeout(resolve, 20))

  const signedKey = (await call('GET', '/sendgrid/v3/user/webhooks/event/settings/signed', undefined, auth)).body
  t.same(Object.keys(signedKey), ['id', 'public_key'], 'without an id: id "" beside the key, as the docs\' "No ID" example')
  t.equal(signedKey.id, '')
  const publicKey = signedKey.public_key
  t.match(publicKey, /^MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE/)
  const ew = new EventWebhook()
  const events: Array<Record<string, any>> = []
  for (const post of received) {
    t.match(post.body, /^\[\{.*\}\]\r\n$/s, 'SendGrid\'s layout: a JSON array ending in CRLF')
    t.equal(post.body, `[${(JSON.parse(post.body) as unknown[]).map(e => JSON.stringify(e)).join(',\r\n')}]\r\n`, 'each event compact, ",\\r\\n" between them')
    t.equal(post.headers['content-type'], 'application/json')
    const signature = String(post.headers['x-twilio-email-event-webhook-signature'])
    const timestamp = String(post.headers['x-twilio-email-event-webhook-timestamp'])
    t.match(timestamp, /^\d{10}$/, 'unix seconds, as a string')
    t.ok(ew.verifySignature(ew.convertPublicKeyToECDSA(publicKey), post.body, signature, timestamp), 'the official SDK accepts the signature')
    t.notOk(ew.verifySignature(ew.convertPublicKeyToECDSA(publicKey), post.body.replace('example', 'exarnple'), signature, timestamp), 'and refuses a tampered body')
    events.push(...JSON.parse(post.body))
  }
  const byEmail = (email: string) => events.filter(e => e.email === email).map(e => e.event)
  t.same(byEmail('deliver@example.com'), ['processed', 'delivered'])
  t.same(byEmail('bounce@example.com'), ['processed', 'bounce'])
  const bounce = events.find(e => e.event === 'bounce')!
  t.match(bounce, { status: '5.1.1', type: 'bounce', row: '2', 'smtp-id': `<${messageId}@ismtpd0001p1mum1.sendgrid.net>` })
  t.ok(String(bounce.sg_message_id).startsWith(`${messageId}.filter`), 'sg_message_id starts with the X-Message-Id')
  t.type(bounce.timestamp, 'number')
})

t.test('with the Event Webhook disabled nothing is posted and the stats still count; enabled again, events flow', async t => {
  const receiver = await startRecorder(t)
  const { call } = await startEmailApp(t, { env: { SENDGRID_EVENT_WEBHOOK_URL: `${receiver.origin}/events` } })
  const settings = '/sendgrid/v3/user/webhooks/event/settings'
  t.match((await call('PATCH', settings, { enabled: false }, auth)).body, { enabled: false })
  const quiet = await call('POST', '/sendgrid/v3/mail/send', mail(['deliver@example.com', 'open@example.com']), auth)
  t.equal(quiet.status, 202)
  // Its events would all have fallen due within 1.3 s (three steps of at most 400 ms, a 100 ms tick).
  await new Promise(resolve => setTimeout(resolve, 1500))
  t.equal(receiver.received.length, 0, 'no post while disabled')
  const today = new Date().toISOString().slice(0, 10)
  t.match((await call('GET', `/sendgrid/v3/stats?start_date=${today}`, undefined, auth)).body[0], { stats: [{ metrics: { requests: 2, processed: 2, delivered: 2, opens: 1, clicks: 1 } }] })

  t.match((await call('PATCH', settings, { enabled: true }, auth)).body, { enabled: true })
  const heard = await call('POST', '/sendgrid/v3/mail/send', mail('deliver@example.com'), auth)
  const events = () => receiver.received.flatMap(post => JSON.parse(post.body) as Array<{ event: string, sg_message_id: string }>)
  await eventually(async () => events().length >= 2)
  t.same(events().map(e => e.event), ['processed', 'delivered'])
  t.ok(events().every(e => e.sg_message_id.startsWith(`${String(heard.headers['x-message-id'])}.`)), 'all of them the new message\'s')
})

t.test('our verifier agrees with the SDK\'s own test vector', async t => {
  const { verifySendGridSignature } = await import('../src/sendgrid-webhooks.ts')
  // sendgrid-nodejs packages/eventwebhook/src/eventwebhook.spec.js
  const PUBLIC_KEY = 'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA=='
  const SIGNATURE = 'MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0='
  const TIMESTAMP = '1588788367'
  const PAYLOAD = JSON.stringify({ category: 'example_payload', event: 'test_event', message_id: 'message_id' })
  t.ok(verifySendGridSignature(PUBLIC_KEY, SIGNATURE, TIMESTAMP, Buffer.from(PAYLOAD)))
  t.notOk(verifySendGridSignature(PUBLIC_KEY, SIGNATURE, TIMESTAMP, Buffer.from('payload')))
  t.notOk(verifySendGridSignature(PUBLIC_KEY, SIGNATURE.replace('2j/0=', '3j/0='), TIMESTAMP, Buffer.from(PAYLOAD)))
  t.notOk(verifySendGridSignature(PUBLIC_KEY, SIGNATURE, 'timestamp', Buffer.from(PAYLOAD)))
  // And Node's own verify of the same bytes, as the reference describes.
  const key = createPublicKey({ key: Buffer.from(PUBLIC_KEY, 'base64'), format: 'der', type: 'spki' })
  t.ok(verify('sha256', Buffer.from(TIMESTAMP + PAYLOAD), key, Buffer.from(SIGNATURE, 'base64')))

  // The SDK's newer vector (@sendgrid/eventwebhook 8's spec, the one providers.md §1 ran): a real
  // Event Webhook post, an array of one "dropped" event with the trailing \r\n the wire carries.
  const DROPPED_KEY = 'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g=='
  const DROPPED_SIGNATURE = 'MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM='
  const DROPPED_TIMESTAMP = '1600112502'
  const DROPPED = JSON.stringify([{
    email: 'hello@world.com',
    event: 'dropped',
    reason: 'Bounced Address',
    sg_event_id: 'ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA',
    sg_message_id: 'LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0',
    'smtp-id': '<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>',
    timestamp: 1600112492
  }]) + '\r\n'
  t.ok(verifySendGridSignature(DROPPED_KEY, DROPPED_SIGNATURE, DROPPED_TIMESTAMP, Buffer.from(DROPPED)), 'the dropped-event vector, CRLF included')
  t.notOk(verifySendGridSignature(DROPPED_KEY, DROPPED_SIGNATURE, DROPPED_TIMESTAMP, Buffer.from(DROPPED.trimEnd())), 'without its CRLF it is other bytes')
})

t.test('GET /v3/stats counts what the emulator received', async t => {
  const { call } = await startEmailApp(t)
  await call('POST', '/sendgrid/v3/mail/send', mail(['deliver@example.com', 'open@example.com', 'bounce@example.com']), auth)
  const today = new Date().toISOString().slice(0, 10)
  const res = await call('GET', `/sendgrid/v3/stats?start_date=${today}`, undefined, auth)
  t.equal(res.status, 200)
  t.equal(res.body.length, 1)
  t.match(res.body[0], { date: today, stats: [{ metrics: { requests: 3, processed: 3, delivered: 2, bounces: 1, opens: 1, unique_clicks: 1 } }] })
  const missing = await call('GET', '/sendgrid/v3/stats', undefined, auth)
  t.equal(missing.status, 400)
  t.match(missing.body.errors, [{ field: 'start_date' }])
})

t.test('magic recipients: the local part before any +tag picks the fate; inherited names are ordinary', async t => {
  t.equal(magicFate('Bounce+case7@example.com'), 'bounce')
  t.equal(magicFate('open@anywhere.test'), 'open')
  t.equal(magicFate('priya@example.com'), undefined)
  t.equal(magicFate('constructor@example.com'), undefined)
  t.equal(magicFate('__proto__@example.com'), undefined)
})

t.test('mail stats count today from the clock and any other day from the date given', async t => {
  const stats = new MailStats()
  const today = new Date().toISOString().slice(0, 10)
  stats.add('delivered'); stats.add('delivered'); stats.add('opens', 3)
  stats.add('delivered', 5, new Date('2026-01-02T10:00:00Z'))
  const [entry] = stats.query(today, today, 'day')
  t.equal(entry?.stats[0]?.metrics.delivered, 2)
  t.equal(entry?.stats[0]?.metrics.opens, 3)
  t.equal(stats.query('2026-01-02', '2026-01-02', 'day')[0]?.stats[0]?.metrics.delivered, 5)
  stats.reset()
  t.equal(stats.query(today, today, 'day')[0]?.stats[0]?.metrics.delivered, 0, 'reset clears the cached day too')
})

t.test('the reference\'s examples, byte for byte (providers.md §1)', async t => {
  const { call } = await startEmailApp(t)
  const send = (body: unknown, headers: Record<string, string> = auth) => call('POST', '/sendgrid/v3/mail/send', body, headers)

  // 400s: the bodies the reference quotes, their keys in its order (message, field, help).
  t.equal((await send(mail('not-an-address'))).text,
    '{"errors":[{"message":"Does not contain a valid address.","field":"personalizations.0.to.0.email","help":"http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message.personalizations.to"}]}')
  t.equal((await send(mail([]))).text,
    '{"errors":[{"message":"The personalizations field is required and must have at least one personalization.","field":"personalizations","help":"http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message.personalizations"}]}')
  // The reference gives this one's message and field only (a support article); its help is a link
  // like the others' (unverified).
  const content = await send(mail('a@example.com', { content: [{ type: 'text/plain', value: '' }] }))
  t.same(content.body.errors.map((e: Record<string, unknown>) => Object.keys(e)), [['message', 'field', 'help']])
  t.same([content.body.errors[0].message, content.body.errors[0].field], ['The content value must be a string at least one character in length.', 'content.0.value'])

  // 401 (its 116 bytes are checked above), 403 and 429 exactly as quoted.
  const forbidden = await send(mail('a@example.com', { from: { email: 'unverified@example.com' } }))
  t.equal(forbidden.status, 403)
  t.equal(forbidden.text, '{"errors":[{"message":"The from address does not match a verified Sender Identity. Mail cannot be sent until this error is resolved. Visit https://sendgrid.com/docs/for-developers/sending-email/sender-identity/ to see the Sender Identity requirements","field":"from","help":null}]}')
  const limited = await send(mail('a@example.com'), { ...auth, 'x-switchboard-outcome': 'rate_limited' })
  t.equal(limited.status, 429)
  t.equal(limited.text, '{"errors":[{"field":null,"message":"too many requests"}]}', 'field before message, no help: the docs\' order')

  // tsg_mail_v3's examples, "field": "null" read as the JSON null live answers carry (providers.md, gap 5).
  t.equal((await call('GET', '/sendgrid/v3/mail/send', undefined, auth)).text, '{"errors":[{"message":"method not allowed","field":null,"help":null}]}')
  t.equal((await call('GET', '/sendgrid/v3/no/such/path', undefined, auth)).text, '{"errors":[{"message":"not found","field":null,"help":null}]}')
  const batch = await call('POST', '/sendgrid/v3/mail/batch', undefined, auth)
  t.equal(batch.status, 201)
  t.equal(batch.text, `{"batch_id":"${batch.body.batch_id}"}`)
  t.equal((await call('GET', '/sendgrid/v3/mail/batch/HkJ5yLYULb7Rj8GKSx7u025ouWVlMgAi', undefined, auth)).text, '{"errors":[{"message":"invalid batch id","field":null}]}')
  t.equal((await call('GET', '/sendgrid/v3/user/webhooks/event/settings/77d4a5da-7015-11ed-a1eb-0242ac120002', undefined, auth)).text, '{"errors":[{"message":"Invalid id provided."}]}')

  // 202: empty body, X-Message-Id, and the rate-limit headers as integers (Reset in unix seconds).
  const ok = await send(mail('a@example.com'))
  t.same([ok.status, ok.text], [202, ''])
  t.match(ok.headers['x-ratelimit-limit'], /^\d+$/)
  t.match(ok.headers['x-ratelimit-remaining'], /^\d+$/)
  t.match(ok.headers['x-ratelimit-reset'], /^\d{10}$/)
  t.ok(Math.abs(Number(ok.headers['x-ratelimit-reset']) - Date.now() / 1000) < 3600, 'a time near now, in seconds')

  // The signed-webhook public key: base64 DER SPKI, 124 characters, {"id","public_key"} in that order.
  const { public_key: publicKey } = (await call('GET', '/sendgrid/v3/user/webhooks/event/settings/signed', undefined, auth)).body
  t.equal(publicKey.length, 124)
  t.match(publicKey, /^MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE[A-Za-z0-9+/]{86}==$/)
  const [hook] = (await call('GET', '/sendgrid/v3/user/webhooks/event/settings/all', undefined, auth)).body.webhooks
  const signed = await call('GET', `/sendgrid/v3/user/webhooks/event/settings/signed/${hook.id}`, undefined, auth)
  t.equal(signed.text, JSON.stringify({ id: hook.id, public_key: publicKey }))

  // GET /v3/stats: [{date, stats:[{metrics}]}] with the spec's sixteen integer metrics, no others.
  const today = new Date().toISOString().slice(0, 10)
  const [day] = (await call('GET', `/sendgrid/v3/stats?start_date=${today}`, undefined, auth)).body
  t.same(Object.keys(day), ['date', 'stats'])
  t.same(Object.keys(day.stats[0]), ['metrics'])
  t.same(Object.keys(day.stats[0].metrics).sort(), ['blocks', 'bounce_drops', 'bounces', 'clicks', 'deferred', 'delivered', 'invalid_emails', 'opens', 'processed', 'requests', 'spam_report_drops', 'spam_reports', 'unique_clicks', 'unique_opens', 'unsubscribe_drops', 'unsubscribes'])
  t.ok(Object.values(day.stats[0].metrics).every(Number.isInteger))
})

t.test('Content-Encoding: gzip on mail send, as the spec\'s ContentEncoding allows', async t => {
  const { url } = await startEmailApp(t)
  const post = async (body: Buffer, encoding = 'gzip') => {
    const res = await request(`${url}/sendgrid/v3/mail/send`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json', 'content-encoding': encoding }, body })
    return { status: res.statusCode, text: await res.body.text(), id: res.headers['x-message-id'] }
  }
  const ok = await post(gzipSync(JSON.stringify(mail('a@example.com'))))
  t.same([ok.status, ok.text], [202, ''], 'taken as the same mail sent plain')
  t.match(ok.id, /^[A-Za-z0-9_-]{22}$/)
  const invalid = await post(gzipSync(JSON.stringify(mail('not-an-address'))))
  t.equal(invalid.status, 400)
  t.match(invalid.text, /^\{"errors":\[\{"message":"Does not contain a valid address\.","field":"personalizations\.0\.to\.0\.email"/, 'validated after inflating')
  const notGzip = await post(Buffer.from(JSON.stringify(mail('a@example.com'))))
  t.equal(notGzip.status, 400)
  t.match(JSON.parse(notGzip.text), { errors: [{ field: null }] }, 'bytes that are not gzip: a 400 in SendGrid\'s envelope')
  // 40 MB of spaces inflate from a few kilobytes: the inflated size is what is limited.
  const bomb = await post(gzipSync(Buffer.concat([Buffer.from(JSON.stringify(mail('a@example.com')).slice(0, -1)), Buffer.alloc(40 * 1024 * 1024, ' '), Buffer.from('}')])))
  t.equal(bomb.status, 413)
  t.equal(bomb.text, '{"errors":[{"message":"content too large","field":null,"help":null}]}')
})

t.test('the Event Webhook\'s wire layout is the SDK vector\'s: [{…},\\r\\n{…}]\\r\\n', async t => {
  const { serializeEvents } = await import('../src/sendgrid-webhooks.ts')
  // sendgrid-nodejs's signed "dropped" vector (see the verifier test above): one event, then CRLF.
  const dropped = { email: 'hello@world.com', event: 'dropped', reason: 'Bounced Address', sg_event_id: 'ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA', sg_message_id: 'LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0', 'smtp-id': '<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>', timestamp: 1600112492 }
  const one = serializeEvents([dropped])
  t.equal(one, '[{"email":"hello@world.com","event":"dropped","reason":"Bounced Address","sg_event_id":"ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA","sg_message_id":"LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0","smtp-id":"<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>","timestamp":1600112492}]\r\n')
  const { verifySendGridSignature } = await import('../src/sendgrid-webhooks.ts')
  t.ok(verifySendGridSignature('MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g==', 'MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM=', '1600112502', Buffer.from(one)), 'the bytes the emulator would write for that event carry the SDK\'s signature')
  t.equal(serializeEvents([dropped, { ...dropped, event: 'processed' }]), `[${JSON.stringify(dropped)},\r\n${JSON.stringify({ ...dropped, event: 'processed' })}]\r\n`, 'events after the first each follow ",\\r\\n"')
})

t.test('an unexpected error is the spec\'s 500 example: {"errors":[{"message":"internal server error", …}]}', async t => {
  const Fastify = (await import('fastify')).default
  const { Simulator } = await import('@switchboard/service-kit/simulation')
  const { sendgridEmulator } = await import('../src/emulator/index.ts')
  const app = Fastify()
  // The one hook the service's base app gives the emulator (the admin reset), here a no-op.
  app.decorate('onMockReset', () => {})
  t.teardown(() => app.close())
  // The emulator's own scope, with one route that fails as a bug would: its error handler answers.
  await app.register(async scope => {
    await sendgridEmulator(scope, {
      simulator: new Simulator(() => ({ latencyMs: { min: 0, max: 0 }, successRate: 1, seed: null, scenario: 'none' as const })),
      webhookSender: { send () {}, signAttempts () {} } as never,
      defaultEventWebhookUrl: () => undefined
    })
    scope.get('/v3/broken', async () => { throw new Error('a bug') })
  })
  const res = await app.inject({ method: 'GET', url: '/v3/broken', headers: auth })
  t.equal(res.statusCode, 500)
  // tsg_mail_v3's PostMailSend500 example, with the null field and help every live error carries.
  t.equal(res.body, '{"errors":[{"message":"internal server error","field":null,"help":null}]}')
})
