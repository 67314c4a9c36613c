import t from 'tap'
import { eventually, startRecorder } from '@switchboard/service-kit/testing'
import { API_KEY, campaignBody, startWhatsAppApp } from './helper.ts'
import { readInboundMessage, statusUpdateOf, tokenMatches } from '../src/aisensy-webhooks.ts'

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

t.test('the reference\'s examples, byte for byte (providers.md §2)', async t => {
  const { call } = await startWhatsAppApp(t)
  // The destinations as the reference writes them: with and without the +, and a bare national
  // number, which AiSensy takes as Indian.
  for (const destination of ['+917428526285', '917428526285', '7428526285']) {
    const res = await call('POST', V2, campaignBody({ destination }))
    t.equal(res.status, 200, destination)
    t.equal(res.text, `{"success":"true","submitted_message_id":"${res.body.submitted_message_id}"}`, destination)
  }
  // The reference's OTP button, exactly as integrators send it.
  const otp = await call('POST', V2, campaignBody({ campaignName: 'otp_verification', templateParams: ['123456'], buttons: [{ type: 'button', sub_type: 'url', index: 0, parameters: [{ type: 'text', text: '123456' }] }] }))
  t.equal(otp.status, 200)

  // The full envelope, its keys in the recorded order; the trace id shaped like ais_mum6apj6_f00b82d8.
  const noPlan = await call('POST', V2, campaignBody({ destination: '9000000008' }))
  t.equal(noPlan.status, 400)
  t.match(noPlan.body.aisTraceId, TRACE)
  t.equal(noPlan.text, `{"message":"No Plan active on assistant!","name":"ERR400","errorCode":400,"errorMessage":"No Plan active on assistant!","aisTraceId":"${noPlan.body.aisTraceId}"}`)
  const credits = await call('POST', V2, campaignBody({ destination: '9000000007' }))
  t.equal(credits.status, 402)
  t.match(credits.body.aisTraceId, TRACE)
  t.equal(credits.text, `{"message":"Insufficient WhatsApp Conversation Credits (WCC)!","name":"ERR402","errorCode":402,"errorMessage":"Insufficient WhatsApp Conversation Credits (WCC)!","aisTraceId":"${credits.body.aisTraceId}"}`)
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
  // Integrators recorded AiSensy's random failures as 503 with an empty JSON body.
  const failed = await call('POST', V2, campaignBody(), { 'x-switchboard-outcome': 'failure' })
  t.equal(failed.status, 503)
  t.equal(failed.text, '{}', 'a random failure: 503 {}, not the error envelope')
  t.equal(failed.headers['x-switchboard-simulated'], 'failure')
  const outage = await call('POST', V2, campaignBody(), { 'x-switchboard-outcome': 'outage' })
  t.equal(outage.status, 503)
  t.equal(outage.text, '{}', 'observed: 503 with an empty JSON body')
  const magicError = await call('POST', V2, campaignBody({ destination: '9000000006' }))
  t.equal(magicError.status, 503)
  t.equal(magicError.text, '{}')

  const zero = await startWhatsAppApp(t, { simulation: { successRate: 0 } })
  t.equal((await zero.call('POST', V2, campaignBody())).status, 503, 'a 0 success rate fails every ordinary send')
  t.equal((await zero.call('POST', V2, campaignBody({ destination: '+919000000004' }))).status, 200, 'a magic number wins over the rate')
  const slow = await call('POST', V2, campaignBody(), { 'x-switchboard-latency-ms': '300' })
  t.equal(slow.status, 200)
})

t.test('each status change is posted as an AiSensy notification, one per request, in order: magic numbers decide the path', async t => {
  const { origin, received: posts } = await startRecorder(t)
  const { call } = await startWhatsAppApp(t, { env: { AISENSY_WEBHOOK_URL: `${origin}/hook/the-token-in-the-url` } })

  const numbers = { read: '+919000000004', staysSent: '+919000000002', failsAfterSend: '+919000000003', unread: '+919000000005' }
  const ids: Record<string, string> = {}
  for (const [k, destination] of Object.entries(numbers)) {
    const res = await call('POST', V2, campaignBody({ destination }))
    t.equal(res.status, 200)
    ids[k] = res.body.submitted_message_id
  }
  // Posts travel concurrently (two may leave in one tick), so their order is read from created_at.
  const notifications = () => posts.map(p => JSON.parse(p.body) as Record<string, any>).sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at))
  const statuses = (id: string) => notifications().filter(n => n.data.message.id === id).map(n => n.data.message.status)
  const until = Date.now() + 20_000
  while (Date.now() < until && !(statuses(ids.read!).length === 3 && statuses(ids.failsAfterSend!).length === 2 && statuses(ids.unread!).length === 2)) {
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  // Give a would-be extra event (a wrong 'delivered' for the stays-sent number) time to show up.
  await new Promise(resolve => setTimeout(resolve, 700))
  t.same(statuses(ids.read!), ['sent', 'delivered', 'read'])
  t.same(statuses(ids.unread!), ['sent', 'delivered'])
  t.same(statuses(ids.staysSent!), ['sent'])
  t.same(statuses(ids.failsAfterSend!), ['sent', 'failed'])

  const failed = notifications().find(n => n.data.message.status === 'failed')!
  t.match(failed, {
    id: /^[0-9a-f]{24}$/,
    created_at: /^\d{4}-\d\d-\d\dT/,
    topic: 'message.status.updated',
    project_id: /^[0-9a-f]{24}$/,
    delivery_attempt: '1',
    data: { message: { id: ids.failsAfterSend, phone_number: '919000000003', status: 'failed', userName: 'Asha Rao', failureResponse: { code: 131026, title: 'Message undeliverable' } } }
  })
  t.same(statusUpdateOf(failed), { messageId: ids.failsAfterSend, status: 'failed', error: { code: '131026', title: 'Message undeliverable' }, at: failed.created_at }, 'the shared parser reads what the emulator writes, when it happened too')
  t.equal(new Set(notifications().map(n => n.id)).size, posts.length, 'every notification has its own id')
  for (const p of posts) {
    t.equal(p.url, '/hook/the-token-in-the-url', 'posted to the configured URL, token and all')
    t.match(p.headers['content-type'], /application\/json/)
    t.notOk(p.headers['x-switchboard-signature'], 'unsigned, as AiSensy posts')
  }
})

t.test('the shared parser reads the recorded variants and refuses what it cannot use', async t => {
  const n = (topic: string, message: Record<string, unknown>) => ({ id: 'n1', topic, data: { message } })
  t.same(statusUpdateOf(n('message.status.updated', { id: 'm1', status: 'DELIVERED' })), { messageId: 'm1', status: 'delivered' }, 'upper-case statuses')
  t.same(statusUpdateOf(n('message.status.update', { messageId: 'm2', status: 'read' })), { messageId: 'm2', status: 'read' }, 'the other topic spelling, messageId')
  t.same(statusUpdateOf(n('message.status.updated', { id: 'm3', status: 'failed', errors: [{ code: 131047, title: 'Re-engagement message' }] })), { messageId: 'm3', status: 'failed', error: { code: '131047', title: 'Re-engagement message' } }, 'Cloud API style errors')
  t.equal(statusUpdateOf(n('message.status.updated', { id: 'm4', status: 'deleted' })), undefined, 'an unknown status')
  t.equal(statusUpdateOf(n('message.sender.user', { id: 'm5', status: 'read' })), undefined, 'another topic')
  t.equal(statusUpdateOf({ topic: 'message.status.updated', data: 'x' }), undefined)
  t.same(readInboundMessage(n('message.sender.user', { id: 'i1', phone_number: '919876543210', userName: 'Asha', message_type: 'TEXT', message_content: { text: 'Yes' } })), { message: { messageId: 'i1', phone: '919876543210', name: 'Asha', text: 'Yes', type: 'TEXT' } })
  t.same(readInboundMessage(n('message.sender.user', { id: 'i2', phone_number: '919876543210', message_type: 'IMAGE', message_content: { url: 'https://cdn.example/x.jpg' } })), { message: { messageId: 'i2', phone: '919876543210', name: null, text: '[image] https://cdn.example/x.jpg', type: 'IMAGE' } })
  t.match(readInboundMessage(n('message.sender.user', { id: 'i3', message_content: { text: 'no number' } })), { problem: String }, 'no number: a problem named, nothing stored')
  t.ok(tokenMatches('a-token-of-some-length-123', 'a-token-of-some-length-123'))
  t.notOk(tokenMatches('a-token-of-some-length-123', 'a-token-of-some-length-124'))
  t.notOk(tokenMatches('a-token-of-some-length-123', ''))
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

t.test('magic number +919000000009: sent, delivered, read, then the contact\'s reply, in AiSensy\'s inbound format', async t => {
  const { origin, received: posts } = await startRecorder(t)
  const { call } = await startWhatsAppApp(t, { env: { AISENSY_WEBHOOK_URL: `${origin}/hook` } })
  const res = await call('POST', V2, campaignBody({ destination: '+919000000009', userName: 'Ravi' }))
  t.equal(res.status, 200)
  const notifications = await eventually(async () => posts.length >= 4 && posts.map(p => JSON.parse(p.body) as Record<string, any>))
  // Posts travel concurrently (two may leave in one tick), so their order is read from created_at.
  const inOrder = [...notifications].sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at))
  t.same(inOrder.map(n => n.topic === 'message.sender.user' ? 'reply' : n.data.message.status), ['sent', 'delivered', 'read', 'reply'])
  const reply = inOrder[3]!
  t.match(reply, { topic: 'message.sender.user', id: /^[0-9a-f]{24}$/, data: { message: { phone_number: '919000000009', userName: 'Ravi', message_type: 'TEXT', message_content: { text: 'Yes, please go ahead.' } } } })
  t.match(readInboundMessage(reply), { message: { phone: '919000000009', name: 'Ravi', text: 'Yes, please go ahead.', type: 'TEXT' } })
})
