import t from 'tap'
import { jsonCaller } from '@switchboard/service-kit/testing'
import { auth, eventually, startEmailApp } from './helper.ts'

const send = (to: string, extra: Record<string, unknown> = {}) => ({ to_email: to, subject: 'Welcome', content: '<p>Hello</p>', ...extra })

t.test('send_email: 202, one email_logs row in mock mode, then delivered through signed events', async t => {
  const { call, activityLog } = await startEmailApp(t)
  const res = await call('POST', '/emails', send('deliver@example.com'), { 'x-request-id': 'req-123' })
  t.equal(res.status, 202)
  t.match(res.body, { success: true, status: 'sent', mode: 'mock', provider_message_id: /^[\w-]{22}$/ })
  const row = await eventually(async () => (await activityLog.select('email_logs', { where: { id: res.body.id } }))[0])
  t.match(row, { to_email: 'deliver@example.com', subject: 'Welcome', mode: 'mock', request_id: 'req-123', provider_message_id: res.body.provider_message_id })
  const delivered = await eventually(async () => (await activityLog.select('email_logs', { where: { id: res.body.id, status: 'delivered' } }))[0])
  t.ok(delivered, 'the Event Webhook moved the row to delivered')
  const viaApi = await call('GET', `/emails/${res.body.id}`)
  t.equal(viaApi.body.status, 'delivered')
})

t.test('magic recipients: bounce ends bounced, reject is refused and logged as failed', async t => {
  const { call, activityLog } = await startEmailApp(t)
  const bounced = await call('POST', '/emails', send('bounce@example.com'))
  t.equal(bounced.status, 202)
  await eventually(async () => (await activityLog.select('email_logs', { where: { id: bounced.body.id, status: 'bounced' } }))[0])

  const rejected = await call('POST', '/emails', send('reject@example.com'))
  t.equal(rejected.status, 422)
  t.match(rejected.body, { code: 'EMAIL_PROVIDER_REJECTED', message: /SendGrid rejected the request: Does not contain a valid address\./, requestId: String })
  const [row] = await activityLog.select('email_logs', { where: { id: rejected.body.details.id } })
  t.match(row, { status: 'failed', to_email: 'reject@example.com', error_code: 'rejected' })
})

t.test('an unverified sender: SendGrid\'s 403 is the request\'s fault (422 naming the sender), not the API key\'s', async t => {
  const { call, activityLog } = await startEmailApp(t)
  const res = await call('POST', '/emails', send('someone@example.com', { from_email: 'unverified@example.com' }))
  t.equal(res.status, 422, 'refused like a bad recipient, not a 502 about our credentials')
  t.equal(res.body.code, 'EMAIL_PROVIDER_REJECTED')
  t.match(res.body.message, /SendGrid rejected the request: The from address does not match a verified Sender Identity.*\(from\)/)
  t.notMatch(res.body.message, /SENDGRID_API_KEY|credentials/, 'no advice to check a key that is not the problem')
  t.equal(res.body.details.provider.statusCode, 403, 'SendGrid\'s own answer is in the details')
  const [row] = await activityLog.select('email_logs', { where: { id: res.body.details.id } })
  t.match(row, { status: 'failed', error_code: 'rejected' })

  const bulk = await call('POST', '/emails/batch', { email_list: [send('a@example.com'), send('b@example.com')], from_email: 'unverified@example.com' })
  t.equal(bulk.status, 200)
  t.match(bulk.body, { total: 2, accepted: 0, failed: 2 }, 'in a bulk send too, every recipient fails with SendGrid\'s reason')
  t.match(bulk.body.failures[0].error, /verified Sender Identity/)
})

t.test('a direct send (not through Switchboard) cannot move a row by naming its sb_log_id', async t => {
  const { call, activityLog, url } = await startEmailApp(t)
  const victim = await call('POST', '/emails', send('deliver@example.com'))
  await eventually(async () => (await activityLog.select('email_logs', { where: { id: victim.body.id, status: 'delivered' } }))[0])
  // An SDK or curl with any SG. key, straight to the emulator: a spam report that names the victim's row.
  const direct = jsonCaller(url)
  const forged = await direct('POST', '/sendgrid/v3/mail/send', {
    personalizations: [{ to: [{ email: 'spam@example.com' }], custom_args: { sb_log_id: victim.body.id } }],
    from: { email: 'noreply@example.com' },
    subject: 'Forged',
    content: [{ type: 'text/plain', value: 'x' }]
  }, auth)
  t.equal(forged.status, 202, 'SendGrid takes the mail')
  // Its own events come (the receiver's exchanges show the spam report), without the row's id.
  const report = await eventually(async () => (await activityLog.select('activity_exchanges', { where: { kind: 'webhook', channel: 'email' } }))
    .find(e => JSON.stringify(e.request).includes('spamreport') && JSON.stringify(e.request).includes(String(forged.headers['x-message-id']))))
  t.notOk(JSON.stringify(report.request).includes(victim.body.id), 'the spam report was posted without the victim\'s sb_log_id')
  t.equal((await activityLog.select('email_logs', { where: { id: victim.body.id } }))[0]?.status, 'delivered', 'the victim\'s row is still delivered')
})

t.test('a simulated failure is a SendGrid error, handled by the client and logged as failed', async t => {
  const { call, activityLog } = await startEmailApp(t)
  const res = await call('POST', '/emails', send('someone@example.com'), { 'x-switchboard-outcome': 'failure' })
  t.equal(res.status, 502)
  t.equal(res.body.code, 'EMAIL_PROVIDER_ERROR')
  t.match(res.body.message, /SendGrid answered HTTP 503/)
  const [row] = await activityLog.select('email_logs', { where: { id: res.body.details.id } })
  t.equal(row?.status, 'failed')

  const limited = await call('POST', '/emails', send('someone@example.com'), { 'x-switchboard-outcome': 'rate_limited' })
  t.equal(limited.status, 429)
  t.equal(limited.body.code, 'EMAIL_PROVIDER_RATE_LIMITED')
  t.equal(limited.headers['retry-after'], '1')
})

t.test('bad input is a 400 that names the field, and writes no row', async t => {
  const { call, activityLog } = await startEmailApp(t)
  const cases: Array<[unknown, RegExp]> = [
    [{ subject: 's', content: 'c' }, /to_email/],
    [send('not-an-email'), /to_email/],
    [send('a@example.com', { subject: '' }), /subject/],
    [send('a@example.com', { surprise: 1 }), /additional properties/],
    [{ email_list: 'nope' }, /to_email/]
  ]
  for (const [body, field] of cases) {
    const res = await call('POST', '/emails', body)
    t.equal(res.status, 400, JSON.stringify(body))
    t.equal(res.body.code, 'EMAIL_INVALID_REQUEST')
    t.match(res.body.message, field)
  }
  const badJson = await call('POST', '/emails', '{"to_email":', { 'content-type': 'application/json' })
  t.equal(badJson.status, 400)
  t.equal(badJson.body.code, 'EMAIL_INVALID_JSON')
  for (const poisoned of ['{"to_email":"a@example.com","subject":"s","content":"c","__proto__":{"x":1}}', '{"to_email":"a@example.com","constructor":{"prototype":{"x":1}}}']) {
    const refused = await call('POST', '/emails', poisoned, { 'content-type': 'application/json' })
    t.same([refused.status, refused.body.code], [400, 'EMAIL_INVALID_JSON'])
    t.match(refused.body.message, /valid JSON but has a "__proto__" or "constructor\.prototype" key/, 'not called a syntax error: the key is named')
  }
  const wrongType = await call('POST', '/emails', '<to_email/>', { 'content-type': 'application/xml' })
  t.equal(wrongType.status, 415)
  await activityLog.flush()
  t.equal(await activityLog.count('email_logs'), 0)
})

t.test('send_bulk_emails: 2,500 recipients in 3 concurrent requests, one row each, bad address taken out', async t => {
  const { call, activityLog } = await startEmailApp(t, { simulation: { latencyMs: { min: 1500, max: 1500 } }, env: { BULK_WAIT_MS: '60000' } })
  const email_list = Array.from({ length: 2500 }, (_v, i) => ({ to_email: i === 1234 ? 'reject@example.com' : `user${i}@example.com`, subject: `Hi ${i}`, content: 'Same body for all' }))
  const started = Date.now()
  const res = await call('POST', '/emails/batch', { email_list })
  const elapsed = Date.now() - started
  t.equal(res.status, 200)
  t.match(res.body, { total: 2500, accepted: 2499, failed: 1, failures: [{ to_email: 'reject@example.com' }] })
  t.equal(res.body.requests, 4, '3 chunks, plus one resend of the chunk with the refused address')
  // One after the other, the 4 requests would take 6 s; concurrently, two rounds (3 s) plus the job's database round trips.
  t.ok(elapsed < 6000, `concurrent, not sequential (${elapsed} ms for 4 requests of 1,500 ms)`)
  await activityLog.flush()
  t.equal(await activityLog.count('email_logs', { batch_id: res.body.batch_id }), 2500)
  t.equal(await activityLog.count('email_logs', { batch_id: res.body.batch_id, status: 'failed' }), 1)
})

t.test('send_bulk_emails: 2,500 bodies of their own go out in 3 requests, each recipient\'s body in its substitutions', async t => {
  const { call, activityLog } = await startEmailApp(t)
  const body = (i: number) => `<p>Hello ${i}, your order ${i * 7} has shipped.</p>`
  const email_list = Array.from({ length: 2500 }, (_v, i) => ({ to_email: `user${i}@example.com`, subject: `Order ${i}`, content: body(i) }))
  const res = await call('POST', '/emails/batch', { email_list })
  t.equal(res.status, 200)
  t.match(res.body, { total: 2500, accepted: 2500, failed: 0, requests: 3 })
  await activityLog.flush()
  const rows = await activityLog.select('email_logs', { where: { batch_id: res.body.batch_id }, limit: 3000 })
  const recipientOf = new Map(rows.map(r => [String(r.id), Number(/^user(\d+)@/.exec(String(r.to_email))![1])]))
  // What SendGrid (its emulator) received: three requests whose personalizations carry the bodies.
  const exchanges = await activityLog.select('activity_exchanges', { where: { channel: 'email', kind: 'provider' }, limit: 10 })
  const sends = exchanges.filter(e => String(e.path).endsWith('/v3/mail/send'))
    .map(e => (e.request as { body: unknown }).body as { content: Array<{ value: string }>, personalizations: Array<{ subject: string, substitutions?: Record<string, string>, custom_args: { sb_log_id: string } }> })
  t.equal(sends.length, 3)
  let checked = 0
  for (const sent of sends) {
    const [tag] = Object.keys(sent.personalizations[0]!.substitutions ?? {})
    t.same(sent.content.map(c => c.value), [tag], 'the content is the substitution tag')
    for (const p of sent.personalizations) {
      const i = recipientOf.get(p.custom_args.sb_log_id)!
      if (p.substitutions?.[tag!] === body(i) && p.subject === `Order ${i}`) checked++
    }
  }
  t.equal(checked, 2500, 'every recipient got their own body and subject')
})

t.test('a bulk send\'s failed recipients are sent again on request, each with a row of its own', async t => {
  // One recipient per request (different bodies, packing off): a lost draw is SendGrid's 503, a failed recipient.
  const { call, activityLog, runtime } = await startEmailApp(t, { simulation: { successRate: 0.5, seed: 11 }, env: { EMAIL_BULK_SUBSTITUTIONS: 'false' } })
  const email_list = Array.from({ length: 40 }, (_v, i) => ({ to_email: `user${i}@example.com`, subject: `Hi ${i}`, content: `<p>Body ${i}</p>` }))
  const first = await call('POST', '/emails/batch', { email_list })
  t.equal(first.status, 200)
  t.ok(first.body.failed > 5 && first.body.failed < 35, `about half failed (${first.body.failed} of 40)`)
  await runtime.update('email', { simulation: { successRate: 1 } }, 'test')
  const before = (await call('GET', `/emails/batch/${first.body.batch_id}`)).body
  t.equal(before.problems.length, first.body.failed, 'the progress lists the recipients that failed')
  t.match(before.problems[0], { contact: /^user\d+@example\.com$/, state: 'failed', reason: String }, 'each with why')

  const retried = await call('POST', `/emails/batch/${first.body.batch_id}/retry`)
  t.equal(retried.status, 202)
  t.match(retried.body, { batch_id: first.body.batch_id, status: 'running', total: 40 })
  const done = await eventually(async () => {
    const p = (await call('GET', `/emails/batch/${first.body.batch_id}`)).body
    return p.status !== 'running' && p
  }, 10_000)
  t.match(done, { status: 'completed', contacts: { sent: 40, failed: 0, unknown: 0 } }, 'every recipient sent after the retry')
  t.notOk('problems' in done, 'and no problems listed any more')
  await activityLog.flush()
  const rows = await activityLog.select('email_logs', { where: { batch_id: first.body.batch_id }, limit: 100 })
  t.equal(rows.length, 40 + first.body.failed, 'the failed attempts keep their rows; each retried recipient has a new one')
  t.equal(rows.filter(r => r.status !== 'failed').length, 40)
  t.equal((await call('POST', '/emails/batch/6f1c2b1e-8d4a-4b8e-9a57-0f6f3c2d1e00/retry')).body.code, 'EMAIL_BATCH_NOT_FOUND')
})

t.test('a bulk whose progress cannot be read once it is stored (the database gone) answers 202 with its id, never a 5xx to send again', async t => {
  const { call, activityLog } = await startEmailApp(t)
  const rpc = activityLog.rpc.bind(activityLog)
  let away = true
  activityLog.rpc = (async (fn: string, args?: Record<string, unknown>, options?: { flush?: boolean }) => {
    if (away && (fn === 'job_progress' || fn === 'job_results')) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })
    return await rpc(fn, args, options)
  }) as typeof activityLog.rpc
  const email_list = Array.from({ length: 30 }, (_v, i) => ({ to_email: `user${i}@example.com`, subject: `Hi ${i}`, content: `<p>Body ${i}</p>` }))
  const res = await call('POST', '/emails/batch', { email_list })
  t.equal(res.status, 202, 'before: 503 "retry in 5 s", and a client without a key sent everyone the mail twice')
  t.match(res.body, { batch_id: String, status: 'running', total: 30, progress_url: `/api/automation/email/batch/${res.body.batch_id}` })
  away = false
  const done = await eventually(async () => { const p = (await call('GET', `/emails/batch/${res.body.batch_id}`)).body; return p.status === 'completed' && p }, 10_000)
  t.match(done, { total: 30, contacts: { sent: 30 } }, 'the stored bulk went on and ended')
})

t.test('a retry sends under its own request\'s conditions: a failure the first request forced is not forced again', async t => {
  const { call } = await startEmailApp(t)
  const email_list = Array.from({ length: 5 }, (_v, i) => ({ to_email: `user${i}@example.com`, subject: 'Hi', content: 'Same' }))
  const first = await call('POST', '/emails/batch', { email_list }, { 'x-switchboard-outcome': 'failure' })
  t.match(first.body, { total: 5, failed: 5 }, 'the forced failure')
  const retried = await call('POST', `/emails/batch/${first.body.batch_id}/retry`)
  t.equal(retried.status, 202)
  const done = await eventually(async () => { const p = (await call('GET', `/emails/batch/${first.body.batch_id}`)).body; return p.status !== 'running' && p }, 10_000)
  t.match(done, { status: 'completed', contacts: { sent: 5, failed: 0 } }, 'sent by the retry (before, the stored header failed every retry again)')
})

t.test('bulk at a 0.5 success rate: recipients fail individually through bounce events', async t => {
  const { call, activityLog } = await startEmailApp(t, { simulation: { successRate: 0.5, seed: 7 } })
  const email_list = Array.from({ length: 400 }, (_v, i) => ({ to_email: `user${i}@example.com`, subject: 's', content: 'c' }))
  const res = await call('POST', '/emails/batch', { email_list })
  t.equal(res.body.accepted, 400)
  const bounced = await eventually(async () => {
    await activityLog.flush()
    const n = await activityLog.count('email_logs', { batch_id: res.body.batch_id, status: 'bounced' })
    const d = await activityLog.count('email_logs', { batch_id: res.body.batch_id, status: 'delivered' })
    return n + d === 400 ? n : undefined
  })
  t.ok(bounced > 120 && bounced < 280, `about half bounced (${bounced} of 400)`)
})

t.test('get_email_stats counts statuses, modes and the success rate; a bounce is an outcome, not an error', async t => {
  const { call, activityLog } = await startEmailApp(t)
  await call('POST', '/emails', send('deliver@example.com'))
  await call('POST', '/emails', send('reject@example.com'))
  await call('POST', '/emails', send('bounce@example.com'))
  await call('POST', '/emails', send('drop@example.com'))
  await eventually(async () => (await activityLog.count('email_logs', { status: { in: ['delivered', 'bounced', 'dropped'] } })) === 3)
  const stats = await call('GET', '/emails/stats')
  t.equal(stats.status, 200)
  t.match(stats.body, { total: 4, failed: 3, errors: 1, outcomes: { bounced: 1, dropped: 1 }, delivered: 1, sent: 3, success_rate: 0.75, by_mode: { mock: 4 }, by_status: { delivered: 1, failed: 1, bounced: 1, dropped: 1 }, last_24h: 4 })
  t.type(stats.body.avg_latency_ms, 'number')
})

t.test('the event receiver refuses unsigned, tampered and stale posts and changes nothing', async t => {
  const { call, activityLog } = await startEmailApp(t)
  const sent = await call('POST', '/emails', send('someone@example.com'), { 'x-switchboard-outcome': 'success' })
  await eventually(async () => (await activityLog.count('email_logs', { id: sent.body.id, status: 'delivered' })) === 1)
  const forged = `[{"email":"someone@example.com","event":"bounce","sb_log_id":"${sent.body.id}","timestamp":1}]\r\n`
  const unsigned = await call('POST', '/webhooks/sendgrid', forged)
  t.equal(unsigned.status, 401)
  t.same(Object.keys(unsigned.body).sort(), ['code', 'error', 'message', 'requestId', 'statusCode'])
  t.equal(unsigned.body.message, 'Unauthorized')
  const now = String(Math.floor(Date.now() / 1000))
  const badSig = await call('POST', '/webhooks/sendgrid', forged, { 'content-type': 'application/json', 'x-twilio-email-event-webhook-signature': 'MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0=', 'x-twilio-email-event-webhook-timestamp': now })
  t.equal(badSig.status, 401)
  const stale = await call('POST', '/webhooks/sendgrid', forged, { 'content-type': 'application/json', 'x-twilio-email-event-webhook-signature': 'x', 'x-twilio-email-event-webhook-timestamp': '1600000000' })
  t.equal(stale.status, 401)
  await activityLog.flush()
  t.equal((await activityLog.select('email_logs', { where: { id: sent.body.id } }))[0]?.status, 'delivered')
})

t.test('validate_email_template returns errors, warnings and placeholders', async t => {
  const { call } = await startEmailApp(t)
  const ok = await call('POST', '/emails/templates/validate', { template_data: { subject: 'Hi {{first_name}}', html: '<p>Hello {{first_name}}, <a href="{{unsubscribe}}">unsubscribe</a></p>', text: 'Hello {{first_name}}', data: { first_name: 'Asha', unsubscribe: 'x' } } })
  t.same(ok.body, { valid: true, errors: [], warnings: [], placeholders: ['first_name', 'unsubscribe'], size_bytes: ok.body.size_bytes })
  const bad = await call('POST', '/emails/templates/validate', { template_data: { html: 'Hi {{name}, {{#each items}}x', data: {} } })
  t.equal(bad.body.valid, false)
  t.match(bad.body.errors, [{ field: 'subject' }])
  t.ok(bad.body.errors.some((e: { message: string }) => /never closed/.test(e.message)), 'unclosed braces or blocks are errors')
  t.ok(bad.body.warnings.some((w: { field: string }) => w.field === 'text'), 'no plain-text part is a warning')
})

t.test('the switch: live mode without a key is a clear 503 naming the variable', async t => {
  const { call, runtime } = await startEmailApp(t)
  await runtime.update('email', { mode: 'live' }, 'test')
  const res = await call('POST', '/emails', send('a@example.com'))
  t.equal(res.status, 503)
  t.equal(res.body.code, 'PROVIDER_NOT_CONFIGURED')
  t.match(res.body.message, /SENDGRID_API_KEY/)
  const ready = await call('GET', '/ready')
  t.equal(ready.status, 503)
  t.match(ready.body.checks.provider, { ok: false, message: /SENDGRID_API_KEY/ })
})

t.test('the switch: live mode talks to the configured SendGrid with the real key, same code path', async t => {
  // A second emulator stands in for api.sendgrid.com.
  const realSendGrid = await startEmailApp(t)
  const { call, runtime, activityLog } = await startEmailApp(t, { env: { SENDGRID_API_KEY: 'SG.live-key.abcdefghijk', SENDGRID_BASE_URL: `${realSendGrid.url}/sendgrid` } })
  await runtime.update('email', { mode: 'live' }, 'test')
  const res = await call('POST', '/emails', send('deliver@example.com'))
  t.equal(res.status, 202)
  t.equal(res.body.mode, 'live')
  await activityLog.flush()
  t.equal((await activityLog.select('email_logs', { where: { id: res.body.id } }))[0]?.mode, 'live')
  const today = new Date().toISOString().slice(0, 10)
  const seen = await realSendGrid.call('GET', `/sendgrid/v3/stats?start_date=${today}`, undefined, { authorization: 'Bearer SG.x.y' })
  t.equal(seen.body[0].stats[0].metrics.requests, 1, 'the "real" provider received the mail')
})

t.test('fallback: with live SendGrid unreachable, sends go to the emulator and rows say so', async t => {
  const { call, runtime, activityLog } = await startEmailApp(t, { env: { SENDGRID_API_KEY: 'SG.live-key.abcdefghijk', SENDGRID_BASE_URL: 'http://127.0.0.1:9/unreachable' } })
  await runtime.update('email', { mode: 'live' }, 'test')
  const down = await call('POST', '/emails', send('a@example.com'))
  t.equal(down.status, 503, 'without fallback the outage is the caller\'s answer')
  t.equal(down.body.code, 'EMAIL_PROVIDER_UNREACHABLE')

  await runtime.update('email', { fallback: true }, 'test')
  const res = await call('POST', '/emails', send('deliver@example.com'))
  t.equal(res.status, 202)
  t.equal(res.body.mode, 'mock')
  await activityLog.flush()
  t.match((await activityLog.select('email_logs', { where: { id: res.body.id } }))[0], { mode: 'mock', fallback: true, status: 'sent' })
  const status = await call('GET', '/admin/status')
  t.match(status.body, { mode: 'live', fallback: true, missing: [], credentials: [{ variable: 'SENDGRID_API_KEY', configured: true, display: 'SG.****hijk' }] })
})

t.test('at debug level every mock action is logged with the [MOCK MODE] marker', async t => {
  const { Writable } = await import('node:stream')
  const lines: string[] = []
  const sink = new Writable({ write (chunk, _enc, cb) { lines.push(String(chunk)); cb() } })
  const { createTestInfrastructure, internalHeaders } = await import('@switchboard/service-kit/testing')
  const { buildApp } = await import('../src/app.ts')
  const { loadEmailEnv } = await import('../src/config.ts')
  const infra = await createTestInfrastructure(t)
  const app = await buildApp({ env: loadEmailEnv({ EMAIL_PORT: '0', SWITCHBOARD_DATA_DIR: infra.dataDir }), shared: infra, logger: { level: 'debug', stream: sink } })
  infra.closeWithInfrastructure(app)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { request } = await import('undici')
  const res = await request(`${app.selfBaseUrl()}/emails`, { method: 'POST', headers: { 'content-type': 'application/json', ...internalHeaders() }, body: JSON.stringify(send('deliver@example.com')) })
  t.equal(res.statusCode, 202)
  await res.body.dump()
  t.ok(lines.some(l => l.includes('[MOCK MODE] SendGrid emulator POST /sendgrid/v3/mail/send → 202')), 'the emulated send is logged')
})
