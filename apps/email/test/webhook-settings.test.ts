import t, { type Test } from 'tap'
import { EventWebhook } from '@sendgrid/eventwebhook'
import { Client } from '@sendgrid/client'
import { startRecorder, type Recorded } from '@switchboard/service-kit/testing'
import { auth, eventually, mail, startEmailApp } from './helper.ts'

const base = '/sendgrid/v3/user/webhooks/event/settings'

async function setUp (t: Test) {
  const app = await startEmailApp(t)
  const client = new Client()
  client.setApiKey('SG.official-sdk.test-key-123')
  client.setDefaultRequest('baseUrl', `${app.url}/sendgrid`)
  return { ...app, client }
}

const eventsOf = (posts: Recorded[]) => posts.flatMap(p => JSON.parse(p.body) as Array<{ email: string, event: string }>)

t.test('events go to every enabled webhook, each signed with its own key or unsigned, filtered by its selection', async t => {
  const { client, call } = await setUp(t)
  const signedReceiver = await startRecorder(t)
  const plainReceiver = await startRecorder(t)
  const disabledReceiver = await startRecorder(t)

  const [created, signedHook] = await client.request({ method: 'POST', url: '/v3/user/webhooks/event/settings', body: { url: `${signedReceiver.origin}/a`, friendly_name: 'Signed', enabled: true, processed: true, delivered: true } })
  t.equal(created.statusCode, 201)
  const signedId = (signedHook as { id: string }).id
  t.match(signedHook, { url: `${signedReceiver.origin}/a`, friendly_name: 'Signed', enabled: true, delivered: true, id: /^[0-9a-f-]{36}$/, created_date: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, updated_date: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/ }, 'dates in whole seconds, as the docs\' examples')
  t.notOk('public_key' in (signedHook as object), 'a new webhook starts unsigned')
  const [, signed] = await client.request({ method: 'PATCH', url: `/v3/user/webhooks/event/settings/signed/${signedId}`, body: { enabled: true } })
  const publicKey = (signed as { public_key: string }).public_key
  t.match(signed, { id: signedId, public_key: /^MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE/ })
  const legacyKey = (await call('GET', `${base}/signed`, undefined, auth)).body.public_key
  t.not(publicKey, legacyKey, 'its own key, not the legacy webhook\'s')

  const plain = await call('POST', base, { url: `${plainReceiver.origin}/b`, processed: true, delivered: false }, auth)
  t.equal(plain.status, 201)
  const off = await call('POST', base, { url: `${disabledReceiver.origin}/c`, enabled: false, processed: true, delivered: true }, auth)
  t.equal(off.body.enabled, false)

  await call('POST', '/sendgrid/v3/mail/send', mail('deliver@example.com'), auth)
  await eventually(async () => eventsOf(signedReceiver.received).length >= 2 && eventsOf(plainReceiver.received).length >= 1)
  t.same(eventsOf(signedReceiver.received).map(e => e.event), ['processed', 'delivered'])
  const ew = new EventWebhook()
  for (const post of signedReceiver.received) {
    const signature = String(post.headers['x-twilio-email-event-webhook-signature'])
    const timestamp = String(post.headers['x-twilio-email-event-webhook-timestamp'])
    t.ok(ew.verifySignature(ew.convertPublicKeyToECDSA(publicKey), post.body, signature, timestamp), 'verifies with the webhook\'s own public key (official SDK)')
    t.notOk(ew.verifySignature(ew.convertPublicKeyToECDSA(legacyKey), post.body, signature, timestamp), 'and not with the legacy key')
  }
  // The delivered event of the unsigned webhook would have been posted with the signed one's.
  t.same(eventsOf(plainReceiver.received).map(e => e.event), ['processed'], 'delivered is deselected on this one')
  t.notOk(plainReceiver.received[0]!.headers['x-twilio-email-event-webhook-signature'], 'unsigned')
  t.equal(disabledReceiver.received.length, 0, 'a disabled webhook gets nothing')
})

t.test('a retry is signed at its own time with its webhook\'s key: a receiver checking the timestamp\'s age takes it', async t => {
  const { client, call } = await setUp(t)
  let refused = 0
  const receiver = await startRecorder(t, (_request, res) => { res.statusCode = refused++ === 0 ? 500 : 200; res.end() })
  const [, hook] = await client.request({ method: 'POST', url: '/v3/user/webhooks/event/settings', body: { url: `${receiver.origin}/retry`, processed: true, delivered: false } })
  const id = (hook as { id: string }).id
  const [, signed] = await client.request({ method: 'PATCH', url: `/v3/user/webhooks/event/settings/signed/${id}`, body: { enabled: true } })
  const publicKey = (signed as { public_key: string }).public_key

  await call('POST', '/sendgrid/v3/mail/send', mail('deliver@example.com'), auth)
  const [first, retry] = await eventually(async () => receiver.received.length >= 2 && receiver.received, 10_000)
  t.equal(retry!.body, first!.body, 'the same events')
  const stamp = (p: Recorded) => String(p.headers['x-twilio-email-event-webhook-timestamp'])
  // The retry comes a second after the refused post (the outbox's first backoff).
  t.ok(Number(stamp(retry!)) > Number(stamp(first!)), `the retry carries its own, later timestamp (${stamp(first!)} → ${stamp(retry!)})`)
  const ew = new EventWebhook()
  t.ok(ew.verifySignature(ew.convertPublicKeyToECDSA(publicKey), retry!.body, String(retry!.headers['x-twilio-email-event-webhook-signature']), stamp(retry!)), 'and verifies with the webhook\'s key (official SDK)')
})

t.test('the settings routes answer as tsg_webhooks_v3 says: list, get, patch, delete, 400s and 404s', async t => {
  const { call } = await setUp(t)
  const all = await call('GET', `${base}/all?include=account_status_change`, undefined, auth)
  t.equal(all.body.max_allowed, 5)
  t.equal(all.body.webhooks.length, 1, 'the legacy webhook')
  const legacy = all.body.webhooks[0]
  t.match(legacy, { created_date: null, enabled: true, account_status_change: false, public_key: /^MFkw/ })
  t.match(legacy.url, /\/webhooks\/sendgrid$/, 'posting to the service\'s own receiver by default')

  const a = await call('POST', base, { url: 'https://a.example.com/hook', open: true, click: true }, auth)
  const dup = await call('POST', base, { url: 'https://a.example.com/hook' }, auth)
  t.equal(dup.status, 400)
  t.same(dup.body, { errors: [{ id: a.body.id, message: 'Webhook at \'https://a.example.com/hook\' already exists. Please provide a unique URL.', url: 'https://a.example.com/hook' }] })
  t.same((await call('POST', base, { url: 'not a url' }, auth)).body, { errors: [{ message: '\'not a url\' is not a valid url' }] })
  const noUrl = await call('POST', base, { enabled: true }, auth)
  t.equal(noUrl.status, 400)
  t.match(noUrl.body, { errors: [{ field: 'url' }] })
  const badFlag = await call('PATCH', `${base}/${a.body.id}`, { open: 'yes' }, auth)
  t.equal(badFlag.status, 400)
  t.match(badFlag.body, { errors: [{ field: 'open' }] })

  const byId = await call('GET', `${base}/${a.body.id}`, undefined, auth)
  t.match(byId.body, { id: a.body.id, url: 'https://a.example.com/hook' })
  t.notOk('created_date' in byId.body, 'GET by id has no dates (EventWebhookNoDatesResponse)')
  const patched = await call('PATCH', `${base}/${a.body.id}`, { click: false, friendly_name: 'Engagement', oauth_client_secret: 'hush' }, auth)
  t.match(patched.body, { click: false, open: true, friendly_name: 'Engagement' }, 'a PATCH changes only the flags it names')
  t.notOk(JSON.stringify(patched.body).includes('hush'), 'the OAuth secret is never returned')

  for (let i = 0; i < 3; i++) t.equal((await call('POST', base, { url: `https://more.example.com/${i}` }, auth)).status, 201)
  t.same((await call('POST', base, { url: 'https://sixth.example.com' }, auth)).body, { errors: [{ message: 'You have reached the maximum number of webhooks per your current billing plan.' }] })

  t.equal((await call('DELETE', `${base}/${a.body.id}`, undefined, auth)).status, 204)
  for (const [method, path] of [['GET', `${base}/${a.body.id}`], ['PATCH', `${base}/${a.body.id}`], ['DELETE', `${base}/${a.body.id}`], ['GET', `${base}/signed/${a.body.id}`]] as const) {
    const res = await call(method, path, method === 'PATCH' ? { enabled: false } : undefined, auth)
    t.equal(res.status, 404, `${method} ${path}`)
    t.same(res.body, { errors: [{ message: 'Invalid id provided.' }] })
  }
})

t.test('a new webhook receives only the events its create body selects (opt-in, as tsg_webhooks_v3 words them)', async t => {
  const everything = await startRecorder(t)
  const receiver = await startRecorder(t)
  // The legacy webhook posts every event to `everything`: it tells when the message's last event has gone out.
  const { call } = await startEmailApp(t, { env: { SENDGRID_EVENT_WEBHOOK_URL: `${everything.origin}/all` } })
  const created = await call('POST', base, { url: `${receiver.origin}/only-delivered`, delivered: true }, auth)
  t.equal(created.status, 201)
  t.match(created.body, { enabled: true, delivered: true })
  const others = Object.entries(created.body as Record<string, unknown>).filter(([k, v]) => typeof v === 'boolean' && k !== 'enabled' && k !== 'delivered')
  t.equal(others.length, 10, 'the ten other event flags are answered')
  t.ok(others.every(([, v]) => v === false), 'every flag left out is off')
  t.match((await call('GET', `${base}/${created.body.id}`, undefined, auth)).body, { delivered: true, processed: false, open: false, bounce: false })

  // open@ plays processed, delivered, open and click; only the delivered event comes here.
  await call('POST', '/sendgrid/v3/mail/send', mail('open@example.com'), auth)
  await eventually(async () => eventsOf(everything.received).some(e => e.event === 'click') && eventsOf(receiver.received).length >= 1)
  t.same(eventsOf(everything.received).map(e => e.event), ['processed', 'delivered', 'open', 'click'], 'the legacy webhook still selects every event')
  t.same(eventsOf(receiver.received).map(e => e.event), ['delivered'])
})

t.test('the legacy single-webhook routes act on the oldest webhook', async t => {
  const { call } = await setUp(t)
  const receiver = await startRecorder(t)
  t.match((await call('PATCH', base, { url: `${receiver.origin}/legacy` }, auth)).body, { enabled: true, url: `${receiver.origin}/legacy` })
  const all = (await call('GET', `${base}/all`, undefined, auth)).body
  t.equal(all.webhooks[0].url, `${receiver.origin}/legacy`)
  t.same((await call('PATCH', `${base}/signed`, { enabled: false }, auth)).body, { id: '', public_key: '' })
  t.same((await call('GET', `${base}/signed/${all.webhooks[0].id}`, undefined, auth)).body, { id: all.webhooks[0].id, public_key: '' })
  const tested = await call('POST', '/sendgrid/v3/user/webhooks/event/test', { url: `${receiver.origin}/legacy` }, auth)
  t.equal(tested.status, 204)
  await eventually(async () => receiver.received.length >= 1)
  t.match(eventsOf(receiver.received)[0], { email: 'example@test.com', event: 'processed' })
  // tsg_webhooks_v3's EventWebhookTestRequest requires the url: an id alone is refused, as is no body.
  const noUrl = await call('POST', '/sendgrid/v3/user/webhooks/event/test', { id: all.webhooks[0].id }, auth)
  t.same([noUrl.status, noUrl.body.errors[0].field], [400, 'url'])
  t.equal((await call('POST', '/sendgrid/v3/user/webhooks/event/test', undefined, auth)).status, 400)
  t.equal(receiver.received.length, 1, 'nothing more was posted')
})
