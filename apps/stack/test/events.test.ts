/**
 * Events to the team's app, through the gateway as a team would use them: register an endpoint
 * (a listener in this test), drive an email to delivered, a payment to paid, a call to completed
 * and a Zoom meeting to ended, and receive one event for each, verified with the official
 * `standardwebhooks` package. A failing endpoint is retried after a restart; the secret is shown
 * once and never again.
 */
import t, { type Test } from 'tap'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Webhook } from 'standardwebhooks'
import { buildStack, listenStack } from '../src/stack.ts'
import { admin, api, eventually, startStack, stackEnv, send, type Running } from './helper.ts'

// Three stacks and every service's lifecycle: generous on a loaded machine; every wait is on an event.
t.setTimeout(600_000)

interface Received { headers: IncomingHttpHeaders, body: string, event: { type: string, timestamp: string, data: Record<string, unknown> } }

/** A team's app: records every post; answers `status()` (200 unless a test says otherwise). */
async function receiver (t: Test, status: () => number = () => 200) {
  const got: Received[] = []
  const attempts: Received[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', c => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      const r = { headers: req.headers, body, event: JSON.parse(body) }
      attempts.push(r)
      const code = status()
      if (code < 300) got.push(r)
      res.writeHead(code).end()
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => { server.closeAllConnections(); server.close(() => resolve()) }))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/switchboard`
  return { url, got, attempts, of: (type: string) => got.filter(r => r.event.type === type) }
}

/** The Standard Webhooks check a receiver makes, with the official package; returns the verified payload. */
function verified (t: Test, secret: string, r: Received): unknown {
  const headers = { 'webhook-id': String(r.headers['webhook-id']), 'webhook-timestamp': String(r.headers['webhook-timestamp']), 'webhook-signature': String(r.headers['webhook-signature']) }
  try {
    return new Webhook(secret).verify(r.body, headers)
  } catch (err) {
    t.fail(`${r.event.type}: signature refused by standardwebhooks: ${(err as Error).message}`)
    return undefined
  }
}

async function createEndpoint (s: Running, body: Record<string, unknown>): Promise<{ id: string, secret: string }> {
  const res = await s.call('POST', '/api/admin/endpoints', body, admin)
  if (res.status !== 201) throw new Error(`endpoint not created: ${res.status} ${res.text}`)
  return res.body
}

t.test('on a test clock a day ahead: each row moves, and its event is dated, on the clock', async t => {
  const s = await startStack(t)
  const app = await receiver(t)
  await createEndpoint(s, { url: app.url })
  t.teardown(() => s.call('POST', '/api/admin/clock/real', undefined, admin))
  const frozen = (await s.call('POST', '/api/admin/clock/freeze', undefined, admin)).body
  const dayAhead = Date.parse(frozen.frozen_at) + 86_400_000
  t.equal((await s.call('POST', '/api/admin/clock/advance', { seconds: 86_400 }, admin)).status, 200)

  const email = await s.call('POST', '/api/automation/trigger/email', { to_email: 'deliver@example.com', subject: 'Tomorrow', content: '<p>Hi</p>' }, api)
  const whatsapp = await s.call('POST', '/api/automation/trigger/whatsapp', { to_number: '+919000000004', template_name: 'welcome_message', params: ['Asha'] }, api)
  const scripts = await s.call('GET', '/api/automation/call/scripts', undefined, api)
  const call = await s.call('POST', '/api/automation/trigger/call', { to_number: '+919855550100', script_id: scripts.body.scripts[0].script_id }, api)
  const link = await s.call('POST', '/api/admin/payment-links', { amount: '1499.10', purpose: 'Annual plan', buyer_name: 'Asha Rao', email: 'asha@example.com' }, admin)
  t.equal((await s.call('POST', `/api/admin/payment-links/${link.body.id}/simulate`, { outcome: 'success' }, admin)).status, 200)
  const meeting = await s.call('POST', '/api/zoom/meetings', { topic: 'Tomorrow\'s sync', duration: 30 }, api)
  t.ok([email, whatsapp, call].every(r => r.status === 200 || r.status === 202) && meeting.status === 201, 'all sent')
  // Every later status (deliveries, the read, the call's end, the meeting's end) within the hour.
  t.equal((await s.call('POST', '/api/admin/clock/advance', { seconds: 3600 }, admin)).status, 200)
  const until = dayAhead + 3_600_000

  const rows: Array<[string, string, string]> = [['email', email.body.id, 'email.delivered'], ['whatsapp', whatsapp.body.id, 'whatsapp.read'], ['voice', call.body.id, 'call.completed'], ['payments', link.body.id, 'payment.paid']]
  for (const [service, id, type] of rows) {
    const r = await eventually(() => app.of(type).find(r => r.event.data.id === id), 30_000)
    if (!r) { t.fail(`${type} never arrived; got ${app.got.map(g => g.event.type).join(', ')}`); continue }
    const row = (await s.call('GET', `/api/admin/journal/${service}/${id}`, undefined, admin)).body.row as { created_at: string, updated_at: string }
    const at = Date.parse(r.event.timestamp)
    t.ok(at >= dayAhead && at <= until, `${type}: dated on the clock (${r.event.timestamp}), not real time`)
    t.ok(Date.parse(row.updated_at) >= Date.parse(row.created_at) && Date.parse(row.updated_at) <= until, `${service}: updated_at (${row.updated_at}) on the clock, not before created_at (${row.created_at})`)
    t.ok(Date.parse(row.created_at) >= dayAhead, `${service}: created on the clock`)
  }
  for (const type of ['meeting.started', 'meeting.ended']) {
    const r = await eventually(() => app.of(type).find(r => String(r.event.data.id) === String(meeting.body.id)), 30_000)
    const at = Date.parse(r?.event.timestamp ?? '')
    t.ok(at >= dayAhead && at <= until, `${type}: dated on the clock (${r?.event.timestamp}), not real time`)
  }
  // The journal's timeline: the row's own entry is not dated before the events it follows.
  const detail = (await s.call('GET', `/api/admin/activity/whatsapp/${whatsapp.body.id}`, undefined, admin)).body as { timeline: Array<{ at: string, source: string }> }
  const times = detail.timeline.map(e => Date.parse(e.at))
  t.ok(times.every(at => at >= dayAhead), `every timeline entry on the clock: ${detail.timeline.map(e => `${e.source} ${e.at}`).join(', ')}`)
})

t.test('one signed event per outcome, for every service, through the gateway', async t => {
  const s = await startStack(t)
  const app = await receiver(t)
  const paymentsOnly = await receiver(t)

  const created = await s.call('POST', '/api/admin/endpoints', { url: app.url, description: 'our app' }, admin)
  t.equal(created.status, 201)
  t.match(created.body, { id: String, url: app.url, types: [], enabled: true, origin: 'admin', secret: /^whsec_[A-Za-z0-9+/]+=*$/ })
  const { id, secret } = created.body as { id: string, secret: string }
  const filtered = await createEndpoint(s, { url: paymentsOnly.url, types: ['payment.paid'] })

  // Drive each service to its outcome, as a team's test would.
  const email = await s.call('POST', '/api/automation/trigger/email', { to_email: 'deliver@example.com', subject: 'Welcome', content: '<p>Hi</p>' }, api)
  t.ok(email.status === 200 || email.status === 202, email.text)
  const link = await s.call('POST', '/api/admin/payment-links', { amount: '499.11', purpose: 'Order 1042', buyer_name: 'Asha Rao', email: 'asha@example.com' }, admin)
  t.equal(link.status, 201, link.text)
  const paid = await s.call('POST', `/api/admin/payment-links/${link.body.id}/simulate`, { outcome: 'success' }, admin)
  t.equal(paid.status, 200, paid.text)
  const scripts = await s.call('GET', '/api/automation/call/scripts', undefined, api)
  const call = await s.call('POST', '/api/automation/trigger/call', { to_number: '+919855550100', script_id: scripts.body.scripts[0].script_id }, api)
  t.ok(call.status === 200 || call.status === 202, call.text)
  const meeting = await s.call('POST', '/api/zoom/meetings', { topic: 'Weekly sync', duration: 30 }, api)
  t.equal(meeting.status, 201, meeting.text)
  const ended = await s.call('POST', `/api/zoom/meetings/${meeting.body.id}/end`, undefined, api)
  t.equal(ended.status, 200, ended.text)

  const expected: Array<[string, (data: Record<string, unknown>) => boolean]> = [
    ['email.delivered', d => d.id === email.body.id && d.to_email === 'deliver@example.com' && d.status === 'delivered'],
    ['payment.paid', d => d.id === link.body.id && d.status === 'paid' && d.amount === '499.11'],
    ['call.completed', d => d.id === call.body.id && d.status === 'completed'],
    ['meeting.ended', d => String(d.id) === String(meeting.body.id) && d.mode === 'mock']
  ]
  for (const [type, matches] of expected) {
    const r = await eventually(() => app.of(type).find(r => matches(r.event.data)), 30_000)
    if (!r) {
      t.fail(`${type} never arrived; got ${app.got.map(g => g.event.type).join(', ')}`)
      continue
    }
    t.match(r.headers, { 'content-type': 'application/json', 'webhook-id': /^msg_[0-9a-f]{32}$/, 'webhook-timestamp': /^\d{10}$/, 'webhook-signature': /^v1,[A-Za-z0-9+/]+=*$/ }, `${type}: Standard Webhooks headers`)
    t.match(verified(t, secret, r), { type, timestamp: String, data: Object }, `${type}: verified by standardwebhooks`)
    t.throws(() => new Webhook(filtered.secret).verify(r.body, { 'webhook-id': String(r.headers['webhook-id']), 'webhook-timestamp': String(r.headers['webhook-timestamp']), 'webhook-signature': String(r.headers['webhook-signature']) }), `${type}: another endpoint's secret does not verify it`)
  }
  t.ok(app.of('meeting.started').length >= 1, 'the meeting started before it ended')
  // The event's data is the row as the journal shows it: amounts as exact decimal strings.
  const journalRow = (await s.call('GET', `/api/admin/journal/payments/${link.body.id}`, undefined, admin)).body.row
  const paidData = app.of('payment.paid')[0]?.event.data
  t.same([paidData?.amount, paidData?.fees, paidData?.updated_at], [journalRow.amount, journalRow.fees, journalRow.updated_at], 'payment.paid carries amount and fees as GET /api/admin/journal/payments/{id} shows them')

  // One event per outcome: a status reached once is announced once (replays and late webhooks move nothing).
  for (const type of ['email.delivered', 'payment.paid', 'call.completed', 'meeting.ended']) {
    const ids = new Set(app.of(type).map(r => r.headers['webhook-id']))
    t.equal(ids.size, app.of(type).length, `${type}: no event id twice`)
  }

  // Types per endpoint: the filtered endpoint got its payment (so it was listening) and nothing else.
  const payment = await eventually(() => paymentsOnly.of('payment.paid')[0], 30_000)
  t.ok(payment && verified(t, filtered.secret, payment), 'the filtered endpoint got payment.paid, signed with its own secret')
  t.same(new Set(paymentsOnly.got.map(r => r.event.type)), new Set(['payment.paid']), 'and no other type')
  t.equal(payment?.headers['webhook-id'], app.of('payment.paid')[0]?.headers['webhook-id'], 'one event id across endpoints')

  // The events journal: every delivery, delivered, with its data.
  const journal = await eventually(async () => {
    const res = await s.call('GET', `/api/admin/events?endpoint_id=${id}&status=delivered`, undefined, admin)
    return res.body.items.length >= 4 && res
  }, 10_000)
  t.ok(journal, 'the journal lists the deliveries')
  t.match(journal?.body.items.find((i: { type: string }) => i.type === 'payment.paid'), { endpoint_id: id, status: 'delivered', attempts: 1, last_error: null, data: { id: link.body.id } })

  // The secret never again: not in any GET, nor in any stored row but the endpoint's own.
  const reads = [
    await s.call('GET', '/api/admin/endpoints', undefined, admin),
    await s.call('GET', `/api/admin/endpoints/${id}`, undefined, admin),
    await s.call('GET', '/api/admin/events?limit=1000', undefined, admin),
    await s.call('PATCH', `/api/admin/endpoints/${id}`, { description: 'renamed' }, admin),
    await s.call('GET', '/api/admin/journal', undefined, admin)
  ]
  for (const r of reads) {
    t.equal(r.status, 200)
    t.notOk(r.text.includes(secret) || r.text.includes('whsec_'), 'no secret in the answer')
  }
  t.equal(reads[0]!.body.items.length, 2)
  t.notOk('secret' in reads[1]!.body, 'one endpoint: no secret field')
  const outbox = await s.stack.shared.activityLog.select('webhook_outbox', { where: { source: 'events' } })
  t.ok(outbox.length >= 5)
  t.notOk(JSON.stringify(outbox).includes(secret), 'no outbox row carries the secret')
})

t.test('a failing endpoint is retried with backoff, and after a restart', async t => {
  let answer = 503
  const app = await receiver(t, () => answer)
  const env = await stackEnv(t)
  let stack = await buildStack(env)
  let closed = false
  t.teardown(async () => { if (!closed) await stack.close() })
  let urls = await listenStack(stack)
  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = admin) =>
    send({ method, url: urls.gateway + path, headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers }, body: body === undefined ? undefined : JSON.stringify(body) })

  const { id, secret } = (await call('POST', '/api/admin/endpoints', { url: app.url, types: ['email.delivered'] })).body
  const email = await call('POST', '/api/automation/trigger/email', { to_email: 'deliver@example.com', subject: 'Retry me', content: 'x' }, api)
  t.ok(email.status === 200 || email.status === 202, email.text)

  // The first attempt fails; the delivery waits for its retry, with the reason.
  const failed = await eventually(async () => {
    const res = await call('GET', `/api/admin/events?endpoint_id=${id}`)
    const d = res.body.items[0]
    return d && d.attempts >= 1 && d.status === 'pending' && d
  }, 30_000)
  t.match(failed, { type: 'email.delivered', last_error: 'HTTP 503', data: { id: email.body.id } }, 'the journal shows the failed attempt')
  t.ok(app.attempts.length >= 1, 'the endpoint was tried')
  const firstId = app.attempts[0]!.headers['webhook-id']

  // Restart while it waits: the next start takes the delivery up and it arrives.
  await stack.close()
  closed = true
  answer = 200
  stack = await buildStack(env)
  closed = false
  urls = await listenStack(stack)
  const arrived = await eventually(() => app.got[0], 30_000)
  t.ok(arrived, 'delivered after the restart')
  if (arrived) {
    t.equal(arrived.headers['webhook-id'], firstId, 'the same event id on the retry')
    t.match(verified(t, secret, arrived), { type: 'email.delivered', data: { id: email.body.id } }, 'signed anew, verified by standardwebhooks')
  }
  const done = await eventually(async () => {
    const d = (await call('GET', `/api/admin/events?endpoint_id=${id}`)).body.items[0]
    return d?.status === 'delivered' && d
  }, 10_000)
  t.match(done, { status: 'delivered', last_error: null }, 'the journal shows it delivered')
  t.ok(done.attempts >= 2)
})

t.test('SWITCHBOARD_EVENTS_URL: the environment\'s endpoint, kept in step at start', async t => {
  const app = await receiver(t)
  const secret = `whsec_${Buffer.from('environment-secret-0123').toString('base64')}`
  const s = await startStack(t, { SWITCHBOARD_EVENTS_URL: app.url, SWITCHBOARD_EVENTS_SECRET: secret, SWITCHBOARD_EVENTS_TYPES: 'payment.paid' })
  const list = await s.call('GET', '/api/admin/endpoints', undefined, admin)
  t.match(list.body.items, [{ url: app.url, origin: 'env', types: ['payment.paid'], enabled: true }])
  t.notOk(list.text.includes(secret))
  const link = await s.call('POST', '/api/admin/payment-links', { amount: '499.11', purpose: 'Env', buyer_name: 'Asha', email: 'asha@example.com' }, admin)
  await s.call('POST', `/api/admin/payment-links/${link.body.id}/simulate`, { outcome: 'success' }, admin)
  const r = await eventually(() => app.of('payment.paid')[0], 30_000)
  t.ok(r && verified(t, secret, r), 'delivered and verified with the environment\'s secret')
})
