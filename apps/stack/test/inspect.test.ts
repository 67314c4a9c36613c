/**
 * See everything that was sent (issue #22), through the real gateway and services: what each
 * channel sent is stored and shown with its raw exchanges (secrets redacted), webhooks (with the
 * verification result) and timeline; traffic sent straight to an emulator is recorded and marked
 * direct; the list pages, searches content and filters by time; the live stream sends changes.
 */
import t, { type Test } from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { admin, api, ADMIN_TOKEN, API_TOKEN, eventually, send, startStack } from './helper.ts'

type Json = Record<string, any>

t.test('an email: its content, raw exchange (redacted), webhooks with verification, timeline; the messages API', async t => {
  const { call, env } = await startStack(t)
  const subject = `Welcome ${Date.now()}`
  const sent = await call('POST', '/api/automation/trigger/email', { to_email: 'open@example.com', subject, content: '<p>Hello <b>Ada</b></p>' }, api)
  t.ok([200, 202].includes(sent.status), sent.text)
  const id = sent.body.id as string

  // The messages API: what a test suite asserts on.
  const messages = await call('GET', '/api/admin/messages/email?to=OPEN@example.com', undefined, admin)
  t.equal(messages.status, 200, messages.text)
  t.match(messages.body.items[0], { id, channel: 'email', direct: false, to: 'open@example.com', subject, html: '<p>Hello <b>Ada</b></p>', text: null }, 'found whatever the case; `to` as it was sent')

  // The item, once its events came back through the signed webhook.
  const detail = await eventually(async () => {
    const res = await call('GET', `/api/admin/activity/email/${id}`, undefined, admin)
    return res.status === 200 && res.body.webhooks.length > 0 && res.body.timeline.some((e: Json) => e.status === 'open') ? res : undefined
  }, 20_000, 100)
  t.ok(detail, 'the opened event arrived')
  const d = detail!.body as Json
  t.match(d, { channel: 'email', id, direct: false, row: { id, to_email: 'open@example.com', subject } })
  t.match(d.content, { kind: 'email', subject, html: '<p>Hello <b>Ada</b></p>', to: ['open@example.com'], personalization: { sb_log_id: id } })
  t.equal(d.content.truncated, false, 'nothing of it was cut')
  const long = await call('POST', '/api/automation/trigger/email', { to_email: 'deliver@example.com', subject: 'Long', content: `<p>${'x'.repeat(100_000)}</p>` }, api)
  t.equal(long.status, 202)
  const longDetail = await eventually(async () => { const r = await call('GET', `/api/admin/activity/email/${long.body.id}`, undefined, admin); return r.body.content ? r.body : undefined }, 10_000, 100)
  t.equal(longDetail?.content.truncated, true, 'a 100 KB body was cut, and the content says so')
  t.match(longDetail?.content.html, /…\[truncated: \d+ more characters\]$/)
  const exchange = d.exchanges.find((e: Json) => e.path === '/sendgrid/v3/mail/send')
  t.match(exchange, { kind: 'provider', direct: false, method: 'POST', status_code: 202, request: { headers: { authorization: 'Bearer [REDACTED]', 'x-switchboard-internal': '[REDACTED]' }, body: { subject } } })
  t.ok(exchange.response.headers['x-message-id'], 'the answer\'s headers')
  t.match(d.webhooks[0], { kind: 'webhook', path: '/webhooks/sendgrid', status_code: 200, verification: { ok: true, status_code: 200 } })
  t.ok(d.webhooks[0].request.headers['x-twilio-email-event-webhook-signature'], 'the signature header is shown (it is no secret)')
  const statuses = d.timeline.map((e: Json) => e.status)
  t.ok(d.timeline.every((e: Json) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(e.at)), 'every step\'s time in one spelling (UTC, Z)')
  t.equal(statuses[0], 'accepted')
  t.ok(statuses.includes('delivered') && statuses.includes('open'), statuses.join(' → '))

  // No secret anywhere in what is stored and shown.
  const tokens = JSON.parse(readFileSync(join(env.SWITCHBOARD_DATA_DIR!, 'tokens.json'), 'utf8')) as { internalToken: string }
  const text = JSON.stringify(d)
  const emulators = (await call('GET', '/api/admin/emulators', undefined, admin)).body as { items: Array<{ service: string, credentials: { apiKey: string } }> }
  const sendgridKey = emulators.items.find(i => i.service === 'email')!.credentials.apiKey
  t.match(sendgridKey, /^SG\./)
  for (const secret of [API_TOKEN, ADMIN_TOKEN, tokens.internalToken, sendgridKey]) {
    t.notOk(text.includes(secret), `${secret.slice(0, 12)}… is not in the item`)
  }
})

t.test('direct traffic: an SDK-style call straight to the emulator is recorded, marked direct, redacted', async t => {
  const { call, urls } = await startStack(t)
  const key = 'SG.direct-client-key.abcdefghijklmnopqrstuvwxyz'
  const subject = `Direct hello ${Date.now()}`
  const res = await send({
    method: 'POST',
    url: `${urls.email}/sendgrid/v3/mail/send`,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      personalizations: [{ to: [{ email: 'deliver@example.com' }] }],
      from: { email: 'sdk@example.com' },
      subject,
      content: [{ type: 'text/plain', value: 'Sent by an SDK' }],
      attachments: [{ content: Buffer.from('hello attachment').toString('base64'), filename: 'hello.txt', type: 'text/plain' }]
    })
  })
  t.equal(res.status, 202, res.text)
  // Through the API, for the comparison: that one is not direct.
  const viaApi = await call('POST', '/api/automation/trigger/email', { to_email: 'deliver@example.com', subject: `Via API ${Date.now()}`, content: 'x', content_type: 'text/plain' }, api)
  t.ok([200, 202].includes(viaApi.status), viaApi.text)

  const page = await eventually(async () => {
    const r = await call('GET', `/api/admin/activity?channel=email&q=${encodeURIComponent(subject)}`, undefined, admin)
    return r.body.items?.length ? r : undefined
  }, 10_000, 100)
  t.ok(page, 'the direct send is listed')
  const item = page!.body.items[0] as Json
  t.match(item, { channel: 'email', direct: true, status: '202', contact: 'deliver@example.com', summary: subject })
  const directOnly = await call('GET', '/api/admin/activity?direct=true', undefined, admin)
  t.ok(directOnly.body.items.every((i: Json) => i.direct === true) && directOnly.body.items.some((i: Json) => i.id === item.id), 'direct=true lists it')
  const apiOnly = await call('GET', '/api/admin/activity?direct=false&channel=email', undefined, admin)
  t.ok(apiOnly.body.items.some((i: Json) => i.id === viaApi.body.id), 'the API send is listed as not direct (the marker tells them apart)')
  t.notOk(apiOnly.body.items.some((i: Json) => i.id === item.id))

  const detail = await call('GET', `/api/admin/activity/email/${item.id}`, undefined, admin)
  t.equal(detail.status, 200, detail.text)
  t.match(detail.body, { direct: true, row: null, content: { kind: 'email', subject, text: 'Sent by an SDK', attachments: [{ filename: 'hello.txt', type: 'text/plain', size: 16 }] } })
  t.equal(detail.body.exchanges[0].request.headers.authorization, 'Bearer [REDACTED]')
  t.notOk(detail.text.includes(key), 'the client\'s key is not stored')
  t.notOk(detail.text.includes('abcdefghijklmnopqrstuvwxyz'), 'no part of it either')

  const messages = await call('GET', '/api/admin/messages/email?to=deliver@example.com&limit=5', undefined, admin)
  t.ok(messages.body.items.some((m: Json) => m.direct === true && m.subject === subject && m.text === 'Sent by an SDK'), 'the messages API has it')

  // Each item's `to` is the recipient asked about, as it was sent: not the request's first one,
  // nor the lower-cased form the search keeps.
  const pair = await send({
    method: 'POST',
    url: `${urls.email}/sendgrid/v3/mail/send`,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      personalizations: [{ to: [{ email: 'deliver+ada@example.com' }, { email: 'Deliver+Grace@Example.com' }] }],
      from: { email: 'sdk@example.com' },
      subject: `Two at once ${Date.now()}`,
      content: [{ type: 'text/plain', value: 'To both' }]
    })
  })
  t.equal(pair.status, 202, pair.text)
  const toGrace = await call('GET', '/api/admin/messages/email?to=deliver%2Bgrace@example.com&limit=1', undefined, admin)
  t.match(toGrace.body.items, [{ direct: true, text: 'To both', to: 'Deliver+Grace@Example.com' }], 'to: the address asked about, as it was sent')

  // A key sent in a body field is redacted too (AiSensy takes its key in the body).
  const wa = await send({ method: 'POST', url: `${urls.whatsapp}/aisensy/campaign/t1/api/v2`, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apiKey: 'eyJhbGciOiJIUzI1NiJ9.eyJkaXJlY3QiOnRydWV9.c2VjcmV0LXNpZ25hdHVyZQ', campaignName: 'welcome_message', destination: '+919000000004', userName: 'Ada', templateParams: ['Ada'] }) })
  t.equal(wa.status, 200, wa.text)
  const waItem = await eventually(async () => {
    const r = await call('GET', '/api/admin/activity?channel=whatsapp&direct=true', undefined, admin)
    return r.body.items?.[0]
  }, 10_000, 100)
  t.ok(waItem)
  const waDetail = await call('GET', `/api/admin/activity/whatsapp/${waItem.id}`, undefined, admin)
  t.equal(waDetail.body.exchanges[0].request.body.apiKey, '[REDACTED]')
  t.notOk(waDetail.text.includes('c2VjcmV0LXNpZ25hdHVyZQ'))
  t.match(waDetail.body.content, { kind: 'whatsapp', template_name: 'welcome_message', params: ['Ada'], rendered: /Ada/ })
})

t.test('every channel stores what it sent', async t => {
  const { call, urls } = await startStack(t)
  const wa = await call('POST', '/api/automation/trigger/whatsapp', { to_number: '+919000000004', template_name: 'welcome_message', params: ['Ada'] }, api)
  t.ok([200, 202].includes(wa.status), wa.text)
  const waDetail = await eventually(async () => {
    const r = await call('GET', `/api/admin/activity/whatsapp/${wa.body.id}`, undefined, admin)
    return r.body.timeline?.some((e: Json) => e.status === 'read') ? r : undefined
  }, 20_000, 100)
  t.ok(waDetail, 'sent, delivered and read arrived')
  t.match(waDetail!.body.content, { kind: 'whatsapp', to: '+919000000004', template_name: 'welcome_message', params: ['Ada'], rendered: /Ada/ })
  t.equal(waDetail!.body.exchanges[0].request.body.apiKey, '[REDACTED]')
  t.ok(waDetail!.body.webhooks.every((w: Json) => w.verification.ok === true))
  t.notOk(JSON.stringify(waDetail!.body.webhooks).match(/\/webhooks\/aisensy\/(?!\[token\])/), 'the token in the receiver\'s URL is masked')
  // The README's example as typed: an unencoded `+` reads as a space in a query string.
  const waMessages = await call('GET', '/api/admin/messages/whatsapp?to=+919000000004', undefined, admin)
  t.match(waMessages.body.items, [{ id: wa.body.id, to: '+919000000004', text: /Ada/ }], 'found, and `to` is the number as it was sent')
  // Straight to AiSensy with a national number; asked for with the country code.
  const direct = await send({ method: 'POST', url: `${urls.whatsapp}/aisensy/campaign/t1/api/v2`, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apiKey: 'eyJhbGciOiJIUzI1NiJ9.eyJkaXJlY3QiOnRydWV9.c2VjcmV0LXNpZ25hdHVyZQ', campaignName: 'welcome_message', destination: '9876543210', userName: 'Ada', templateParams: ['Ada'] }) })
  t.equal(direct.status, 200, direct.text)
  const national = await eventually(async () => {
    const r = await call('GET', '/api/admin/messages/whatsapp?to=%2B919876543210', undefined, admin)
    return r.body.items?.find((m: Json) => m.direct === true)
  }, 10_000, 100)
  t.match(national, { direct: true, to: '9876543210', text: /Ada/ }, 'a national number sent straight to AiSensy is found by the number with its country code')
  const searched = await call('GET', '/api/admin/activity?channel=whatsapp&q=%2B919876543210', undefined, admin)
  t.ok(searched.body.items.some((i: Json) => i.direct === true && i.contact === '9876543210'), 'so is it by Activity\'s search')
  t.ok((await call('GET', '/api/admin/activity?channel=whatsapp&q=98765%2043210', undefined, admin)).body.items.some((i: Json) => i.direct === true), 'however the number is spaced')

  const link = await call('POST', '/api/admin/payment-links', { amount: '11.11', purpose: 'Order 7', buyer_name: 'Ada', email: 'ada@example.com' }, admin)
  t.equal(link.status, 201, link.text)
  const payDetail = await call('GET', `/api/admin/activity/payments/${link.body.id}`, undefined, admin)
  t.equal(payDetail.status, 200, payDetail.text)
  t.match(payDetail.body.content, { kind: 'payments', purpose: 'Order 7', amount: '11.11', email: 'ada@example.com', longurl: /^http/ })
  // A link with an email and a phone, paid, then asked for by the phone: its row (contact: the email), paid.
  const both = await call('POST', '/api/admin/payment-links', { amount: '12.00', purpose: 'Order 8', buyer_name: 'Asha', email: 'asha@example.com', phone: '+919876501234' }, admin)
  t.equal(both.status, 201, both.text)
  t.equal((await call('POST', `/api/admin/payment-links/${both.body.id}/simulate`, { outcome: 'success' }, admin)).status, 200)
  const byPhone = await eventually(async () => {
    const r = await call('GET', '/api/admin/messages/payments?to=9876501234', undefined, admin)
    return r.body.items?.[0]?.status === 'paid' ? r.body.items[0] : undefined
  }, 10_000, 100)
  t.match(byPhone, { id: both.body.id, status: 'paid', text: 'Order 8' }, 'found by the phone: the link\'s own row, paid')

  const callRes = await call('POST', '/api/automation/trigger/call', { to_number: '+919855550100', script_id: 'appointment_reminder' }, api)
  t.ok([200, 202].includes(callRes.status), callRes.text)
  const voice = await eventually(async () => {
    const r = await call('GET', `/api/admin/activity/voice/${callRes.body.id}`, undefined, admin)
    return r.body.content?.transcript_text && r.body.content?.recording_url ? r : undefined
  }, 30_000, 200)
  t.ok(voice, 'the transcript and the recording arrived')
  t.match(voice!.body.content, { kind: 'voice', to: '+919855550100', transcript: Array, recording_url: /^http/ })
  const callMessages = await call('GET', '/api/admin/messages/voice?to=%2B919855550100', undefined, admin)
  t.match(callMessages.body.items, [{ id: callRes.body.id, to: '+919855550100', text: voice!.body.content.transcript_text }], 'the messages API gives the call\'s transcript as its text')

  const meeting = await call('POST', '/api/zoom/meetings', { topic: 'Weekly sync', duration: 30 }, api)
  t.equal(meeting.status, 201, meeting.text)
  const zoom = await eventually(async () => {
    const r = await call('GET', '/api/admin/activity?channel=zoom&q=Weekly', undefined, admin)
    return r.body.items?.[0]
  }, 10_000, 100)
  t.ok(zoom, 'Zoom is in Activity')
  const zoomDetail = await call('GET', `/api/admin/activity/zoom/${zoom.id}`, undefined, admin)
  t.match(zoomDetail.body.content, { kind: 'zoom', topic: 'Weekly sync' })
  const answer = zoomDetail.body.exchanges.find((e: { path: string }) => /\/meetings$/.test(e.path)).response.body
  t.same([answer.password, answer.h323_password, answer.pstn_password, answer.encrypted_password], Array(4).fill('[REDACTED]'), 'every form of the passcode is kept from view, not only one')
  t.match(answer.join_url, /\?pwd=\[REDACTED\]/, 'the passcode in the join link too')
  t.notMatch(JSON.stringify(zoomDetail.body), /pwd=(?!\[REDACTED\])/, 'anywhere in the item')
  // Ended and recorded, it keeps its settings: the later answers and webhooks carry none.
  t.equal((await call('POST', `/api/zoom/meetings/${meeting.body.id}/end`, undefined, api)).status, 200)
  const ended = await eventually(async () => {
    const r = await call('GET', `/api/admin/activity/zoom/${zoom.id}`, undefined, admin)
    return r.body.content?.recordings?.length ? r : undefined
  }, 10_000, 100)
  t.ok(ended, 'the recordings arrived')
  t.match(ended!.body.content, { status: 'finished', settings: { join_before_host: Boolean, auto_recording: String } }, 'with the settings it was created with')
})

t.test('paging, text search through content, time filters, bad input', async t => {
  const { call } = await startStack(t)
  const marker = `zebra${Date.now()}`
  const ids: string[] = []
  for (let i = 0; i < 5; i++) {
    const r = await call('POST', '/api/automation/trigger/email', { to_email: `page${i}@example.com`, subject: `Paging ${i}`, content: `body ${marker} ${i}` }, api)
    ids.push(r.body.id)
  }
  const seen: string[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const r: any = await call('GET', `/api/admin/activity?channel=email&q=${marker}&limit=2${cursor ? `&cursor=${cursor}` : ''}`, undefined, admin)
    t.equal(r.status, 200, r.text)
    t.ok(r.body.items.length <= 2)
    seen.push(...r.body.items.map((i: Json) => i.id))
    cursor = r.body.next_cursor
    pages++
  } while (cursor && pages < 10)
  t.equal(pages, 3, 'five items in pages of two')
  t.same(seen, [...ids].reverse(), 'newest first, each once; found by a word only in the body')

  const byRecipient = await call('GET', '/api/admin/activity?q=PAGE3@example', undefined, admin)
  t.same(byRecipient.body.items.map((i: Json) => i.id), [ids[3]], 'by recipient, case-insensitive')
  const byId = await call('GET', `/api/admin/activity?q=${ids[1]}`, undefined, admin)
  t.same(byId.body.items.map((i: Json) => i.id), [ids[1]], 'by id')
  const literal = await call('GET', '/api/admin/activity?q=%25', undefined, admin)
  t.equal(literal.body.items.length, 0, 'a % is searched for literally')

  const first = (await call('GET', `/api/admin/activity/email/${ids[0]}`, undefined, admin)).body.row.created_at
  const before = await call('GET', `/api/admin/activity?q=${marker}&until=${encodeURIComponent(new Date(Date.parse(first) - 1000).toISOString())}`, undefined, admin)
  t.equal(before.body.items.length, 0, 'nothing before the first')
  const since = await call('GET', `/api/admin/activity?q=${marker}&since=${encodeURIComponent(first)}`, undefined, admin)
  t.equal(since.body.items.length, 5, 'all from the first on')

  const badCursor = await call('GET', '/api/admin/activity?cursor=nonsense', undefined, admin)
  t.match(badCursor, { status: 400, body: { code: 'ADMIN_INVALID_CURSOR', message: /cursor/ } })
  // An until before its since matches nothing: a mistake, said so and naming the field, not an empty page.
  for (const path of ['/api/admin/activity', '/api/admin/journal']) {
    const inverted = await call('GET', `${path}?since=2026-06-02T00:00:00Z&until=2026-06-01T00:00:00Z`, undefined, admin)
    t.match(inverted, { status: 400, body: { code: 'ADMIN_INVALID_TIME_RANGE', message: /querystring\/until/ } }, `${path}: until before since`)
    const sameInstant = await call('GET', `${path}?since=2026-06-01T00:00:00Z&until=2026-06-01T00:00:00Z`, undefined, admin)
    t.equal(sameInstant.status, 200, `${path}: since equal to until is a range`)
  }
  const badChannel = await call('GET', '/api/admin/activity?channel=fax', undefined, admin)
  t.match(badChannel, { status: 400, body: { message: /channel/ } })
  const badLimit = await call('GET', '/api/admin/messages/email?to=a@b.c&limit=1000', undefined, admin)
  t.match(badLimit, { status: 400, body: { message: /limit/ } })
  const missing = await call('GET', '/api/admin/messages/email', undefined, admin)
  t.match(missing, { status: 400, body: { message: /to/ } })
  const unknown = await call('GET', '/api/admin/activity/email/00000000-0000-4000-8000-000000000000', undefined, admin)
  t.match(unknown, { status: 404, body: { code: 'ADMIN_ROW_NOT_FOUND' } })
  t.equal((await call('GET', '/api/admin/activity', undefined, api)).status, 401, 'the admin token only')
})

t.test('the live stream sends new items and status changes, and ends when the gateway closes', async t => {
  const { call, gatewayUrl, stack } = await startStack(t)
  const { events, response, ended } = await openStream(t, gatewayUrl, '/api/admin/activity/stream?channel=email')
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /text\/event-stream/)

  const sent = await call('POST', '/api/automation/trigger/email', { to_email: 'deliver@example.com', subject: 'Streamed', content: 'x' }, api)
  t.ok(await eventually(() => events.some(e => e.id === sent.body.id), 15_000, 50), 'the new item came as an event')
  t.ok(await eventually(() => events.some(e => e.id === sent.body.id && e.status === 'delivered'), 20_000, 50), 'and its status change')
  const other = await call('POST', '/api/automation/trigger/whatsapp', { to_number: '+919000000004', template_name: 'welcome_message', params: ['Ada'] }, api)
  t.ok([200, 202].includes(other.status), other.text)
  t.ok(events.every(e => e.channel === 'email'), 'channel=email sends only email items')

  await stack.servers.find(s => s.name === 'gateway')!.app.close()
  t.ok(await eventually(ended, 10_000), 'the stream ended with the gateway')
})

/** The admin stream's events as they arrive, once it said "ready"; its response, and whether it has ended. */
async function openStream (t: Test, gatewayUrl: string, path = '/api/admin/activity/stream'): Promise<{ events: Json[], response: IncomingMessage, ended: () => boolean }> {
  const events: Json[] = []
  let ready = false
  let done = false
  let response: IncomingMessage | undefined
  const stream = httpRequest(`${gatewayUrl}${path}`, { headers: admin })
  stream.on('response', res => {
    response = res
    let buffer = ''
    res.setEncoding('utf8')
    res.on('data', (chunk: string) => {
      buffer += chunk
      let end: number
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        const event = /^event: (.*)$/m.exec(block)?.[1]
        const data = /^data: (.*)$/m.exec(block)?.[1]
        if (event === 'ready') ready = true
        if (event === 'activity' && data) events.push(JSON.parse(data))
      }
    })
    res.on('end', () => { done = true })
    res.on('close', () => { done = true })
  })
  stream.on('error', () => { done = true })
  stream.end()
  t.teardown(() => { stream.destroy() })
  t.ok(await eventually(() => ready, 10_000), 'the stream is ready')
  return { events, response: response!, ended: () => done }
}

t.test('the live stream follows real time, not the test clock: rows stamped in the past and moves made while frozen arrive', async t => {
  const { call, gatewayUrl } = await startStack(t)
  const { events } = await openStream(t, gatewayUrl)
  // A data set playing last week, or a test setting the clock back: the clock is frozen a day ago.
  const dayAgo = Date.now() - 86_400_000
  t.equal((await call('POST', '/api/admin/clock/set', { to: new Date(dayAgo).toISOString() }, admin)).status, 200)
  const sent = await call('POST', '/api/automation/trigger/email', { to_email: 'deliver@example.com', subject: 'Last week', content: 'x' }, api)
  t.equal(sent.status, 202, sent.text)
  const id = sent.body.id as string
  const mine = () => events.filter(e => e.id === id)
  t.ok(await eventually(() => mine().length > 0, 15_000, 50), 'the new row, created a day ago on the clock, came as an event')
  t.equal(Date.parse(mine()[0]!.created_at), dayAgo, 'stamped on the clock')
  t.ok(Math.abs(Date.parse(mine()[0]!.changed_at) - Date.now()) < 60_000, 'its changed_at is real time')
  // The delivery events wait for the frozen clock; an advance lets them through, still a day ago.
  t.equal((await call('POST', '/api/admin/clock/advance', { seconds: 60 }, admin)).status, 200)
  t.ok(await eventually(() => mine().some(e => e.status === 'delivered'), 15_000, 50), 'and its status change, made on the clock a day ago')
  await call('POST', '/api/admin/clock/real', undefined, admin)
})

t.test('the live stream on a frozen clock: a second move stamped with the same instant still arrives', async t => {
  const { call, gatewayUrl } = await startStack(t)
  const { events } = await openStream(t, gatewayUrl, '/api/admin/activity/stream?channel=payments')
  // The playground's Freeze: every move from now on carries the same instant as its updated_at.
  t.equal((await call('POST', '/api/admin/clock/freeze', undefined, admin)).status, 200)
  const link = await call('POST', '/api/admin/payment-links', { amount: 1499, purpose: 'Annual plan', buyer_name: 'Asha Rao', phone: '+919812345678' }, admin)
  t.equal(link.status, 201, link.text)
  const mine = () => events.filter(e => e.id === link.body.id)
  t.ok(await eventually(() => mine().some(e => e.status === 'pending'), 15_000, 50), 'the new link came as an event')
  const paid = await call('POST', `/api/admin/payment-links/${link.body.id}/simulate`, {}, admin)
  t.equal(paid.body.status, 'paid', paid.text)
  t.ok(await eventually(() => mine().some(e => e.status === 'paid'), 15_000, 50), 'and its payment, with the same updated_at')
  t.equal(mine().find(e => e.status === 'paid')?.updated_at, mine()[0]!.updated_at, 'stamped with the frozen instant')
  await call('POST', '/api/admin/clock/real', undefined, admin)
})
