import t from 'tap'
import { randomUUID } from 'node:crypto'
import { requestJson, startRecorder } from '@switchboard/service-kit/testing'
import { eventually, startWhatsAppApp, statusNotification, WEBHOOK_PATH, WEBHOOK_TOKEN } from './helper.ts'
import { DEFAULT_TEMPLATES } from '../src/catalogue.ts'

const send = (to: string, extra: Record<string, unknown> = {}) => ({ to_number: to, template_name: 'order_confirmation', params: ['Asha', '#A-1042'], contact_name: 'Asha Rao', ...extra })

t.test('send_message: 202, one whatsapp_logs row and one crm_messages row, then sent → delivered → read through AiSensy\'s webhooks', async t => {
  const { call, activityLog } = await startWhatsAppApp(t)
  const res = await call('POST', '/messages', send('090000 00004'), { 'x-request-id': 'req-wa-1' })
  t.equal(res.status, 202)
  t.match(res.body, { success: true, status: 'submitted', mode: 'mock', to_number: '+919000000004', template_name: 'order_confirmation', provider_message_id: /^[0-9a-f-]{36}$/, latency_ms: Number })
  await activityLog.flush()
  const [log] = await activityLog.select('whatsapp_logs', { where: { id: res.body.id } })
  t.match(log, { to_number: '+919000000004', contact_name: 'Asha Rao', template_name: 'order_confirmation', params: ['Asha', '#A-1042'], mode: 'mock', request_id: 'req-wa-1', provider_message_id: res.body.provider_message_id, campaign_id: null, error: null })
  const [crm] = await activityLog.select('crm_messages', { where: { source_id: res.body.id } })
  t.match(crm, { channel: 'whatsapp', direction: 'outbound', contact: '+919000000004', contact_name: 'Asha Rao', source_table: 'whatsapp_logs', mode: 'mock', request_id: 'req-wa-1', provider_message_id: res.body.provider_message_id })
  t.equal(crm!.content, 'Hi Asha, your order #A-1042 is confirmed. We will message you when it ships.', 'the unified view keeps the text as sent')

  await eventually(async () => (await activityLog.count('whatsapp_logs', { id: res.body.id, status: 'read' })) === 1)
  await eventually(async () => (await activityLog.count('crm_messages', { source_id: res.body.id, status: 'read' })) === 1)
  const viaApi = await call('GET', `/messages/${res.body.id}`)
  t.equal(viaApi.status, 200)
  t.equal(viaApi.body.status, 'read')
  t.same(viaApi.body.params, ['Asha', '#A-1042'])
})

t.test('magic numbers: stays sent, fails after sending, refused as invalid (logged as failed in both tables)', async t => {
  const { call, activityLog } = await startWhatsAppApp(t)
  const stays = await call('POST', '/messages', send('+919000000002'))
  const fails = await call('POST', '/messages', send('+919000000003'))
  const read = await call('POST', '/messages', send('+919000000004'))
  t.equal(stays.status, 202)
  t.equal(fails.status, 202)
  await eventually(async () => (await activityLog.count('whatsapp_logs', { id: fails.body.id, status: 'failed' })) === 1)
  const [failedRow] = await activityLog.select('whatsapp_logs', { where: { id: fails.body.id } })
  t.match(failedRow, { status: 'failed', error: 'Message undeliverable', error_code: '131026' })
  t.equal((await activityLog.select('crm_messages', { where: { source_id: fails.body.id } }))[0]?.status, 'failed')
  // By the time an ordinary message is read, the stays-sent one has had every chance to move on.
  await eventually(async () => (await activityLog.count('whatsapp_logs', { id: read.body.id, status: 'read' })) === 1)
  await new Promise(resolve => setTimeout(resolve, 300))
  t.equal((await activityLog.select('whatsapp_logs', { where: { id: stays.body.id } }))[0]?.status, 'sent')

  const invalid = await call('POST', '/messages', send('+919000000001'))
  t.equal(invalid.status, 422)
  t.match(invalid.body, { code: 'WHATSAPP_PROVIDER_REJECTED', message: 'AiSensy rejected the request: Invalid Number', details: { id: String, provider: { statusCode: 400, providerBody: { message: 'Invalid Number' } } } })
  await activityLog.flush()
  t.match((await activityLog.select('whatsapp_logs', { where: { id: invalid.body.details.id } }))[0], { status: 'failed', error: 'Invalid Number', error_code: 'rejected', provider_message_id: null, to_number: '+919000000001' })
  t.match((await activityLog.select('crm_messages', { where: { source_id: invalid.body.details.id } }))[0], { status: 'failed', channel: 'whatsapp' })

  const credits = await call('POST', '/messages', send('+919000000007'))
  t.equal(credits.status, 422)
  t.match(credits.body.message, /Insufficient WhatsApp Conversation Credits/)
})

t.test('simulated failures are AiSensy errors, handled by the client and logged as failed', async t => {
  const { call, activityLog } = await startWhatsAppApp(t)
  const failed = await call('POST', '/messages', send('+919876543210'), { 'x-switchboard-outcome': 'failure' })
  t.equal(failed.status, 502)
  t.equal(failed.body.code, 'WHATSAPP_PROVIDER_ERROR')
  t.match(failed.body.message, /AiSensy answered HTTP 503: no error message \(an empty answer, as AiSensy gives when it is briefly unavailable\)\. Retry later\./)
  await activityLog.flush()
  t.equal((await activityLog.select('whatsapp_logs', { where: { id: failed.body.details.id } }))[0]?.status, 'failed')

  const limited = await call('POST', '/messages', send('+919876543210'), { 'x-switchboard-outcome': 'rate_limited' })
  t.equal(limited.status, 429)
  t.equal(limited.body.code, 'WHATSAPP_PROVIDER_RATE_LIMITED')
  t.equal(limited.headers['retry-after'], '1')
  t.equal(await activityLog.count('whatsapp_logs', { status: 'failed' }), 2)
  t.equal(await activityLog.count('crm_messages', { status: 'failed' }), 2)
})

t.test('bad input is a 400 that names the field, and writes no row', async t => {
  const { call, activityLog } = await startWhatsAppApp(t)
  const cases: Array<[unknown, string, RegExp]> = [
    [{ template_name: 'welcome_message', params: ['a'] }, 'WHATSAPP_INVALID_REQUEST', /to_number/],
    [send('98765 abc 210'), 'WHATSAPP_INVALID_REQUEST', /to_number/],
    [send('+919876543210', { template_name: '' }), 'WHATSAPP_INVALID_REQUEST', /template_name/],
    [send('+919876543210', { params: { first: 'Asha' } }), 'WHATSAPP_INVALID_REQUEST', /params/],
    [send('+919876543210', { params: ['Asha', ''] }), 'WHATSAPP_INVALID_REQUEST', /params\/1/],
    [send('+919876543210', { surprise: 1 }), 'WHATSAPP_INVALID_REQUEST', /additional properties/],
    [send('+919876543210', { media: { url: 'ftp://x/y.png' } }), 'WHATSAPP_INVALID_REQUEST', /media\/url/],
    [send('+919876543210', { template_name: 'no_such_template' }), 'WHATSAPP_UNKNOWN_TEMPLATE', /No template named "no_such_template"\. Known templates: welcome_message, order_confirmation/],
    [send('+919876543210', { params: ['Asha'] }), 'WHATSAPP_TEMPLATE_PARAMS_MISMATCH', /order_confirmation takes 2 params, body\/params has 1/],
    [send('+919876543210', { params: undefined }), 'WHATSAPP_TEMPLATE_PARAMS_MISMATCH', /takes 2 params and has no defaults: give body\/params/],
    [send('1234567890'), 'WHATSAPP_INVALID_NUMBER', /"1234567890" is not a phone number WhatsApp can reach \(an Indian mobile number starts with 6, 7, 8 or 9\)/],
    [send('+91 98765'), 'WHATSAPP_INVALID_NUMBER', /to_number/]
  ]
  for (const [body, code, message] of cases) {
    const res = await call('POST', '/messages', body)
    t.equal(res.status, 400, JSON.stringify(body))
    t.equal(res.body.code, code, JSON.stringify(body))
    t.match(res.body.message, message, JSON.stringify(body))
  }
  const badJson = await call('POST', '/messages', '{"to_number":', { 'content-type': 'application/json' })
  t.equal(badJson.body.code, 'WHATSAPP_INVALID_JSON')
  const bulk = await call('POST', '/messages/bulk', { template_name: 'order_confirmation', contacts: [{ to_number: '+919876543210', params: ['a', 'b'] }, { to_number: '+919876543211', params: ['a'] }] })
  t.equal(bulk.status, 400)
  t.match(bulk.body, { code: 'WHATSAPP_TEMPLATE_PARAMS_MISMATCH', message: /body\/contacts\/1\/params has 1/, details: [{ field: 'body/contacts/1/params' }] })
  const tooMany = await call('POST', '/messages/bulk', { template_name: 'welcome_message', contacts: Array.from({ length: 1001 }, () => ({ to_number: '+919876543210' })) })
  t.equal(tooMany.status, 400)
  t.match(tooMany.body.message, /contacts/)
  const noCampaignName = await call('POST', '/campaigns', { template_name: 'welcome_message', contacts: [{ to_number: '+919876543210' }] })
  t.match(noCampaignName.body, { statusCode: 400, message: /name/ })
  await activityLog.flush()
  t.equal(await activityLog.count('whatsapp_logs'), 0)
  t.equal(await activityLog.count('crm_messages'), 0)
  t.equal(await activityLog.count('whatsapp_campaigns'), 0)
})

t.test('templates with a copy-code button or a media header are sent with what AiSensy needs', async t => {
  const { call } = await startWhatsAppApp(t)
  const otp = await call('POST', '/messages', { to_number: '9876543210', template_name: 'otp_verification', params: ['482913'] })
  t.equal(otp.status, 202, 'the copy-code button is filled from the code')
  const appointment = await call('POST', '/messages', { to_number: '9876543210', template_name: 'appointment_reminder', params: ['Asha', 'Mon 10:00'] })
  t.equal(appointment.status, 202, 'the catalogue\'s default media fills the image header')
  const own = await call('POST', '/messages', { to_number: '9876543210', template_name: 'appointment_reminder', params: ['Asha', 'Mon 10:00'], media: { url: 'https://example.com/clinic.jpg', filename: 'clinic.jpg' } })
  t.equal(own.status, 202)
})

t.test('send_bulk_messages: concurrent sends, one row per contact in each table, failures per contact', async t => {
  // No project webhook: the timing below is the sends' alone, not also 900 status posts (one per request, as AiSensy posts them).
  const { call, activityLog } = await startWhatsAppApp(t, { simulation: { latencyMs: { min: 100, max: 100 } }, env: { AISENSY_WEBHOOK_URL: 'off', BULK_WAIT_MS: '60000' } })
  const contacts = Array.from({ length: 300 }, (_v, i) => ({ to_number: `+9198${String(i).padStart(8, '0')}`, name: `Contact ${i}` })) as Array<{ to_number: string, name?: string }>
  contacts[10] = { to_number: '+919000000001', name: 'Magic invalid' }
  contacts[20] = { to_number: '12345678' }
  const started = Date.now()
  const res = await call('POST', '/messages/bulk', { template_name: 'welcome_message', contacts }, { 'x-request-id': 'bulk-1' })
  const elapsed = Date.now() - started
  t.equal(res.status, 200)
  t.match(res.body, { mode: 'mock', template_name: 'welcome_message', total: 300, accepted: 298, failed: 2 })
  // One after the other they would take 30 s; 64 at a time, a few rounds plus the job's database round trips.
  t.ok(elapsed < 15_000, `concurrent, not sequential (${elapsed} ms for 300 requests of 100 ms)`)
  t.equal(res.body.results.length, 300)
  t.match(res.body.results[10], { to_number: '+919000000001', status: 'failed', error: 'Invalid Number', provider_message_id: null })
  t.match(res.body.results[20], { to_number: '12345678', status: 'failed', error: /Invalid number: 8 digits/ })
  t.match(res.body.results[0], { to_number: '+919800000000', status: 'submitted', provider_message_id: /^[0-9a-f-]{36}$/ })

  t.equal(await activityLog.count('whatsapp_logs', { request_id: 'bulk-1' }), 300, 'rows are written when the reply comes')
  t.equal(await activityLog.count('crm_messages', { request_id: 'bulk-1' }), 300)
  t.equal(await activityLog.count('whatsapp_logs', { request_id: 'bulk-1', status: 'failed' }), 2)
  const [invalid] = await activityLog.select('whatsapp_logs', { where: { id: res.body.results[20].id } })
  t.match(invalid, { error_code: 'invalid_number', to_number: '12345678' })
  const [crm] = await activityLog.select('crm_messages', { where: { source_id: res.body.results[0].id } })
  t.equal(crm?.content, 'Hi Contact, welcome aboard! Reply to this message any time you need help.', 'the default $FirstName param, resolved for the unified view')
  const [log] = await activityLog.select('whatsapp_logs', { where: { id: res.body.results[0].id } })
  t.same(log?.params, ['$FirstName'], 'AiSensy resolves $FirstName itself; the row keeps what was sent')

  // Its failed contacts, sent again on request: the two bad numbers fail again, in rows of their own.
  const retried = await call('POST', `/messages/bulk/${res.body.batch_id}/retry`)
  t.equal(retried.status, 202)
  t.match(retried.body, { batch_id: res.body.batch_id, status: 'running', total: 300, progress_url: `/api/automation/whatsapp/bulk/${res.body.batch_id}` })
  const ended = await eventually(async () => { const p = (await call('GET', `/messages/bulk/${res.body.batch_id}`)).body; return p.status !== 'running' && p }, 10_000)
  t.match(ended, { status: 'completed_with_errors', contacts: { sent: 298, failed: 2, unknown: 0 } })
  await activityLog.flush()
  t.equal(await activityLog.count('whatsapp_logs', { request_id: 'bulk-1', status: 'failed' }), 4, 'each retried contact wrote a row of its own')
  t.equal((await call('POST', '/messages/bulk/6f1c2b1e-8d4a-4b8e-9a57-0f6f3c2d1e00/retry')).body.code, 'WHATSAPP_BATCH_NOT_FOUND')
})

t.test('get_whatsapp_stats and get_templates', async t => {
  const { call, activityLog } = await startWhatsAppApp(t)
  const read = await call('POST', '/messages', send('+919000000004'))
  await call('POST', '/messages', send('+919000000001'))
  await call('POST', '/messages', { to_number: '+919000000003', template_name: 'welcome_message', params: ['Asha'] })
  await eventually(async () => (await activityLog.count('whatsapp_logs', { id: read.body.id, status: 'read' })) === 1 && (await activityLog.count('whatsapp_logs', { status: 'failed' })) === 2)
  const stats = await call('GET', '/stats')
  t.equal(stats.status, 200)
  t.match(stats.body, {
    total: 3,
    sent: 2,
    failed: 2,
    errors: 1,
    outcomes: { undelivered: 1 },
    delivered: 1,
    read: 1,
    success_rate: 0.6667,
    delivery_rate: 0.5,
    read_rate: 1,
    by_status: { read: 1, failed: 2 },
    by_mode: { mock: 3 },
    by_template: { order_confirmation: 2, welcome_message: 1 },
    last_24h: 3,
    campaigns: { total: 0, running: 0, completed: 0 }
  })
  t.type(stats.body.avg_latency_ms, 'number')

  const templates = await call('GET', '/templates')
  t.equal(templates.status, 200)
  t.equal(templates.body.source, 'configuration')
  t.match(templates.body.note, /AiSensy has no template-listing API/)
  t.same(templates.body.templates.map((x: { name: string, params: number }) => [x.name, x.params]), DEFAULT_TEMPLATES.map(x => [x.name, x.params]))
  t.match(templates.body.templates.find((x: { name: string }) => x.name === 'otp_verification'), { button: 'copy_code', category: 'AUTHENTICATION' })
  t.match(templates.body.templates.find((x: { name: string }) => x.name === 'appointment_reminder'), { header: 'image', button: null })
})

t.test('the status receiver: AiSensy notifications at the token URL apply, never backwards; a wrong token or a disallowed address changes nothing', async t => {
  const { call, activityLog } = await startWhatsAppApp(t)
  const sent = await call('POST', '/messages', send('+919000000004'))
  await eventually(async () => (await activityLog.count('whatsapp_logs', { id: sent.body.id, status: 'read' })) === 1)
  const messageId = sent.body.provider_message_id
  const failed = statusNotification(messageId, 'failed', { failureResponse: { code: 131026, title: 'Message undeliverable' } })
  const statusNow = async () => { await activityLog.flush(); return (await activityLog.select('whatsapp_logs', { where: { id: sent.body.id } }))[0]?.status }

  for (const path of ['/webhooks/aisensy/not-the-token', `/webhooks/aisensy/${WEBHOOK_TOKEN.slice(0, -1)}`, `/webhooks/aisensy/${WEBHOOK_TOKEN}x`]) {
    const refused = await call('POST', path, failed)
    t.equal(refused.status, 401, path)
    t.same(Object.keys(refused.body).sort(), ['code', 'error', 'message', 'requestId', 'statusCode'])
    t.match(refused.body, { code: 'WHATSAPP_WEBHOOK_UNAUTHORIZED', message: 'Unauthorized' })
  }
  t.equal((await call('POST', '/webhooks/aisensy', failed)).status, 404, 'no token, no route')
  t.equal(await statusNow(), 'read')

  const backwards = await call('POST', WEBHOOK_PATH, statusNotification(messageId, 'delivered', {}, 'late-delivered'))
  t.same(backwards.body, { received: 1, applied: 1, duplicate: 0, ignored: 0 })
  t.equal(await statusNow(), 'read', 'a late "delivered" never moves a read message back')

  const other = await call('POST', '/messages', send('+919000000002'))
  await eventually(async () => (await activityLog.count('whatsapp_logs', { id: other.body.id, status: 'sent' })) === 1)
  const failure = statusNotification(other.body.provider_message_id, 'FAILED', { failureResponse: { code: 131049, title: 'Not delivered to maintain healthy ecosystem engagement' } })
  const applied = await call('POST', WEBHOOK_PATH, failure)
  t.same(applied.body, { received: 1, applied: 1, duplicate: 0, ignored: 0 })
  await activityLog.flush()
  t.match((await activityLog.select('whatsapp_logs', { where: { id: other.body.id } }))[0], { status: 'failed', error: 'Not delivered to maintain healthy ecosystem engagement', error_code: '131049' })
  t.equal((await activityLog.select('crm_messages', { where: { source_id: other.body.id } }))[0]?.status, 'failed')
  const redelivered = await call('POST', WEBHOOK_PATH, { ...failure, delivery_attempt: '2' })
  t.same(redelivered.body, { received: 1, applied: 0, duplicate: 1, ignored: 0 }, 'the same notification again (AiSensy\'s retry) is acknowledged, not applied twice')

  const otherTopic = await call('POST', WEBHOOK_PATH, { id: 'c1', topic: 'contact.created', data: { contact: { phone_number: '919876543210' } } })
  t.same(otherTopic.body, { received: 1, applied: 0, duplicate: 0, ignored: 1 }, 'a topic the service does not use is acknowledged, so AiSensy does not retry it')
  const notJson = await call('POST', WEBHOOK_PATH, '"just a string"', { 'content-type': 'application/json' })
  t.equal(notJson.status, 400)
})

t.test('AISENSY_WEBHOOK_ALLOWED_IPS: a right token from another address is refused; X-Forwarded-For counts only from a trusted proxy', async t => {
  const { call, url, activityLog } = await startWhatsAppApp(t, { env: { AISENSY_WEBHOOK_ALLOWED_IPS: '203.0.113.0/24', AISENSY_WEBHOOK_URL: 'off' } })
  const sent = await call('POST', '/messages', send('+919876543210'))
  const delivered = statusNotification(sent.body.provider_message_id, 'delivered')
  t.equal((await call('POST', WEBHOOK_PATH, delivered)).status, 401, 'from 127.0.0.1, not on the list')
  const viaGateway = await call('POST', WEBHOOK_PATH, delivered, { 'x-forwarded-for': '203.0.113.9' })
  t.equal(viaGateway.status, 200, 'through a trusted proxy (127.0.0.1) that saw an allowed address')
  await activityLog.flush()
  t.equal((await activityLog.select('whatsapp_logs', { where: { id: sent.body.id } }))[0]?.status, 'delivered')
  // Another process on the gateway's machine (loopback, but without the internal credential the
  // gateway sends) cannot claim an allowed address.
  const read = statusNotification(sent.body.provider_message_id, 'read')
  const localProcess = await requestJson(`${url}${WEBHOOK_PATH}`, 'POST', read, { 'x-forwarded-for': '203.0.113.9' })
  t.equal(localProcess.status, 401, 'X-Forwarded-For from a local process without the internal credential is not believed')
  await activityLog.flush()
  t.equal((await activityLog.select('whatsapp_logs', { where: { id: sent.body.id } }))[0]?.status, 'delivered', 'the spoofed post changed nothing')

  const untrusting = await startWhatsAppApp(t, { env: { AISENSY_WEBHOOK_ALLOWED_IPS: '203.0.113.0/24', WHATSAPP_TRUSTED_PROXIES: '', AISENSY_WEBHOOK_URL: 'off' } })
  t.equal((await untrusting.call('POST', WEBHOOK_PATH, delivered, { 'x-forwarded-for': '203.0.113.9' })).status, 401, 'anyone can write X-Forwarded-For: believed only from a trusted proxy')
})

t.test('concurrent single sends: every reply comes after both its rows are stored', async t => {
  const { call, activityLog } = await startWhatsAppApp(t, { env: { AISENSY_WEBHOOK_URL: 'off' } })
  const stored = new Map<unknown, number>()
  const record = activityLog.record.bind(activityLog)
  activityLog.record = (table, row) => {
    const key = 'source_id' in row ? row.source_id : 'id' in row ? row.id : undefined
    return record(table, row).then(() => { stored.set(key, (stored.get(key) ?? 0) + 1) })
  }
  let before = 0
  const replies = await Promise.all(Array.from({ length: 40 }, (_v, i) => call('POST', '/messages', send(`+9198765${String(i).padStart(5, '0')}`)).then(r => {
    // Whatever else is in flight, this reply's whatsapp_logs and crm_messages rows are committed.
    if (stored.get(r.body.id) === 2) before++
    return r
  })))
  t.ok(replies.every(r => r.status === 202))
  t.equal(before, 40, 'every reply came after its rows were stored')
  t.equal(await activityLog.count('whatsapp_logs', { id: { in: replies.map(r => r.body.id) } }), 40)
  t.equal(await activityLog.count('crm_messages', { source_id: { in: replies.map(r => r.body.id) } }), 40)
})

t.test('a batch of notifications with several statuses for a message: it ends where they take it in ladder order, written once per table', async t => {
  // No project webhook: only the statuses posted here move the rows.
  const { call, activityLog } = await startWhatsAppApp(t, { env: { AISENSY_WEBHOOK_URL: 'off' } })
  const sends = await Promise.all(['+919876500001', '+919876500002', '+919876500003', '+919876500004', '+919876500005'].map(n => call('POST', '/messages', send(n))))
  const [m1, m2, m3, m4, m5] = sends.map(r => r.body.provider_message_id as string)
  const event = (id: string, status: string, error?: { code: number, title: string }) => statusNotification(id, status, error ? { failureResponse: error } : {}, `n_${id}_${status}_${error?.code ?? ''}`)
  const undeliverable = { code: 131026, title: 'Message undeliverable' }
  // An array of notifications: a replay of stored ones, applied as AiSensy's posts one by one would be.
  const body = [
    event(m1!, 'delivered'), event(m1!, 'sent'),
    event(m2!, 'failed', undeliverable), event(m2!, 'delivered'),
    event(m3!, 'sent'), event(m3!, 'failed', undeliverable),
    event(m4!, 'read'), event(m4!, 'failed', undeliverable),
    event(m5!, 'failed', undeliverable), event(m5!, 'failed', { code: 131049, title: 'Not delivered to maintain healthy ecosystem engagement' })
  ]
  const updates: Array<{ table: string, ids: readonly unknown[] }> = []
  const advance = activityLog.advance.bind(activityLog)
  activityLog.advance = (table, key, values, status, patch) => {
    updates.push({ table, ids: typeof values === 'string' ? [values] : values })
    return advance(table, key, values, status, patch)
  }
  const res = await call('POST', WEBHOOK_PATH, body)
  t.same(res.body, { received: 10, applied: 10, duplicate: 0, ignored: 0 })
  await activityLog.flush()
  const rows = await activityLog.select('whatsapp_logs', { where: { provider_message_id: { in: [m1!, m2!, m3!, m4!, m5!] } } })
  const row = (id: string) => rows.find(r => r.provider_message_id === id)
  t.equal(row(m1!)?.status, 'delivered', 'a late "sent" in the same post changes nothing')
  t.equal(row(m2!)?.status, 'delivered', 'delivered before failed in ladder order; failed no longer applies')
  t.match(row(m3!), { status: 'failed', error: 'Message undeliverable', error_code: '131026' }, 'sent then failed is failed')
  t.equal(row(m4!)?.status, 'read')
  t.match(row(m5!), { status: 'failed', error_code: '131026' }, 'the first failure wins')
  const crm = await activityLog.select('crm_messages', { where: { provider_message_id: { in: [m1!, m2!, m3!, m4!, m5!] } } })
  t.same(crm.map(r => [r.provider_message_id, r.status]).sort(), rows.map(r => [r.provider_message_id, r.status]).sort(), 'the unified rows follow')
  for (const table of ['whatsapp_logs', 'crm_messages']) {
    const ids = updates.filter(u => u.table === table).flatMap(u => u.ids)
    t.same([...ids].sort(), [m1, m2, m3, m4, m5].sort(), `${table}: each message in one update`)
  }
})

t.test('the switch: live mode without a key is a clear 503 naming the variable, and writes no row', async t => {
  const { call, runtime, activityLog } = await startWhatsAppApp(t)
  await runtime.update('whatsapp', { mode: 'live' }, 'test')
  for (const [path, body] of [['/messages', send('+919876543210')], ['/messages/bulk', { template_name: 'welcome_message', contacts: [{ to_number: '+919876543210' }] }], ['/campaigns', { name: 'c', template_name: 'welcome_message', contacts: [{ to_number: '+919876543210' }] }]] as const) {
    const res = await call('POST', path, body)
    t.equal(res.status, 503, path)
    t.equal(res.body.code, 'PROVIDER_NOT_CONFIGURED')
    t.match(res.body.message, /AiSensy is in live mode but AISENSY_API_KEY is not set/)
  }
  const ready = await call('GET', '/ready')
  t.equal(ready.status, 503)
  t.match(ready.body.checks.provider, { ok: false, message: /AISENSY_API_KEY/ })
  await activityLog.flush()
  t.equal(await activityLog.count('whatsapp_logs'), 0)
  t.equal(await activityLog.count('whatsapp_campaigns'), 0)
})

t.test('the switch: live mode talks to the configured AiSensy with the real key, same code path', async t => {
  // A second emulator stands in for backend.aisensy.com.
  const realAiSensy = await startWhatsAppApp(t)
  const liveKey = 'eyJhbGciOiJIUzI1NiJ9.eyJpZCI6ImxpdmUifQ.bGl2ZS1zaWduYXR1cmU'
  const { call, runtime, activityLog } = await startWhatsAppApp(t, { env: { AISENSY_API_KEY: liveKey, AISENSY_BASE_URL: `${realAiSensy.url}/aisensy` } })
  await runtime.update('whatsapp', { mode: 'live' }, 'test')
  const res = await call('POST', '/messages', send('+919876543210'))
  t.equal(res.status, 202)
  t.equal(res.body.mode, 'live')
  await activityLog.flush()
  t.equal((await activityLog.select('whatsapp_logs', { where: { id: res.body.id } }))[0]?.mode, 'live')
  t.equal((await activityLog.select('crm_messages', { where: { source_id: res.body.id } }))[0]?.mode, 'live')
  const refused = await call('POST', '/messages', send('+919000000001'))
  t.equal(refused.status, 422, 'the "real" provider\'s refusal comes back the same way')

  const badKey = await startWhatsAppApp(t, { env: { AISENSY_API_KEY: 'not-a-key', AISENSY_BASE_URL: `${realAiSensy.url}/aisensy` } })
  await badKey.runtime.update('whatsapp', { mode: 'live' }, 'test')
  const auth = await badKey.call('POST', '/messages', send('+919876543210'))
  t.equal(auth.status, 502)
  t.match(auth.body, { code: 'WHATSAPP_PROVIDER_AUTH_FAILED', message: /AiSensy refused our credentials \(HTTP 401\): Invalid API Key\. Check AISENSY_API_KEY\./ })
  t.notMatch(JSON.stringify(auth.body), 'not-a-key', 'the key is never echoed')
})

t.test('fallback: with live AiSensy unreachable, sends go to the emulator and rows say so', async t => {
  const liveKey = 'eyJhbGciOiJIUzI1NiJ9.eyJpZCI6ImxpdmUifQ.bGl2ZS1zaWduYXR1cmU'
  const { call, runtime, activityLog } = await startWhatsAppApp(t, { env: { AISENSY_API_KEY: liveKey, AISENSY_BASE_URL: 'http://127.0.0.1:9/unreachable' } })
  await runtime.update('whatsapp', { mode: 'live' }, 'test')
  const down = await call('POST', '/messages', send('+919876543210'))
  t.equal(down.status, 503, 'without fallback the outage is the caller\'s answer')
  t.equal(down.body.code, 'WHATSAPP_PROVIDER_UNREACHABLE')
  await activityLog.flush()
  t.match((await activityLog.select('whatsapp_logs', { where: { id: down.body.details.id } }))[0], { mode: 'live', status: 'failed', error_code: 'unreachable' })

  await runtime.update('whatsapp', { fallback: true }, 'test')
  const res = await call('POST', '/messages', send('+919000000004'))
  t.equal(res.status, 202)
  t.equal(res.body.mode, 'mock')
  await activityLog.flush()
  t.match((await activityLog.select('whatsapp_logs', { where: { id: res.body.id } }))[0], { mode: 'mock', fallback: true, status: String })
  t.equal((await activityLog.select('crm_messages', { where: { source_id: res.body.id } }))[0]?.mode, 'mock')
  await eventually(async () => (await activityLog.count('whatsapp_logs', { id: res.body.id, status: 'read' })) === 1)
  const refused = await call('POST', '/messages', send('+919000000001'))
  t.equal(refused.status, 422, 'failed over, then refused by the emulator')
  await activityLog.flush()
  t.match((await activityLog.select('whatsapp_logs', { where: { id: refused.body.details.id } }))[0], { mode: 'mock', fallback: true, status: 'failed', error: 'Invalid Number' })

  const status = await call('GET', '/admin/status')
  t.match(status.body, { service: 'whatsapp', provider: 'AiSensy', mode: 'live', fallback: true, missing: [], credentials: [{ variable: 'AISENSY_API_KEY', configured: true, display: 'ey****1cmU' }] })
  t.notMatch(JSON.stringify(status.body), liveKey, 'the key itself is never shown')
})

t.test('POST /admin/reset drops the emulator\'s pending status changes', async t => {
  const { call, activityLog } = await startWhatsAppApp(t, { env: { AISENSY_STATUS_GAP_MS: '400-400' } })
  const res = await call('POST', '/messages', send('+919000000004'))
  const reset = await call('POST', '/admin/reset')
  t.match(reset.body, { service: 'whatsapp', reset: 1 })
  await new Promise(resolve => setTimeout(resolve, 1000))
  await activityLog.flush()
  t.equal((await activityLog.select('whatsapp_logs', { where: { id: res.body.id } }))[0]?.status, 'submitted', 'no status arrived after the reset')
})

t.test('at debug level every emulated AiSensy call is logged with the [MOCK MODE] marker', async t => {
  const { Writable } = await import('node:stream')
  const lines: string[] = []
  const sink = new Writable({ write (chunk, _enc, cb) { lines.push(String(chunk)); cb() } })
  const { createTestInfrastructure, internalHeaders } = await import('@switchboard/service-kit/testing')
  const { buildApp } = await import('../src/app.ts')
  const { loadWhatsAppEnv } = await import('../src/config.ts')
  const infra = await createTestInfrastructure(t)
  const app = await buildApp({ env: loadWhatsAppEnv({ WHATSAPP_PORT: '0', SWITCHBOARD_DATA_DIR: infra.dataDir }), shared: infra, logger: { level: 'debug', stream: sink } })
  infra.closeWithInfrastructure(app)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { request } = await import('undici')
  const res = await request(`${app.selfBaseUrl()}/messages`, { method: 'POST', headers: { 'content-type': 'application/json', ...internalHeaders() }, body: JSON.stringify(send('+919876543210')) })
  t.equal(res.statusCode, 202)
  await res.body.dump()
  t.ok(lines.some(l => l.includes('[MOCK MODE] AiSensy emulator POST /aisensy/campaign/t1/api/v2 → 200')), 'the emulated send is logged')
  t.notOk(lines.some(l => l.includes('eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9')), 'the apiKey in the body is never logged')
})

t.test('inbound replies: magic number +919000000009 answers on its own; the reply is stored in crm_messages as inbound and listed by the API', async t => {
  const { call, activityLog } = await startWhatsAppApp(t)
  const sent = await call('POST', '/messages', send('+919000000009'))
  t.equal(sent.status, 202)
  const reply = await eventually(async () => {
    const res = await call('GET', '/inbound?contact=9000000009')
    return res.body.items?.length === 1 && res.body.items[0]
  })
  t.match(reply, { channel: 'whatsapp', direction: 'inbound', contact: '+919000000009', contact_name: 'Asha', content: 'Yes, please go ahead.', status: 'received', mode: 'mock', provider_message_id: String })
  // The reply is posted after the read status; statuses are written in 100 ms windows, so the row may catch up just after.
  await eventually(async () => (await activityLog.count('whatsapp_logs', { id: sent.body.id, status: 'read' })) === 1)
  t.equal(await activityLog.count('crm_messages', { direction: 'inbound' }), 1, 'one inbound row')
  t.same((await call('GET', '/inbound?contact=%2B919876543210')).body, { items: [] }, 'filtered by sender')
  t.equal((await call('GET', '/inbound?contact=abc')).status, 400)
  t.equal((await call('GET', '/inbound?limit=0')).status, 400)
})

t.test('inbound messages: the admin route delivers through the token URL; a redelivery is one row; live mode refuses the simulation', async t => {
  const { call, activityLog, runtime } = await startWhatsAppApp(t)
  const simulated = await call('POST', '/admin/inbound', { from: '+91 98765 43210', text: 'Is my order shipped?' })
  t.equal(simulated.status, 202)
  const row = await eventually(async () => (await call('GET', '/inbound')).body.items?.[0])
  t.match(row, { contact: '+919876543210', contact_name: null, content: 'Is my order shipped?', provider_message_id: simulated.body.provider_message_id })

  // AiSensy retries a notification it thinks failed: the same message id is the same row.
  const again = { id: 'another-notification-id', topic: 'message.sender.user', data: { message: { id: simulated.body.provider_message_id, phone_number: '919876543210', message_content: { text: 'Is my order shipped?' } } } }
  t.match((await call('POST', WEBHOOK_PATH, again)).body, { applied: 1 })
  await activityLog.flush()
  t.equal(await activityLog.count('crm_messages', { direction: 'inbound' }), 1, 'still one row')

  const missing = await call('POST', '/admin/inbound', { text: 'no sender' })
  t.equal(missing.status, 400)
  t.match(missing.body.message, /from/)
  await runtime.update('whatsapp', { mode: 'live' }, 'test')
  const live = await call('POST', '/admin/inbound', { from: '+919876543210', text: 'x' })
  t.same([live.status, live.body.code], [409, 'WHATSAPP_MOCK_ONLY'])
})

t.test('a live send without a contact name: userName is WHATSAPP_DEFAULT_CONTACT_NAME ("Customer" unless set), also $FirstName\'s fallback', async t => {
  const liveKey = 'eyJhbGciOiJIUzI1NiJ9.eyJpZCI6ImxpdmUifQ.bGl2ZS1zaWduYXR1cmU'
  // A recording server stands in for backend.aisensy.com: what the service really sends.
  const aisensy = await startRecorder(t, (_request, res) => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify({ success: 'true', submitted_message_id: randomUUID() })) })
  for (const [env, expected] of [[{}, 'Customer'], [{ WHATSAPP_DEFAULT_CONTACT_NAME: 'Friend' }, 'Friend']] as const) {
    const { call, runtime, activityLog } = await startWhatsAppApp(t, { env: { AISENSY_API_KEY: liveKey, AISENSY_BASE_URL: aisensy.origin, ...env } })
    await runtime.update('whatsapp', { mode: 'live' }, 'test')
    const res = await call('POST', '/messages', { to_number: '+919876543210', template_name: 'welcome_message', params: ['$FirstName'] })
    t.equal(res.status, 202)
    const body = JSON.parse(aisensy.received.at(-1)!.body)
    t.equal(body.userName, expected, `userName ${expected}`)
    t.same(body.paramsFallbackValue, { FirstName: expected })
    await activityLog.flush()
    t.match((await activityLog.select('crm_messages', { where: { source_id: res.body.id } }))[0]?.content, new RegExp(`^Hi ${expected},`), 'the unified view resolves $FirstName the same way')
  }
})
