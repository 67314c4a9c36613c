import t from 'tap'
import { startRecorder } from '@switchboard/service-kit/testing'
import { API_KEY, campaignBody, startWhatsAppApp, WEBHOOK_SECRET } from './helper.ts'
import { eventJson, messageTail, POST_HEAD, POST_TAIL, signStatusPost, verifyStatusPost, type StatusPost } from '../src/emulator/status-webhook.ts'

const V2 = '/aisensy/campaign/t1/api/v2'
const V1 = '/aisensy/campaign/t1/api'
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
const TRACE = /^ais_[0-9a-z]{8}_[0-9a-f]{8}$/

t.test('a valid v2 send is 200 {"success":"true","submitted_message_id":<uuid>}', async t => {
  const { call } = await startWhatsAppApp(t)
  const res = await call('POST', V2, campaignBody())
  t.equal(res.status, 200)
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
  t.same(Object.keys(res.body), ['success', 'submitted_message_id'])
  t.equal(res.text, JSON.stringify({ success: 'true', submitted_message_id: res.body.submitted_message_id }))
  t.equal(res.body.success, 'true', 'the string "true", as most observations show')
  t.match(res.body.submitted_message_id, UUID)
  // Numbers are accepted as destination and params, the way loosely typed integrations send them.
  const numeric = await call('POST', V2, campaignBody({ destination: 919876543210, templateParams: [42] }))
  t.equal(numeric.status, 200)
})

t.test('the reference\'s recorded error bodies, byte for byte', async t => {
  const { call } = await startWhatsAppApp(t)
  const params = await call('POST', V2, campaignBody({ templateParams: ['Asha', 'extra'] }))
  t.equal(params.status, 400)
  t.equal(params.text, '{"message":"Template params does not match the campaign"}')
  const none = await call('POST', V2, campaignBody({ templateParams: undefined }))
  t.equal(none.text, '{"message":"Template params does not match the campaign"}', 'absent params count as none')
  const three = await call('POST', V2, campaignBody({ campaignName: 'payment_reminder', templateParams: ['a', 'b'] }))
  t.equal(three.text, '{"message":"Template params does not match the campaign"}')

  const campaign = await call('POST', V2, campaignBody({ campaignName: 'no_such_campaign' }))
  t.equal(campaign.status, 400)
  t.equal(campaign.text, '{"message":"Campaign does not exist."}')
  const noCampaign = await call('POST', V2, campaignBody({ campaignName: undefined }))
  t.equal(noCampaign.text, '{"message":"Campaign does not exist."}')

  for (const destination of ['12345', '+915876543210', 'not a number', undefined, '+919000000001']) {
    const res = await call('POST', V2, campaignBody({ destination }))
    t.equal(res.status, 400, String(destination))
    t.equal(res.text, '{"message":"Invalid Number"}', String(destination))
  }

  const noPlan = await call('POST', V2, campaignBody({ destination: '9000000008' }))
  t.equal(noPlan.status, 400)
  t.same(Object.keys(noPlan.body), ['message', 'name', 'errorCode', 'errorMessage', 'aisTraceId'])
  t.match(noPlan.body, { message: 'No Plan active on assistant!', name: 'ERR400', errorCode: 400, errorMessage: 'No Plan active on assistant!', aisTraceId: TRACE })
  const credits = await call('POST', V2, campaignBody({ destination: '+91 90000 00007' }))
  t.equal(credits.status, 402)
  t.match(credits.body, { message: 'Insufficient WhatsApp Conversation Credits (WCC)!', name: 'ERR402', errorCode: 402, errorMessage: 'Insufficient WhatsApp Conversation Credits (WCC)!', aisTraceId: TRACE })
})

t.test('the apiKey in the body is checked first; a missing or malformed key is a 401', async t => {
  const { call } = await startWhatsAppApp(t)
  for (const apiKey of [undefined, '', 'not-a-jwt', 'eyJub3QganNvbg.eyJ4Ijox.sig', 42]) {
    const res = await call('POST', V2, campaignBody({ apiKey, campaignName: 'no_such_campaign' }))
    t.equal(res.status, 401, String(apiKey))
    t.match(res.body, { message: 'Invalid API Key', name: 'ERR401', errorCode: 401, aisTraceId: TRACE })
  }
  const header = await call('POST', V2, campaignBody({ apiKey: undefined }), { authorization: `Bearer ${API_KEY}` })
  t.equal(header.status, 401, 'no auth header: the key belongs in the body')
})

t.test('campaign rules: Live only, media headers need media, copy-code buttons need their parameter on v2', async t => {
  const { call } = await startWhatsAppApp(t)
  const paused = await call('POST', V2, campaignBody({ campaignName: 'festive_offer_paused' }))
  t.equal(paused.status, 400)
  t.same(paused.body, { message: 'Campaign is Not Live' })

  const appointment = { campaignName: 'appointment_reminder', templateParams: ['Asha', 'Monday 10:00'] }
  const noMedia = await call('POST', V2, campaignBody(appointment))
  t.equal(noMedia.status, 400)
  t.match(noMedia.body, { message: 'Media is required for this campaign', errorCode: 400 })
  const withMedia = await call('POST', V2, campaignBody({ ...appointment, media: { url: 'https://example.com/a.png', filename: 'a.png' } }))
  t.equal(withMedia.status, 200)

  const otp = { campaignName: 'otp_verification', templateParams: ['482913'] }
  const noButton = await call('POST', V2, campaignBody(otp))
  t.equal(noButton.status, 400)
  t.same(noButton.body, { message: 'Button params does not match the campaign' })
  const button = (index: number | string) => [{ type: 'button', sub_type: 'url', index, parameters: [{ type: 'text', text: '482913' }] }]
  t.equal((await call('POST', V2, campaignBody({ ...otp, buttons: button(0) }))).status, 200)
  t.equal((await call('POST', V2, campaignBody({ ...otp, buttons: button('0') }))).status, 200, 'index as a string, as integrators also send it')

  const noName = await call('POST', V2, campaignBody({ userName: '' }))
  t.equal(noName.status, 400)
  t.match(noName.body, { message: 'userName is required', name: 'ERR400' })
})

t.test('v1 takes the same body without the v2 extras, and does not need them', async t => {
  const { call } = await startWhatsAppApp(t)
  const { buttons: _b, carouselCards: _c, location: _l, paramsFallbackValue: _p, ...v1 } = campaignBody()
  const res = await call('POST', V1, v1)
  t.equal(res.status, 200)
  t.equal(res.body.success, 'true')
  const otp = await call('POST', V1, { ...v1, campaignName: 'otp_verification', templateParams: ['482913'] })
  t.equal(otp.status, 200, 'v1 predates buttons: their absence is no error there')
  const v2Fields = await call('POST', V1, campaignBody())
  t.equal(v2Fields.status, 200, 'v2 fields sent to v1 are ignored')
  const params = await call('POST', V1, { ...v1, templateParams: [] })
  t.equal(params.text, '{"message":"Template params does not match the campaign"}', 'the same checks otherwise')
})

t.test('unknown paths and broken bodies get AiSensy\'s answers, not ours', async t => {
  const { call } = await startWhatsAppApp(t)
  const missing = await call('POST', '/aisensy/campaign/t2/api', campaignBody())
  t.equal(missing.status, 404)
  t.match(missing.headers['content-type'], /text\/html/)
  t.match(missing.text, '<pre>Cannot POST /aisensy/campaign/t2/api</pre>')
  const broken = await call('POST', V2, '{"apiKey":', { 'content-type': 'application/json' })
  t.equal(broken.status, 400)
  t.match(broken.body, { message: 'Invalid request body', name: 'ERR400', errorCode: 400 })
  const array = await call('POST', V2, [campaignBody()])
  t.equal(array.status, 400)
  t.equal(array.body.message, 'Invalid request body')
})

t.test('forced outcomes and the success rate, in AiSensy\'s envelopes', async t => {
  const { call } = await startWhatsAppApp(t)
  const limited = await call('POST', V2, campaignBody(), { 'x-switchboard-outcome': 'rate_limited' })
  t.equal(limited.status, 429)
  t.equal(limited.headers['retry-after'], '1')
  t.match(limited.body, { name: 'ERR429', errorCode: 429, aisTraceId: TRACE })
  const failed = await call('POST', V2, campaignBody(), { 'x-switchboard-outcome': 'failure' })
  t.equal(failed.status, 500)
  t.match(failed.body, { message: 'Internal Server Error', name: 'ERR500' })
  t.equal(failed.headers['x-switchboard-simulated'], 'failure')
  const outage = await call('POST', V2, campaignBody(), { 'x-switchboard-outcome': 'outage' })
  t.equal(outage.status, 503)
  t.equal(outage.text, '{}', 'observed: 503 with an empty JSON body')
  const magicError = await call('POST', V2, campaignBody({ destination: '9000000006' }))
  t.equal(magicError.status, 500)

  const zero = await startWhatsAppApp(t, { simulation: { successRate: 0 } })
  t.equal((await zero.call('POST', V2, campaignBody())).status, 500, 'a 0 success rate fails every ordinary send')
  t.equal((await zero.call('POST', V2, campaignBody({ destination: '+919000000004' }))).status, 200, 'a magic number wins over the rate')
  const slow = await call('POST', V2, campaignBody(), { 'x-switchboard-latency-ms': '300' })
  t.equal(slow.status, 200)
})

t.test('each status change is posted, signed, in order: magic numbers decide the path', async t => {
  const { origin, received: posts } = await startRecorder(t)
  const { call } = await startWhatsAppApp(t, { env: { AISENSY_WEBHOOK_URL: `${origin}/hook` } })

  const numbers = { read: '+919000000004', staysSent: '+919000000002', failsAfterSend: '+919000000003', unread: '+919000000005' }
  const ids: Record<string, string> = {}
  for (const [k, destination] of Object.entries(numbers)) {
    const res = await call('POST', V2, campaignBody({ destination }))
    t.equal(res.status, 200)
    ids[k] = res.body.submitted_message_id
  }
  const events = () => posts.flatMap(p => JSON.parse(p.body).events as Array<Record<string, any>>)
  const statuses = (id: string) => events().filter(e => e.message.id === id).map(e => e.message.status)
  const until = Date.now() + 8000
  while (Date.now() < until && !(statuses(ids.read!).length === 3 && statuses(ids.failsAfterSend!).length === 2 && statuses(ids.unread!).length === 2)) {
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  // Give a would-be extra event (a wrong 'delivered' for the stays-sent number) time to show up.
  await new Promise(resolve => setTimeout(resolve, 700))
  t.same(statuses(ids.read!), ['sent', 'delivered', 'read'])
  t.same(statuses(ids.unread!), ['sent', 'delivered'])
  t.same(statuses(ids.staysSent!), ['sent'])
  t.same(statuses(ids.failsAfterSend!), ['sent', 'failed'])

  const failed = events().find(e => e.message.status === 'failed')!
  t.match(failed, { type: 'message.failed', id: /^evt_[0-9a-f]{24}$/, timestamp: Number, error: { code: 131026, title: 'Message undeliverable' }, message: { destination: '+919000000003', campaignName: 'welcome_message', userName: 'Asha Rao' } })
  for (const p of posts) {
    t.equal(JSON.parse(p.body).object, 'aisensy.message_status')
    t.equal(p.body, JSON.stringify(JSON.parse(p.body)), 'the body is exactly what JSON.stringify writes for it')
    t.same(JSON.parse(p.body).events.map((e: Record<string, unknown>) => Object.keys(e).join()), JSON.parse(p.body).events.map((e: Record<string, unknown>) => e.error ? 'id,type,timestamp,message,error' : 'id,type,timestamp,message'))
    t.match(p.headers['content-type'], /application\/json/)
    const headers = { signature: p.headers['x-switchboard-signature'], timestamp: p.headers['x-switchboard-timestamp'] }
    t.match(headers.signature, /^[0-9a-f]{64}$/)
    t.same(verifyStatusPost(WEBHOOK_SECRET, headers, Buffer.from(p.body), 300), { ok: true }, 'signed with the shared secret')
    t.same(verifyStatusPost(WEBHOOK_SECRET, headers, Buffer.from(p.body.replace('+9190000', '+9190001')), 300), { ok: false, reason: 'mismatch' }, 'a tampered body does not verify')
    t.same(verifyStatusPost('another-secret-entirely', headers, Buffer.from(p.body), 300), { ok: false, reason: 'mismatch' })
  }
})

t.test('the signature scheme against a fixed vector (computed with openssl)', async t => {
  // printf '%s' '1763900000.{"object":"aisensy.message_status","events":[]}' | openssl dgst -sha256 -hmac 'whsec-test-vector-secret'
  const secret = 'whsec-test-vector-secret'
  const body = '{"object":"aisensy.message_status","events":[]}'
  const expected = '00e5c5a97feafe53c1320b39bd72938d082d83332026795eaa9be4f6282a884c'
  t.equal(signStatusPost(secret, '1763900000', body), expected)
  const at = 1763900000 * 1000
  t.same(verifyStatusPost(secret, { signature: expected, timestamp: '1763900000' }, Buffer.from(body), 300, at + 299_000), { ok: true })
  t.same(verifyStatusPost(secret, { signature: expected, timestamp: '1763900000' }, Buffer.from(body), 300, at + 301_000), { ok: false, reason: 'stale' })
  t.same(verifyStatusPost(secret, { signature: expected, timestamp: '1763900001' }, Buffer.from(body), 300, at), { ok: false, reason: 'mismatch' }, 'the timestamp is signed: changing it breaks the signature')
  t.same(verifyStatusPost(secret, { signature: expected.toUpperCase(), timestamp: '1763900000' }, Buffer.from(body), 300, at), { ok: false, reason: 'mismatch' }, 'lowercase hex, exactly')
  t.same(verifyStatusPost(secret, { signature: expected.slice(0, 63), timestamp: '1763900000' }, Buffer.from(body), 300, at), { ok: false, reason: 'mismatch' })
  t.same(verifyStatusPost(secret, { signature: '', timestamp: '1763900000' }, Buffer.from(body), 300, at), { ok: false, reason: 'missing' })
  t.same(verifyStatusPost(secret, { timestamp: '1763900000' }, Buffer.from(body), 300, at), { ok: false, reason: 'missing' })
  t.same(verifyStatusPost(secret, { signature: expected, timestamp: 'yesterday' }, Buffer.from(body), 300, at), { ok: false, reason: 'stale' })
})

t.test('the hand-written post body is JSON.stringify\'s, escapes included', async t => {
  const message = { destination: '+919876543210', campaign: { name: 'welcome_message' }, userName: 'Asha "Rao" \\ \u2028 नमस्ते\n' }
  const at = 1763900000123
  const failed = JSON.parse(`${POST_HEAD}${eventJson({ messageId: 'm-1', status: 'sent', at, message: messageTail(message) })},${eventJson({ messageId: 'm-1', status: 'failed', at, message: messageTail(message) })}${POST_TAIL}`) as StatusPost
  const events = failed.events
  const expected: StatusPost = {
    object: 'aisensy.message_status',
    events: [
      { id: events[0]!.id, type: 'message.sent', timestamp: 1763900000, message: { id: 'm-1', status: 'sent', destination: '+919876543210', campaignName: 'welcome_message', userName: message.userName } },
      { id: events[1]!.id, type: 'message.failed', timestamp: 1763900000, message: { id: 'm-1', status: 'failed', destination: '+919876543210', campaignName: 'welcome_message', userName: message.userName }, error: { code: 131026, title: 'Message undeliverable' } }
    ]
  }
  t.same(failed, expected)
  const body = `${POST_HEAD}${eventJson({ messageId: 'm-1', status: 'sent', at, message: messageTail(message) })}${POST_TAIL}`
  t.equal(body, JSON.stringify({ object: 'aisensy.message_status', events: [{ ...expected.events[0]!, id: JSON.parse(body).events[0].id }] }))
  t.match(events[0]!.id, /^evt_[0-9a-f]{24}$/)
  t.not(events[0]!.id, events[1]!.id, 'every event has its own id')
})

t.test('AISENSY_WEBHOOK_URL=off: a project with no webhook gets no status posts, and sends still succeed', async t => {
  const { call } = await startWhatsAppApp(t, { env: { AISENSY_WEBHOOK_URL: 'off' } })
  for (const destination of ['+919000000004', '+919000000003', '+919876543210']) {
    const res = await call('POST', V2, campaignBody({ destination }))
    t.equal(res.status, 200)
    t.match(res.body.submitted_message_id, UUID)
  }
  const sent = await call('POST', '/messages', { to_number: '+919000000004', template_name: 'welcome_message', params: ['Asha'] })
  t.equal(sent.status, 202)
  // The helper's gap is 20-80 ms per status: with a webhook, this number is read well within this.
  await new Promise(resolve => setTimeout(resolve, 800))
  t.equal((await call('GET', `/messages/${sent.body.id}`)).body.status, 'submitted', 'no status reached the receiver: the message stays as AiSensy accepted it')
})
